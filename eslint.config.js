// Lint rules for every package. Layering is enforced here, not by hope:
//   core imports no runtime, sdk or cli; runtimes import only core; sdk imports no runtime or cli;
//   only the cli picks a runtime. Engine libraries stay inside their runtime.
import js from "@eslint/js";
import { importX } from "eslint-plugin-import-x";
import { createTypeScriptImportResolver } from "eslint-import-resolver-typescript";
import tseslint from "typescript-eslint";

const first = ["@k3ts/runtime-docker", "@k3ts/runtime-podman", "@k3ts/sdk", "k3ts"];
const banned = (names, why) => names.map((name) => ({ name, message: why }));
const bannedPatterns = (group, why) => [{ group, message: why }];

const layer = (files, paths, patterns = []) => ({
  files,
  rules: { "no-restricted-imports": ["error", { paths, patterns }] },
});

export default tseslint.config(
  { ignores: ["**/dist/**", "**/node_modules/**", "**/*.config.ts", "**/*.config.js", "scripts/**", "fixtures/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // No module imports itself through others: a cycle is a layer that is not one.
    files: ["packages/*/src/**/*.ts"],
    plugins: { "import-x": importX },
    settings: {
      "import-x/resolver-next": [createTypeScriptImportResolver()],
      // The rule follows an import only into a file it can parse: TypeScript's parser for .ts.
      "import-x/parsers": { "@typescript-eslint/parser": [".ts"] },
      "import-x/extensions": [".ts", ".js"],
    },
    rules: { "import-x/no-cycle": ["error", { ignoreExternal: true }] },
  },
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
      "no-console": "error",
    },
  },
  layer(
    ["packages/core/src/**"],
    banned([...first, "dockerode", "execa", "@kubernetes/client-node", "ws"], "core imports no runtime, sdk, cli or engine/Kubernetes library"),
    bannedPatterns(["@k3ts/runtime-*", "@k3ts/sdk/*", "../../*/src/**"], "core imports no runtime, sdk or cli"),
  ),
  layer(
    ["packages/runtime-docker/src/**"],
    banned(["@k3ts/sdk", "k3ts", "@k3ts/runtime-podman", "execa", "@kubernetes/client-node", "ws"], "a runtime imports only @k3ts/core and its own engine library"),
    bannedPatterns(["@k3ts/runtime-*", "../../*/src/**"], "a runtime imports only @k3ts/core"),
  ),
  layer(
    ["packages/runtime-podman/src/**"],
    banned(["@k3ts/sdk", "k3ts", "@k3ts/runtime-docker", "dockerode", "@kubernetes/client-node", "ws"], "a runtime imports only @k3ts/core and its own engine library"),
    bannedPatterns(["@k3ts/runtime-*", "../../*/src/**"], "a runtime imports only @k3ts/core"),
  ),
  layer(
    ["packages/sdk/src/**"],
    banned(["@k3ts/runtime-docker", "@k3ts/runtime-podman", "k3ts", "dockerode", "execa"], "the sdk receives a Runtime; only the cli picks one"),
    bannedPatterns(["@k3ts/runtime-*", "../../*/src/**"], "the sdk imports no runtime"),
  ),
  {
    files: ["packages/cli/src/**"],
    rules: { "no-console": "off" },
  },
  {
    files: ["**/*.test.ts", "**/test/**"],
    rules: { "no-console": "off", "@typescript-eslint/no-non-null-assertion": "off" },
  },
);
