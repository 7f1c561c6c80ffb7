import { OUTPUT_OPTION as OUTPUT, type CommandSpec, type OptionSpec } from "../spec.js";
const NO_RESTART: OptionSpec = { flags: "--no-restart", description: "Do not restart the nodes (k3s reads registries.yaml only when it starts)" };
const TIMEOUT: OptionSpec = { flags: "--timeout <duration>", description: "How long to wait for the nodes after the restart (default 2m)" };

/** `registry create|list|delete|start|stop|connect|disconnect` (k3d's `registry`, with connect, which k3d never shipped). */
export const registryCommands: CommandSpec[] = [
  {
    name: "registry create",
    aliases: ["registries create", "reg create"],
    args: "[name]",
    description: "Create a registry (registry:2) published on the host; NAME becomes k3ts-NAME (default k3ts-registry)",
    options: [
      { flags: "-i, --image <image>", description: "Registry image (env K3TS_REGISTRY_IMAGE; default docker.io/library/registry:2)" },
      { flags: "-p, --port <[host:]port>", description: "Where it is published on the host (default 127.0.0.1 and a free port)" },
      { flags: "-v, --volume <[source:]dest>", description: "Mount a host path or named volume, e.g. regdata:/var/lib/registry (repeatable)" },
      { flags: "--proxy-remote-url <url>", description: "Pull-through cache of this remote registry, e.g. https://registry-1.docker.io" },
      { flags: "--proxy-username <user>", description: "User for the remote registry" },
      { flags: "--proxy-password <password>", description: "Password for the remote registry (env K3TS_REGISTRY_PROXY_PASSWORD)" },
      { flags: "--delete-enabled", description: "Allow deleting images (REGISTRY_STORAGE_DELETE_ENABLED)" },
      { flags: "--enforce-port-match", description: "Listen inside on the host port too, so NAME:PORT works from nodes and host alike" },
      { flags: "-c, --cluster <name>", description: "Connect it to this cluster once created (repeatable)" },
      {
        flags: "--default-network <network>",
        description:
          "Live on this existing network instead of a network of its own (kept when the registry goes). On Podman a container on several networks resolves the names of only one of them, picked at each start: a pull-through cache of a registry container belongs on that container's network",
      },
      OUTPUT,
    ],
    examples: [
      "k3ts registry create dev --port 5001",
      "k3ts registry create cache --proxy-remote-url http://k3ts-dev:5000 --default-network k3ts-dev --cluster demo",
      "k3ts registry create hub --proxy-remote-url https://registry-1.docker.io -v hubcache:/var/lib/registry",
      "docker push localhost:5001/myapp:dev   # then, in the cluster: image k3ts-dev:5000/myapp:dev (or localhost:5001/myapp:dev)",
    ],
    load: () => import("./create.js"),
  },
  {
    name: "registry list",
    aliases: ["registry ls", "registry get", "registries list", "reg list"],
    args: "[...names]",
    description: "List registries, where they are published and the clusters they serve",
    options: [{ flags: "--no-headers", description: "No table header" }, OUTPUT],
    examples: ["k3ts registry list", "k3ts registry list -o json"],
    load: () => import("./list.js"),
  },
  {
    name: "registry delete",
    aliases: ["registry rm", "registry del", "registries delete", "reg delete"],
    args: "[...names]",
    description: "Delete registries (disconnecting them from clusters first); their data goes unless it is on a named volume",
    options: [{ flags: "-a, --all", description: "Every registry" }, OUTPUT],
    examples: ["k3ts registry delete dev", "k3ts registry delete --all"],
    load: () => import("./delete.js"),
  },
  {
    name: "registry start",
    args: "<...names>",
    description: "Start stopped registries",
    options: [OUTPUT],
    examples: ["k3ts registry start dev"],
    load: () => import("./startstop.js").then((m) => ({ run: m.start })),
  },
  {
    name: "registry stop",
    args: "<...names>",
    description: "Stop registries (their data stays)",
    options: [OUTPUT],
    examples: ["k3ts registry stop dev"],
    load: () => import("./startstop.js").then((m) => ({ run: m.stop })),
  },
  {
    name: "registry connect",
    args: "<registry> <cluster>",
    description: "Make a running cluster use a registry: network, registries.yaml in every node (then a rolling restart), LocalRegistryHosting",
    options: [NO_RESTART, TIMEOUT, OUTPUT],
    examples: ["k3ts registry connect dev mycluster", "k3ts registry connect dev mycluster --no-restart"],
    load: () => import("./connect.js").then((m) => ({ run: m.connect })),
  },
  {
    name: "registry disconnect",
    args: "<registry> <cluster>",
    description: "Undo registry connect (the nodes restart to drop the mirrors)",
    options: [NO_RESTART, TIMEOUT, OUTPUT],
    examples: ["k3ts registry disconnect dev mycluster"],
    load: () => import("./connect.js").then((m) => ({ run: m.disconnect })),
  },
];
