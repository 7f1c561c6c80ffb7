/** `sh`: a small POSIX-shell subset (lexer, syntax tree, interpreter) and the table of programs it runs. Unsupported syntax is INVALID_ARGUMENT naming the construct. */
import { posix } from "node:path";
import { throwIfAborted } from "../../errors.js";
import { FsError } from "./fs.js";
import { BufferOutput, type Output, bufferInput, fileOutput } from "./io.js";
import { type ProcessContext, type ProcessIo, type Program, cat, echo, httpd, readArgument, sleep, stat, unsupported, wc, wget } from "./programs.js";

type WordPart = { kind: "text"; text: string; quoted: boolean } | { kind: "param"; name: string; quoted: boolean };
type Word = WordPart[];
type RedirectOp = ">" | ">>" | "<" | ">&";

type Token =
  /** `plain` is the word's text when it has no quoting or expansion (how keywords are recognised). */
  | { kind: "word"; word: Word; plain: string | undefined }
  | { kind: "op"; op: ";" | "\n" | "&&" | "||" | "|" }
  | { kind: "redirect"; fd: number; op: RedirectOp; dupTo?: number };

/** A real shell syntax error: the shell reports it and exits 2. */
class ShellSyntaxError extends Error {}

/** `exit N`: unwinds to the enclosing `sh`. */
class ExitRequest extends Error {
  constructor(readonly status: number) {
    super(`exit ${status}`);
  }
}

const WORD_END = new Set([" ", "\t", "\n", ";", "&", "|", "<", ">", "(", ")"]);

class Lexer {
  private pos = 0;
  private readonly tokens: Token[] = [];

  constructor(private readonly src: string) {}

  tokenize(): Token[] {
    while (this.pos < this.src.length) {
      const c = this.peek();
      if (c === " " || c === "\t") this.pos++;
      else if (c === "\\" && this.peek(1) === "\n") this.pos += 2;
      else if (c === "#") this.skipComment();
      else if (c === "\n" || c === ";") this.separator(c);
      else if (c === "&" || c === "|") this.operator(c);
      else if (c === "(" || c === ")") throw unsupported("subshells and grouping with ( )");
      else if (c === "<" || c === ">") this.redirect(c === "<" ? 0 : 1);
      else if (/[0-9]/.test(c) && /[<>]/.test(this.peek(1))) this.redirect(Number(this.next()));
      else this.word();
    }
    return this.tokens;
  }

  private peek(offset = 0): string {
    return this.src.charAt(this.pos + offset);
  }

  private next(): string {
    return this.src.charAt(this.pos++);
  }

  private skipComment(): void {
    while (this.pos < this.src.length && this.peek() !== "\n") this.pos++;
  }

  private separator(c: "\n" | ";"): void {
    this.pos++;
    if (c === ";" && this.peek() === ";") throw unsupported("case clauses (;;)");
    this.tokens.push({ kind: "op", op: c });
  }

  private operator(c: "&" | "|"): void {
    this.pos++;
    if (this.peek() === c) {
      this.pos++;
      this.tokens.push({ kind: "op", op: c === "&" ? "&&" : "||" });
    } else if (c === "|") {
      this.tokens.push({ kind: "op", op: "|" });
    } else {
      throw unsupported("background jobs (&)");
    }
  }

  private redirect(fd: number): void {
    const c = this.next();
    const after = this.peek();
    if (c === "<") {
      if (after === "<" || after === "&" || after === ">") throw unsupported(`the redirection <${after}`);
      this.tokens.push({ kind: "redirect", fd, op: "<" });
    } else if (after === ">") {
      this.pos++;
      this.tokens.push({ kind: "redirect", fd, op: ">>" });
    } else if (after === "&") {
      this.pos++;
      const target = this.next();
      if (!/^[0-9]$/.test(target)) throw unsupported(`the redirection >&${target}`);
      this.tokens.push({ kind: "redirect", fd, op: ">&", dupTo: Number(target) });
    } else if (after === "|") {
      throw unsupported("the redirection >|");
    } else {
      this.tokens.push({ kind: "redirect", fd, op: ">" });
    }
  }

  private word(): void {
    const parts: Word = [];
    const text = (t: string, quoted: boolean) => {
      const last = parts.at(-1);
      if (last?.kind === "text" && last.quoted === quoted) last.text += t;
      else parts.push({ kind: "text", text: t, quoted });
    };
    while (this.pos < this.src.length && !WORD_END.has(this.peek())) {
      const c = this.next();
      if (c === "'") {
        const end = this.src.indexOf("'", this.pos);
        if (end < 0) throw new ShellSyntaxError("unterminated '");
        text(this.src.slice(this.pos, end), true);
        this.pos = end + 1;
      } else if (c === '"') {
        this.doubleQuoted(parts, text);
      } else if (c === "\\") {
        text(this.next(), true);
      } else if (c === "$") {
        const param = this.param(false);
        if (param) parts.push(param);
        else text("$", false);
      } else if (c === "`") {
        throw unsupported("command substitution (`...`)");
      } else if (c === "*" || c === "?") {
        throw unsupported(`pathname expansion (unquoted ${c}); quote it`);
      } else if (c === "~" && parts.length === 0) {
        throw unsupported("tilde expansion (~)");
      } else {
        text(c, false);
      }
    }
    const [only, ...more] = parts;
    const plain = only?.kind === "text" && !only.quoted && more.length === 0 ? only.text : undefined;
    this.tokens.push({ kind: "word", word: parts, plain });
  }

  private doubleQuoted(parts: Word, text: (t: string, quoted: boolean) => void): void {
    text("", true); // "" is an empty word, not no word
    for (;;) {
      if (this.pos >= this.src.length) throw new ShellSyntaxError('unterminated "');
      const c = this.next();
      if (c === '"') return;
      if (c === "\\" && this.pos < this.src.length && '$`"\\\n'.includes(this.peek())) {
        const escaped = this.next();
        if (escaped !== "\n") text(escaped, true);
      } else if (c === "$") {
        const param = this.param(true);
        if (param) parts.push(param);
        else text("$", true);
      } else if (c === "`") {
        throw unsupported("command substitution (`...`)");
      } else {
        text(c, true);
      }
    }
  }

  /** After a `$`: a parameter, or undefined when the `$` is literal. */
  private param(quoted: boolean): WordPart | undefined {
    const c = this.peek();
    if (c === "{") {
      const end = this.src.indexOf("}", this.pos);
      if (end < 0) throw new ShellSyntaxError("missing }");
      const inner = this.src.slice(this.pos + 1, end);
      if (!/^([A-Za-z_][A-Za-z0-9_]*|[0-9?#])$/.test(inner)) throw unsupported(`the parameter expansion \${${inner}}`);
      this.pos = end + 1;
      return { kind: "param", name: inner, quoted };
    }
    if (c === "(") throw unsupported(this.peek(1) === "(" ? "arithmetic expansion $((...))" : "command substitution $(...)");
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.src.slice(this.pos))?.[0] ?? (/^[0-9?#]$/.test(c) ? c : undefined);
    if (name !== undefined) {
      this.pos += name.length;
      return { kind: "param", name, quoted };
    }
    if (c !== "" && "@*$!-".includes(c)) throw unsupported(`the special parameter $${c}`);
    return undefined;
  }
}

// ---------------------------------------------------------------- syntax tree

interface Redirect {
  fd: number;
  op: RedirectOp;
  /** The file, for every op but `>&`. */
  target?: Word;
  dupTo?: number;
}

interface SimpleCommand {
  kind: "simple";
  assignments: Array<{ name: string; value: Word }>;
  words: Word[];
  redirects: Redirect[];
}

interface ForLoop {
  kind: "for";
  variable: string;
  /** undefined: `for x; do` iterates over the positional parameters. */
  items: Word[] | undefined;
  body: CommandList;
  redirects: Redirect[];
}

type Command = SimpleCommand | ForLoop;
/** The stages of a pipeline (`a | b`); one stage for a plain command. */
type Pipeline = Command[];
interface AndOr {
  first: Pipeline;
  rest: Array<{ op: "&&" | "||"; pipeline: Pipeline }>;
}
type CommandList = AndOr[];

const UNSUPPORTED_KEYWORDS = new Set(["if", "then", "else", "elif", "fi", "while", "until", "case", "esac", "function", "select", "{", "}", "!", "[["]);
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function describeToken(token: Token | undefined): string {
  if (!token) return "end of input";
  if (token.kind === "op") return token.op === "\n" ? "newline" : `"${token.op}"`;
  if (token.kind === "redirect") return "redirection";
  return token.plain === undefined ? "word" : `"${token.plain}"`;
}

/** Recursive descent over the grammar: list := and_or (sep and_or)*, and_or := pipeline ((&&|||) pipeline)*, pipeline := command (| command)*. */
class Parser {
  private pos = 0;

  constructor(private readonly tokens: Token[]) {}

  parseScript(): CommandList {
    const list = this.list(new Set());
    if (this.pos < this.tokens.length) throw new ShellSyntaxError(`unexpected ${describeToken(this.peek())}`);
    return list;
  }

  private peek(): Token | undefined {
    return this.tokens[this.pos];
  }

  private peekPlain(): string | undefined {
    const token = this.peek();
    return token?.kind === "word" ? token.plain : undefined;
  }

  private skip(ops: ReadonlyArray<string>): void {
    for (let t = this.peek(); t?.kind === "op" && ops.includes(t.op); t = this.peek()) this.pos++;
  }

  /** Commands up to the end or to one of `terminators` in command position (left unconsumed). */
  private list(terminators: ReadonlySet<string>): CommandList {
    const items: CommandList = [];
    for (;;) {
      this.skip([";", "\n"]);
      const plain = this.peekPlain();
      if (!this.peek() || (plain !== undefined && terminators.has(plain))) return items;
      items.push(this.andOr());
      const after = this.peek();
      if (after && !(after.kind === "op" && (after.op === ";" || after.op === "\n"))) {
        throw new ShellSyntaxError(`unexpected ${describeToken(after)}`);
      }
    }
  }

  private andOr(): AndOr {
    const item: AndOr = { first: this.pipeline(), rest: [] };
    for (let t = this.peek(); t?.kind === "op" && (t.op === "&&" || t.op === "||"); t = this.peek()) {
      this.pos++;
      this.skip(["\n"]);
      item.rest.push({ op: t.op, pipeline: this.pipeline() });
    }
    return item;
  }

  private pipeline(): Pipeline {
    const stages = [this.command()];
    for (let t = this.peek(); t?.kind === "op" && t.op === "|"; t = this.peek()) {
      this.pos++;
      this.skip(["\n"]);
      stages.push(this.command());
    }
    return stages;
  }

  private command(): Command {
    const plain = this.peekPlain();
    if (plain === "for") return this.forLoop();
    if (plain !== undefined && UNSUPPORTED_KEYWORDS.has(plain)) throw unsupported(`the shell keyword "${plain}"`);
    if (plain === "do" || plain === "done") throw new ShellSyntaxError(`unexpected "${plain}"`);
    return this.simpleCommand();
  }

  private simpleCommand(): SimpleCommand {
    const command: SimpleCommand = { kind: "simple", assignments: [], words: [], redirects: [] };
    for (let t = this.peek(); t && t.kind !== "op"; t = this.peek()) {
      this.pos++;
      if (t.kind === "redirect") {
        command.redirects.push(this.redirectTarget(t));
        continue;
      }
      const assignment = command.words.length === 0 ? splitAssignment(t.word) : undefined;
      if (assignment) command.assignments.push(assignment);
      else command.words.push(t.word);
    }
    if (command.words.length + command.assignments.length + command.redirects.length === 0) {
      throw new ShellSyntaxError(`unexpected ${describeToken(this.peek())}`);
    }
    return command;
  }

  private redirectTarget(token: Extract<Token, { kind: "redirect" }>): Redirect {
    if (token.op === ">&") return { fd: token.fd, op: token.op, dupTo: token.dupTo };
    const target = this.peek();
    if (target?.kind !== "word") throw new ShellSyntaxError(`missing file name after ${token.op}`);
    this.pos++;
    return { fd: token.fd, op: token.op, target: target.word };
  }

  private forLoop(): ForLoop {
    this.pos++; // for
    const variable = this.peekPlain();
    if (variable === undefined || !NAME.test(variable)) throw new ShellSyntaxError("bad for loop variable");
    this.pos++;
    this.skip(["\n"]);
    let items: Word[] | undefined;
    if (this.peekPlain() === "in") {
      this.pos++;
      items = [];
      for (let t = this.peek(); t?.kind === "word"; t = this.peek()) {
        items.push(t.word);
        this.pos++;
      }
    }
    this.skip([";", "\n"]);
    this.expectKeyword("do");
    const body = this.list(new Set(["done"]));
    this.expectKeyword("done");
    const redirects: Redirect[] = [];
    for (let t = this.peek(); t?.kind === "redirect"; t = this.peek()) {
      this.pos++;
      redirects.push(this.redirectTarget(t));
    }
    return { kind: "for", variable, items, body, redirects };
  }

  private expectKeyword(keyword: string): void {
    if (this.peekPlain() !== keyword) throw new ShellSyntaxError(`expected "${keyword}", found ${describeToken(this.peek())}`);
    this.pos++;
  }
}

function splitAssignment(word: Word): { name: string; value: Word } | undefined {
  const [head, ...rest] = word;
  if (head?.kind !== "text" || head.quoted) return undefined;
  const match = /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(head.text);
  if (!match?.[1]) return undefined;
  return { name: match[1], value: [{ ...head, text: head.text.slice(match[0].length) }, ...rest] };
}

// ---------------------------------------------------------------- interpreter

class Shell {
  private status = 0;

  constructor(
    private readonly vars: Map<string, string>,
    /** $0, $1, ... */
    private readonly positional: string[],
    private readonly ctx: ProcessContext,
  ) {}

  async runList(list: CommandList, io: ProcessIo): Promise<number> {
    for (const item of list) this.status = await this.runAndOr(item, io);
    return this.status;
  }

  private async runAndOr(item: AndOr, io: ProcessIo): Promise<number> {
    let status = await this.runPipeline(item.first, io);
    for (const { op, pipeline } of item.rest) {
      this.status = status;
      if ((op === "&&") === (status === 0)) status = await this.runPipeline(pipeline, io);
    }
    return status;
  }

  /** Stages run one after the other, each reading what the previous one wrote (the programs all read to the end). */
  private async runPipeline(stages: Pipeline, io: ProcessIo): Promise<number> {
    let stdin = io.stdin;
    let status = 0;
    for (const [index, stage] of stages.entries()) {
      const pipe = index < stages.length - 1 ? new BufferOutput() : undefined;
      status = await this.runCommand(stage, { ...io, stdin, stdout: pipe ?? io.stdout });
      if (pipe) stdin = bufferInput(pipe.contents());
    }
    return status;
  }

  private async runCommand(command: Command, io: ProcessIo): Promise<number> {
    const redirected = await this.redirect(command.redirects, io);
    if (!redirected) return 1;
    return command.kind === "for" ? this.runFor(command, redirected) : this.runSimple(command, redirected);
  }

  private async runFor(loop: ForLoop, io: ProcessIo): Promise<number> {
    const items = loop.items ? loop.items.flatMap((w) => this.fields(w)) : this.positional.slice(1);
    let status = 0;
    for (const item of items) {
      this.vars.set(loop.variable, item);
      status = await this.runList(loop.body, io);
    }
    return status;
  }

  private async runSimple(command: SimpleCommand, io: ProcessIo): Promise<number> {
    const argv = command.words.flatMap((w) => this.fields(w));
    const assigned = command.assignments.map(({ name, value }) => [name, this.join(value)] as const);
    if (argv.length === 0) {
      for (const [name, value] of assigned) this.vars.set(name, value);
      return 0;
    }
    const [name, ...args] = argv;
    if (name === "exit") throw new ExitRequest(this.exitStatus(args[0]));
    if (name === "export") return this.export(args);
    const env = { ...Object.fromEntries(this.vars), ...Object.fromEntries(assigned) };
    return runProgram(argv, { ...this.ctx, io, env });
  }

  private exitStatus(arg: string | undefined): number {
    if (arg === undefined) return this.status;
    return /^\d+$/.test(arg) ? Number(arg) & 255 : 2;
  }

  /** Every variable is passed to programs already, so `export NAME=value` is an assignment. */
  private export(args: string[]): number {
    for (const arg of args) {
      const eq = arg.indexOf("=");
      if (eq > 0) this.vars.set(arg.slice(0, eq), arg.slice(eq + 1));
    }
    return 0;
  }

  /** Applies redirections; undefined (after writing the shell's message) when a file cannot be opened. */
  private async redirect(redirects: Redirect[], io: ProcessIo): Promise<ProcessIo | undefined> {
    let { stdin, stdout, stderr } = io;
    const setOutput = (fd: number, output: Output) => {
      if (fd === 1) stdout = output;
      else if (fd === 2) stderr = output;
      else throw unsupported(`redirecting file descriptor ${fd}`);
    };
    for (const r of redirects) {
      if (r.op === ">&") {
        if (r.dupTo !== 1 && r.dupTo !== 2) throw unsupported(`duplicating file descriptor ${r.dupTo}`);
        setOutput(r.fd, r.dupTo === 1 ? stdout : stderr);
        continue;
      }
      const name = this.join(r.target ?? []);
      const path = posix.resolve(this.ctx.cwd, name);
      try {
        if (r.op !== "<") setOutput(r.fd, fileOutput(this.ctx.machine.fs, path, r.op === ">>"));
        else if (r.fd === 0) stdin = bufferInput(this.ctx.machine.fs.read(path).content);
        else throw unsupported(`reading into file descriptor ${r.fd}`);
      } catch (err) {
        if (!(err instanceof FsError)) throw err;
        await stderr.write(`sh: can't ${r.op === "<" ? "open" : "create"} ${name}: ${err.message}\n`);
        return undefined;
      }
    }
    return { stdin, stdout, stderr };
  }

  private lookup(name: string): string {
    if (name === "?") return String(this.status);
    if (name === "#") return String(Math.max(0, this.positional.length - 1));
    if (/^[0-9]$/.test(name)) return this.positional[Number(name)] ?? "";
    return this.vars.get(name) ?? "";
  }

  /** Expands a word without field splitting (assignments, redirection targets). */
  private join(word: Word): string {
    return word.map((part) => (part.kind === "text" ? part.text : this.lookup(part.name))).join("");
  }

  /** Expands a word into fields: unquoted expansions split on whitespace; quotes keep empty words. */
  private fields(word: Word): string[] {
    const fields: string[] = [];
    let current = "";
    let open = false;
    for (const part of word) {
      if (part.kind === "text" || part.quoted) {
        current += part.kind === "text" ? part.text : this.lookup(part.name);
        open = true;
        continue;
      }
      for (const [index, piece] of this.lookup(part.name).split(/[ \t\n]+/).entries()) {
        if (index > 0 && open) {
          fields.push(current);
          current = "";
          open = false;
        }
        if (piece) {
          current += piece;
          open = true;
        }
      }
    }
    if (open) fields.push(current);
    return fields;
  }
}

/** Parses and runs a script: syntax errors exit 2 as in sh, unsupported constructs throw. */
async function runScript(script: string, positional: string[], ctx: ProcessContext): Promise<number> {
  let list: CommandList;
  try {
    list = new Parser(new Lexer(script).tokenize()).parseScript();
  } catch (err) {
    if (!(err instanceof ShellSyntaxError)) throw err;
    await ctx.io.stderr.write(`sh: syntax error: ${err.message}\n`);
    return 2;
  }
  const shell = new Shell(new Map(Object.entries(ctx.env)), positional, ctx);
  try {
    return await shell.runList(list, ctx.io);
  } catch (err) {
    if (err instanceof ExitRequest) return err.status;
    throw err;
  }
}

// ---------------------------------------------------------------- the programs, sh among them
const sh: Program = async (args, ctx) => {
  const [first, ...rest] = args;
  let script: string;
  let positional = ["sh"];
  if (first === "-c") {
    if (rest[0] === undefined) {
      await ctx.io.stderr.write("sh: -c requires an argument\n");
      return 2;
    }
    script = rest[0];
    if (rest.length > 1) positional = rest.slice(1);
  } else if (first === undefined) {
    script = (await ctx.io.stdin.readAll()).toString("utf8");
  } else if (first.startsWith("-")) {
    throw unsupported(`the sh option ${first}`);
  } else {
    const content = await readArgument("sh", first, ctx);
    if (!content) return 2;
    script = content.toString("utf8");
    positional = args;
  }
  return runScript(script, positional, ctx);
};

const PROGRAMS = new Map<string, Program>([
  ["sh", sh],
  ["echo", echo],
  ["cat", cat],
  ["wc", wc],
  ["sleep", sleep],
  ["stat", stat],
  ["true", async () => 0],
  ["false", async () => 1],
  ["wget", wget],
  ["httpd", httpd],
]);

const BIN_DIRS = new Set(["/bin", "/sbin", "/usr/bin", "/usr/sbin", "/usr/local/bin"]);

/** Runs argv[0] (a program name, or its path in a bin directory) with the rest as arguments. */
export async function runProgram(argv: string[], ctx: ProcessContext): Promise<number> {
  throwIfAborted(ctx.signal);
  const [arg0 = "", ...args] = argv;
  const name = arg0.includes("/") && BIN_DIRS.has(posix.dirname(arg0)) ? posix.basename(arg0) : arg0;
  const program = ctx.machine.programs.get(name) ?? PROGRAMS.get(name);
  if (program) return program(args, ctx);
  await ctx.io.stderr.write(`sh: ${arg0}: not found (the memory runtime emulates ${[...PROGRAMS.keys()].join(", ")})\n`);
  return 127;
}
