import { K3tsError, isK3tsError, connectRegistry, createRegistry, getCluster, type RegistrySummary } from "@k3ts/core";
import { hostAddress, mirrorKeyForRemote, parseApiPort, registryContainerName, registryImage, validateRegistryName } from "@k3ts/core/internal";
import type { CommandContext } from "../../context.js";
import { bool, many, one } from "../../flags.js";
import { printValue } from "../../print.js";
import { registryTable } from "./list.js";

export async function run(ctx: CommandContext, args: string[], options: Record<string, unknown>): Promise<number> {
  const name = registryContainerName(validateRegistryName(args[0] ?? "registry", "NAME"));
  const port = one(options.port, "--port");
  const api = port ? parseApiPort(port, "--port") : { hostIP: "127.0.0.1" as string, host: undefined as string | undefined, hostPort: undefined as number | undefined };
  const remoteURL = one(options.proxyRemoteUrl, "--proxy-remote-url");
  if (remoteURL) mirrorKeyForRemote(remoteURL, "--proxy-remote-url");
  const username = one(options.proxyUsername, "--proxy-username");
  const password = one(options.proxyPassword, "--proxy-password") ?? ctx.env.K3TS_REGISTRY_PROXY_PASSWORD;
  if ((username || password) && !remoteURL) {
    throw new K3tsError("INVALID_ARGUMENT", "--proxy-username/--proxy-password need --proxy-remote-url", { meta: { flag: "--proxy-username" } });
  }
  const clusters = many(options.cluster);
  const network = one(options.defaultNetwork, "--default-network");
  const runtime = await ctx.runtime();
  if (network) {
    await runtime.networks.inspect(network, { signal: ctx.signal }).catch((err: unknown) => {
      if (!isK3tsError(err, "NETWORK_NOT_FOUND")) throw err;
      throw new K3tsError("INVALID_ARGUMENT", `--default-network: network ${network} does not exist`, { meta: { flag: "--default-network" }, hint: `list them with: ${runtime.name} network ls` });
    });
  }
  // Every cluster named must exist before anything is made; the registry joins their networks before it starts.
  const networks = (await Promise.all(clusters.map((c) => getCluster(c, { runtime, signal: ctx.signal })))).map((c) => c.network);
  const made = await createRegistry(
    {
      name,
      image: registryImage(ctx.env, one(options.image, "--image")),
      hostIP: api.host ?? api.hostIP,
      ...(api.hostPort ? { hostPort: api.hostPort } : {}),
      ...(remoteURL ? { proxy: { remoteURL, ...(username ? { username } : {}), ...(password ? { password } : {}) } } : {}),
      volumes: many(options.volume),
      enforcePortMatch: bool(options.enforcePortMatch, "--enforce-port-match", false),
      deleteEnabled: bool(options.deleteEnabled, "--delete-enabled", false),
    },
    { runtime, progress: ctx.progress, signal: ctx.signal, env: ctx.env, extraNetworks: networks, ...(network ? { network } : {}) },
  );
  let result: RegistrySummary = made;
  for (const cluster of clusters) {
    await connectRegistry(made.name, cluster, { runtime, progress: ctx.progress, signal: ctx.signal, env: ctx.env, logger: ctx.out });
  }
  if (clusters.length) result = { ...made, clusters };
  printValue(ctx, options.output, result, () => {
    const host = `${hostAddress(result.hostIP)}:${result.hostPort}`;
    return [
      registryTable([result]),
      "",
      `Push from this machine:   docker push ${host}/IMAGE:TAG`,
      `Use in a cluster:         image ${result.name}:${result.port}/IMAGE:TAG (or ${host}/IMAGE:TAG)`,
      clusters.length ? "" : `Connect it to a cluster:  k3ts registry connect ${result.name} CLUSTER, or k3ts cluster create --registry-use ${result.name}`,
    ]
      .filter((l, i, all) => l !== "" || i < all.length - 1)
      .join("\n");
  });
  return 0;
}
