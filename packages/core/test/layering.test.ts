import { fileURLToPath } from "node:url";
import { ESLint } from "eslint";
import { describe, expect, it } from "vitest";

// The layering rules live in the repository's eslint.config.js; this proves they fire.
const root = fileURLToPath(new URL("../../../", import.meta.url));
const eslint = new ESLint({ cwd: root });

async function restricted(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${root}${file}` });
  return (result?.messages ?? []).filter((m) => m.ruleId === "no-restricted-imports").map((m) => m.message);
}

describe("layering", () => {
  it.each([
    ["packages/core/src/x.ts", 'import "@k3ts/runtime-docker";'],
    ["packages/core/src/x.ts", 'import "@k3ts/sdk";'],
    ["packages/core/src/x.ts", 'import Docker from "dockerode"; export { Docker };'],
    ["packages/core/src/x.ts", 'import { KubeConfig } from "@kubernetes/client-node"; export { KubeConfig };'],
    ["packages/runtime-docker/src/x.ts", 'import "@k3ts/sdk";'],
    ["packages/runtime-docker/src/x.ts", 'import "@k3ts/runtime-podman";'],
    ["packages/runtime-podman/src/x.ts", 'import Docker from "dockerode"; export { Docker };'],
    ["packages/runtime-podman/src/x.ts", 'import "k3ts";'],
    ["packages/sdk/src/x.ts", 'import "@k3ts/runtime-docker";'],
    ["packages/sdk/src/x.ts", 'import { execa } from "execa"; export { execa };'],
  ])("%s may not: %s", async (file, code) => {
    expect(await restricted(file, code)).not.toEqual([]);
  });

  it.each([
    ["packages/runtime-docker/src/x.ts", 'import { K3tsError } from "@k3ts/core"; export { K3tsError };'],
    ["packages/runtime-podman/src/x.ts", 'import { execa } from "execa"; export { execa };'],
    ["packages/sdk/src/x.ts", 'import { LABELS } from "@k3ts/core"; export { LABELS };'],
    ["packages/cli/src/x.ts", 'import "@k3ts/runtime-docker"; import "@k3ts/sdk";'],
  ])("%s may: %s", async (file, code) => {
    expect(await restricted(file, code)).toEqual([]);
  });
});
