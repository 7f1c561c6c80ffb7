import pkg from "../package.json" with { type: "json" };

/** The version of @k3ts/core (all first-party packages share it). */
export const VERSION: string = pkg.version;
