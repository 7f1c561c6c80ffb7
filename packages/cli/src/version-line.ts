/**
 * What `k3ts --version` prints, in a module of its own: bin/k3ts.js prints it without loading the
 * rest of the CLI (no core, no parser), and main() prints the same line.
 */
import pkg from "../package.json" with { type: "json" };

/** The package version. */
export const VERSION: string = pkg.version;

/** `k3ts/0.1.0 linux-x64 node-v24.11.0`, as oclif-style CLIs and k3ts's main() print it. */
export function versionLine(): string {
  return `k3ts/${VERSION} ${process.platform}-${process.arch} node-${process.version}`;
}
