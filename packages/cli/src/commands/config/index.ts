import type { CommandSpec, OptionSpec } from "../spec.js";

/** `--config` for `cluster create` and `cluster delete` (the lead adds it to both). */
export const CONFIG_OPTION: OptionSpec = { flags: "-c, --config <file>", description: "Cluster config file, k3ts or k3d format (--config=- for stdin); flags override it" };

/** `k3ts config …`: write, check and convert cluster config files (validate also checks environments). */
export const configCommands: CommandSpec[] = [
  {
    name: "config init",
    description: "Write a commented starter cluster config (k3ts.io/v1alpha1)",
    options: [
      { flags: "-o, --output <file>", description: "Where to write it (-o=- for stdout)", default: "k3ts.yaml" },
      { flags: "--force", description: "Overwrite an existing file" },
    ],
    examples: ["k3ts config init", "k3ts config init -o dev.yaml --force", "k3ts config init -o=-"],
    load: () => import("./init.js"),
  },
  {
    name: "config validate",
    args: "<file>",
    description: "Check a cluster config (k3ts or k3d format) or an environment (kind: Environment): every problem with its line, exit 2 if any",
    examples: ["k3ts config validate k3ts.yaml", "k3ts config validate k3d.yaml", "k3ts config validate env.yaml"],
    load: () => import("./validate.js"),
  },
  {
    name: "config convert",
    args: "<file>",
    description: "Convert a k3d config (v1alpha2–5) to k3ts's format, listing what k3ts does not honour",
    options: [{ flags: "-o, --output <file>", description: "Where to write it (default stdout)", default: "-" }],
    examples: ["k3ts config convert k3d.yaml -o k3ts.yaml"],
    load: () => import("./convert.js"),
  },
];
