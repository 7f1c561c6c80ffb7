/**
 * Noticing k3s nodes that die while k3ts waits for them. k3s exits on a fatal error (a wrong flag,
 * a refused join, a kubelet that cannot start) and the engine restarts it (`unless-stopped`), so a
 * node in trouble shows as exited, restarting, or started again since the wait began; waiting on
 * would only end at the timeout with "0/N nodes Ready". The check fails at once instead, with what
 * the node said last, its fatal line first.
 */
import { K3tsError } from "../errors.js";
import { LABELS } from "../labels.js";
import type { Runtime } from "../runtime.js";

/**
 * A node's state and its last log lines for error messages, the line that says why first: the last
 * `level=fatal` (k3s, logrus), `F0102 …` (klog) or `panic:` (a Go program such as the registry, whose
 * stack trace would otherwise fill the tail).
 */
export async function lastWords(runtime: Runtime, node: string, lines = 4): Promise<string> {
  try {
    const info = await runtime.nodes.inspect(node);
    let text = "";
    for await (const chunk of runtime.nodes.logs(node, { tail: 100 })) text += chunk.data.toString();
    const all = text.trim().split("\n").filter(Boolean);
    const fatal = all.findLast((l) => /level=fatal|^F\d{4} |^panic: /.test(l));
    const tail = all.slice(-lines).filter((l) => l !== fatal);
    const said = [...(fatal ? [fatal] : []), ...tail].map((l) => `    ${l}`).join("\n");
    return `  ${node} (${info.state}${info.exitCode !== undefined ? `, exit ${info.exitCode}` : ""})${said ? `:\n${said}` : ""}`;
  } catch {
    return `  ${node}: (no logs)`;
  }
}

export interface CrashCheckOptions {
  /** The cluster whose nodes these are (one list call per check). */
  cluster: string;
  /** Checks closer together than this are skipped (default 2 s). */
  intervalMs?: number;
  signal?: AbortSignal;
}

/**
 * A check to call while waiting: it throws CLUSTER_NOT_READY, naming the node and quoting it, when one
 * of `nodes` has exited, is being restarted, has been started again since the first check, or is gone.
 */
export function crashCheck(runtime: Runtime, nodes: string[], options: CrashCheckOptions): () => Promise<void> {
  const startedAt = new Map<string, string | undefined>();
  let last = 0;
  return async () => {
    if (Date.now() - last < (options.intervalMs ?? 2000)) return;
    last = Date.now();
    const seen = await runtime.nodes.list({ labels: { [LABELS.managed]: "true", [LABELS.cluster]: options.cluster } }, options.signal ? { signal: options.signal } : {});
    for (const name of nodes) {
      const node = seen.find((n) => n.name === name);
      const before = startedAt.get(name);
      let what: string | undefined;
      if (!node) what = "is gone";
      else if (node.state === "stopped" || node.state === "dead") what = `exited${node.exitCode !== undefined ? ` with code ${node.exitCode}` : ""}`;
      else if (node.state === "restarting" || (startedAt.has(name) && before !== node.startedAt)) what = "exited and is being restarted (k3s stops on a fatal error)";
      if (what) {
        throw new K3tsError("CLUSTER_NOT_READY", `node ${name} ${what}:\n${await lastWords(runtime, name)}`, {
          meta: { node: name, missing: [name] },
          hint: `its whole log: ${runtime.name} logs ${name}`,
        });
      }
      startedAt.set(name, node!.startedAt);
    }
  };
}
