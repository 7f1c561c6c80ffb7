#!/usr/bin/env node
// The published JSON Schemas of k3ts's file formats, generated from the schemas core validates with
// (packages/core/src/config/schema.ts, built): never hand-copied.
//
//   node scripts/schemas.mjs           check: fail when a file in packages/core/schema/ is not what the build says
//   node scripts/schemas.mjs --write   write them anew
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const core = new URL("../packages/core/", import.meta.url);
const { K3TS_CONFIG_SCHEMA, K3TS_ENVIRONMENT_SCHEMA } = await import(new URL("dist/internal.js", core).href);
const files = { "k3ts-config.schema.json": K3TS_CONFIG_SCHEMA, "k3ts-environment.schema.json": K3TS_ENVIRONMENT_SCHEMA };
const write = process.argv.includes("--write");
let stale = 0;
for (const [name, schema] of Object.entries(files)) {
  const path = fileURLToPath(new URL(`schema/${name}`, core));
  const text = `${JSON.stringify(schema, null, 2)}\n`;
  let now = "";
  try {
    now = readFileSync(path, "utf8");
  } catch {
    now = "";
  }
  if (now === text) continue;
  if (write) {
    writeFileSync(path, text);
    console.log(`schemas: wrote packages/core/schema/${name}`);
  } else {
    console.error(`schemas: packages/core/schema/${name} is not the schema core validates with; run node scripts/schemas.mjs --write and commit it`);
    stale++;
  }
}
process.exit(stale ? 1 : 0);
