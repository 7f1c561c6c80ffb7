import { OUTPUT_OPTION as OUTPUT, type CommandSpec } from "../spec.js";

export { STDIN_ARG } from "./stdin.js";

/** `image import` (k3d's `image import`/`image load`; `images` works as the noun too once wired). */
export const imageCommands: CommandSpec[] = [
  {
    name: "image import",
    aliases: ["image load", "images import", "images load"],
    args: "<...sources>",
    description: "Import images (from the engine, archive files, or - for stdin) into a cluster's nodes; present images are skipped",
    options: [
      { flags: "-c, --cluster <name>", description: "Cluster to import into", default: "k3s-default" },
      { flags: "--nodes <filter>", description: "Node filter (repeatable): server:0, agent:*, all … (default: every server and agent)" },
      OUTPUT,
    ],
    examples: [
      "k3ts image import myapp:dev -c dev",
      "k3ts image import ./images.tar --nodes agent:*",
      "docker save myapp:dev | k3ts image import - -c dev",
    ],
    load: () => import("./import.js"),
  },
  {
    name: "image prune",
    args: "[...clusters]",
    description: "Remove the cache of host images (what the nodes pulled from the engine): of the clusters named, of all, or (default) of clusters that are gone",
    options: [{ flags: "-a, --all", description: "Every cluster's cache (running host processes restart with an empty one)" }, OUTPUT],
    examples: ["k3ts image prune", "k3ts image prune dev", "k3ts image prune --all -o json"],
    load: () => import("./prune.js"),
  },
];
