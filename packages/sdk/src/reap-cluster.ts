/**
 * What the reaper does for one cluster a program left behind: deletes it (only what its create made, when the
 * create id is known) and, once no cluster of the name is left, the host-images cache kept for it (the program
 * would have removed it with the cluster; `hostImages`).
 */
import { rm } from "node:fs/promises";
import { deleteCluster, listClusters, type Runtime } from "@k3ts/core";
import { hostImagesCacheDir } from "@k3ts/core/internal";

export async function reapCluster(cluster: string, runtime: Runtime, options: { createId?: string; env: Record<string, string | undefined> }): Promise<void> {
  await deleteCluster(cluster, { runtime, updateKubeconfig: false, ...(options.createId ? { createId: options.createId } : {}) });
  // A cluster of the name that another create made (and this one's delete left alone) keeps the cache it uses.
  if ((await listClusters({ runtime })).some((c) => c.name === cluster)) return;
  await rm(hostImagesCacheDir(cluster, options.env), { recursive: true, force: true });
}
