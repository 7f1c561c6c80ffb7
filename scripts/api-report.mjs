#!/usr/bin/env node
// The API report of a package's public entry points (API Extractor over the built .d.ts), kept in
// <package>/api/<entry>.api.md, so the public surface changes only on purpose.
//
//   node ../../scripts/api-report.mjs            (in a package, after its build) check: fail when the surface changed
//   node ../../scripts/api-report.mjs --update   write the reports anew (commit them with the change that made them)
//
// Every entry of package.json "exports" with types is reported, except "./internal" (k3ts's own packages only,
// no compatibility promise) and "./package.json".
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import extractor from "@microsoft/api-extractor";

const { Extractor, ExtractorConfig } = extractor;
const update = process.argv.includes("--update");
const dir = resolve(process.cwd());
const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
const entries = Object.entries(pkg.exports ?? {}).filter(([key, v]) => key !== "./internal" && typeof v === "object" && v.types);
if (!entries.length) {
  console.error(`api-report: ${pkg.name} exports no typed entry point`);
  process.exit(1);
}

const temp = mkdtempSync(join(tmpdir(), "api-report-"));
const reportFolder = join(dir, "api");
mkdirSync(reportFolder, { recursive: true });
const quiet = { logLevel: "none" };
let failed = 0;
try {
  for (const [key, v] of entries) {
    const entry = key === "." ? "index" : key.replace(/^\.\//, "").replaceAll("/", "-");
    const dts = join(dir, v.types);
    if (!existsSync(dts)) {
      console.error(`api-report: ${pkg.name} ${key}: ${v.types} is missing (build the package first)`);
      failed++;
      continue;
    }
    const config = ExtractorConfig.prepare({
      configObject: {
        projectFolder: dir,
        mainEntryPointFilePath: dts,
        compiler: { overrideTsconfig: { compilerOptions: { lib: ["es2023", "dom"], types: ["node"], skipLibCheck: true, strict: true, module: "nodenext", moduleResolution: "nodenext", target: "es2022" }, include: [dts] } },
        apiReport: { enabled: true, reportFolder, reportTempFolder: temp, reportFileName: `${entry}.api.md` },
        docModel: { enabled: false },
        dtsRollup: { enabled: false },
        tsdocMetadata: { enabled: false },
        messages: {
          compilerMessageReporting: { default: { logLevel: "warning" } },
          extractorMessageReporting: { default: quiet, "ae-wrong-input-file-type": { logLevel: "error" } },
          tsdocMessageReporting: { default: quiet },
        },
        newlineKind: "lf",
      },
      configObjectFullPath: join(dir, "api-extractor.json"),
      packageJsonFullPath: join(dir, "package.json"),
    });
    const result = Extractor.invoke(config, { localBuild: update, showVerboseMessages: false, messageCallback: (m) => { if (m.logLevel === "none") m.handled = true; } });
    if (result.apiReportChanged && !update) {
      console.error(`api-report: the public API of ${pkg.name}${key === "." ? "" : key.slice(1)} changed: api/${entry}.api.md differs.\n  If that was on purpose: pnpm --filter ${pkg.name} api:update, and commit the report.`);
      failed++;
    } else if (!result.succeeded && !result.apiReportChanged) {
      console.error(`api-report: ${pkg.name} ${key}: API Extractor failed (${result.errorCount} errors)`);
      failed++;
    } else if (update && result.apiReportChanged) {
      console.log(`api-report: ${pkg.name} api/${entry}.api.md written`);
    }
  }
} finally {
  rmSync(temp, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
