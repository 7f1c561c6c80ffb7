#!/usr/bin/env node
import module from "node:module";

module.enableCompileCache?.();
const { main } = await import("../dist/main.js");
const controller = new AbortController();
process.once("SIGINT", () => {
  controller.abort();
  // A second Ctrl-C does not wait for clean-up.
  process.once("SIGINT", () => process.exit(130));
});
process.exitCode = await main(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
  signal: controller.signal,
});
