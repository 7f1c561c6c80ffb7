#!/usr/bin/env node
// `k3ts --version` alone is answered here from a module of a few lines (the same line main() prints),
// so that the commonest check loads no parser, no core and no runtime. Everything else runs main().
// Builtins come through process.getBuiltinModule: an ESM import of one builds its ESM facade, which
// costs node:fs more than the rest of this path.
const argv = process.argv.slice(2);
if (argv.length === 1 && argv[0] === "--version") {
  const { versionLine } = await import("../dist/version-line.js");
  const { writeSync } = process.getBuiltinModule("node:fs");
  const line = `${versionLine()}\n`;
  try {
    // Straight to fd 1 (setting up process.stdout costs more than the rest of this path); one short line goes whole.
    writeSync(1, line);
  } catch {
    process.stdout.write(line); // EAGAIN on a full non-blocking pipe, and the like
  }
} else {
  process.getBuiltinModule("node:module").enableCompileCache?.();
  const { main } = await import("../dist/main.js");
  const controller = new AbortController();
  process.once("SIGINT", () => {
    controller.abort();
    // A second Ctrl-C does not wait for clean-up.
    process.once("SIGINT", () => process.exit(130));
  });
  process.exitCode = await main(argv, {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    signal: controller.signal,
  });
}
