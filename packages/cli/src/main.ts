import { Readable, type Writable } from "node:stream";
import { cac } from "cac";
import { K3tsError, isK3tsError, selectRuntime, type Runtime } from "@k3ts/core";
import { attachDashValues, checkBooleanValues, commandIn, commands, foldCommand, typedValues, unknownCommandForHelp, type CommandSpec } from "./commands/index.js";
import type { CommandContext } from "./context.js";
import { Output, createProgress } from "./output.js";
import { loadYaml, parseFormat } from "./print.js";
import type { Tracer } from "./trace.js";
import { VERSION, versionLine } from "./version-line.js";

export interface MainIO {
  /** Standard input, for `-` arguments (default: empty). */
  stdin?: Readable;
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable & { isTTY?: boolean };
  env: Record<string, string | undefined>;
  cwd: string;
  /** Aborted on Ctrl-C (the bin wires SIGINT to it). */
  signal?: AbortSignal;
}

/** Ends cac's help printing once our own stream has it. */
class HelpShown extends Error {}

const USAGE_CODES = new Set(["INVALID_ARGUMENT"]);

function colorWanted(io: MainIO, argv: string[]): boolean {
  if (argv.includes("--no-color") || io.env.NO_COLOR !== undefined || io.env.FORCE_COLOR === "0") return false;
  if (io.env.FORCE_COLOR !== undefined) return true;
  return io.stderr.isTTY === true;
}

/** Runs the k3ts CLI; resolves to the process exit code (0 ok, 1 failure, 2 usage, 130 interrupted). */
export async function main(argv: string[], io: MainIO): Promise<number> {
  const verbose = argv.includes("--verbose");
  const out = new Output({ stdout: io.stdout, stderr: io.stderr, verbose, color: colorWanted(io, argv) });
  const signal = io.signal ?? new AbortController().signal;
  // K3TS_TRACE=1: each step's wall time and every engine call, on stderr (see trace.ts).
  // Loaded only when asked for: start-up without it parses none of it.
  const tracer: Tracer | undefined = traceWanted(io.env) ? new (await import("./trace.js")).Tracer((line) => io.stderr.write(`${line}\n`)) : undefined;
  const cli = cac("k3ts");
  cli.option("--runtime <name>", "Container runtime: docker, podman, a plugin package or a path (env K3TS_RUNTIME)");
  cli.option("--verbose", "Debug output and stack traces");
  cli.option("--no-color", "No colours (also NO_COLOR)");
  // cac prints help with console.info; render it onto our own stdout instead.
  cli.help((sections) => {
    out.print(helpText(sections, VERSION));
    throw new HelpShown();
  });

  let exitCode: number | undefined;
  let running: Promise<void> | undefined;
  let parsedArgv: string[] = [];
  for (const spec of commands) register(cli, spec, () => parsedArgv, (opts, run, formatted) => {
    running = (async () => {
      let runtime: Promise<Runtime> | undefined;
      const ctx: CommandContext = {
        out,
        stdin: io.stdin ?? Readable.from([]),
        progress: tracer ? tracer.progress(createProgress(out)) : createProgress(out),
        env: io.env,
        cwd: io.cwd,
        version: VERSION,
        signal,
        ...(opts.runtime ? { runtimeName: String(opts.runtime) } : {}),
        // One selection however many callers ask (a second caller waits for the first's).
        runtime: () =>
          (runtime ??= (async () => {
            const selected = (
              await selectRuntime({
                ...(opts.runtime ? { name: String(opts.runtime) } : {}),
                env: io.env,
                cwd: io.cwd,
                resolveFrom: [import.meta.url],
                context: { logger: out, k3tsVersion: VERSION, signal },
              })
            ).runtime;
            const chosen = tracer ? tracer.runtime(selected) : selected;
            out.debug(`runtime ${chosen.name}`);
            return chosen;
          })()),
      };
      try {
        if (formatted && opts.output !== undefined && parseFormat(opts.output) === "yaml") await loadYaml();
        exitCode = (await run(ctx)) ?? 0;
      } finally {
        // A runtime that was selected is closed; a selection that failed has nothing to close.
        await (await runtime?.catch(() => undefined))?.close?.();
        tracer?.summary();
      }
    })();
  });

  if (argv.length === 1 && argv[0] === "--version") {
    out.print(versionLine());
    return 0;
  }
  try {
    const folded = foldCommand(argv);
    const spec = commandIn(folded);
    const unknown = unknownCommandForHelp(folded);
    if (unknown !== undefined) {
      throw new K3tsError("INVALID_ARGUMENT", `unknown command ${JSON.stringify(unknown)}`, { meta: { argv }, hint: "run k3ts --help for the list of commands" });
    }
    checkBooleanValues(folded, spec);
    parsedArgv = attachDashValues(folded, spec);
    cli.parse(["node", "k3ts", ...parsedArgv], { run: false });
    if (cli.options.help) {
      cli.outputHelp();
      return 0;
    }
    if (!cli.matchedCommand) {
      if (cli.args.length) {
        throw new K3tsError("INVALID_ARGUMENT", `unknown command ${JSON.stringify(cli.args.join(" "))}`, {
          meta: { argv },
          hint: "run k3ts --help for the list of commands",
        });
      }
      try {
        cli.outputHelp();
      } catch (err) {
        if (!(err instanceof HelpShown)) throw err;
      }
      return 2;
    }
    cli.runMatchedCommand();
    await running;
    if (signal.aborted) return 130;
    return exitCode ?? 0;
  } catch (err) {
    if (err instanceof HelpShown) return 0;
    if (signal.aborted && isK3tsError(err, "ABORTED")) {
      out.error("interrupted");
      return 130;
    }
    if ((err as Error)?.name === "CACError") {
      out.error(`${(err as Error).message}`);
      out.info("  run k3ts --help for usage");
      return 2;
    }
    out.failure(err);
    return isK3tsError(err) && USAGE_CODES.has(err.code) ? 2 : 1;
  }
}

/**
 * cac's help, told truthfully: the header says what k3ts is and its version, and a negated flag
 * (`--no-lb`) does not claim "(default: true)" (cac's default for the option it stands for).
 */
export function helpText(sections: Array<{ title?: string; body: string }>, version: string): string {
  return sections
    .map((s, i) => {
      if (i === 0 && !s.title) return `k3ts ${version}: k3s clusters in Docker or Podman containers, for people (this CLI) and programs (@k3ts/sdk)`;
      const body = s.title === "Options" ? s.body.replace(/^(\s*--no-\S.*?)\s*\(default: true\)\s*$/gm, "$1") : s.body;
      return s.title ? `${s.title}:\n${body}` : body;
    })
    .join("\n\n");
}

type Runner = (ctx: CommandContext) => Promise<number | void>;

function register(cli: ReturnType<typeof cac>, spec: CommandSpec, argv: () => string[], invoke: (opts: Record<string, unknown>, run: Runner, formatted: boolean) => void): void {
  const command = cli.command(`${spec.name}${spec.args ? ` ${spec.args}` : ""}`, spec.description);
  for (const alias of spec.aliases ?? []) command.alias(alias);
  for (const option of spec.options ?? []) {
    command.option(option.flags, option.description, option.default === undefined ? undefined : { default: option.default });
  }
  for (const example of spec.examples ?? []) command.example(example);
  command.action((...received: unknown[]) => {
    const opts = { ...((received.at(-1) ?? {}) as Record<string, unknown>) };
    // Values as typed (the parser coerces numbers); an empty value for a flag that takes one is refused.
    for (const [key, { flag, values }] of typedValues(argv(), spec)) {
      if (values.includes("")) throw new K3tsError("INVALID_ARGUMENT", `${flag}: a value is required (it was given an empty one)`, { meta: { flag } });
      opts[key] = values.length === 1 ? values[0] : values;
    }
    const args = received.slice(0, -1).flat().filter((a) => a !== undefined && a !== null).map(String);
    invoke(opts, async (ctx) => (await spec.load()).run(ctx, args, opts), spec.options?.some((o) => o.format) ?? false);
  });
}

/** K3TS_TRACE set to anything but "", "0" or "false". */
function traceWanted(env: Record<string, string | undefined>): boolean {
  const v = env.K3TS_TRACE;
  return v !== undefined && v !== "" && v !== "0" && v.toLowerCase() !== "false";
}
