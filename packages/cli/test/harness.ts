import { PassThrough, Readable } from "node:stream";
import { main } from "../src/main.js";

/** Runs the CLI's main() in-process with captured stdout/stderr; colours off. */
export async function runMain(argv: string[], options: { cwd?: string; env?: Record<string, string | undefined>; stdin?: string } = {}) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (d) => (out += d));
  stderr.on("data", (d) => (err += d));
  const code = await main(argv, { stdout, stderr, env: { NO_COLOR: "1", ...options.env }, cwd: options.cwd ?? process.cwd(), ...(options.stdin !== undefined ? { stdin: Readable.from([Buffer.from(options.stdin)]) } : {}) });
  return { code, out, err };
}
