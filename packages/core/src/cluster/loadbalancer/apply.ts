/**
 * The load balancer in a running cluster: made and started at create (after its upstreams run: nginx refuses an
 * upstream name that does not resolve), its state read back and applied in place (written, then `nginx -s reload`)
 * as nodes come and go or a registry is connected, and recreated when its published ports change.
 */
import { K3tsError, isK3tsError, throwIfAborted } from "../../errors.js";
import type { Logger } from "../../logger.js";
import type { Runtime } from "../../runtime.js";
import type { NodeSpec } from "../../types.js";
import { LB_STATE_PATH, loadBalancerFiles, type LoadBalancerState } from "./state.js";

export async function readLoadBalancerState(runtime: Runtime, lb: string, signal?: AbortSignal): Promise<LoadBalancerState> {
  return JSON.parse((await runtime.nodes.readFile(lb, LB_STATE_PATH, signal ? { signal } : {})).toString("utf8")) as LoadBalancerState;
}

async function writeState(runtime: Runtime, lb: string, state: LoadBalancerState, servers: number, signal?: AbortSignal): Promise<void> {
  for (const f of loadBalancerFiles(state, servers)) await runtime.nodes.writeFile(lb, f.path, f.content, { mode: f.mode, ...(signal ? { signal } : {}) });
}

/** Writes the LB's state and nginx.conf, and reloads nginx when it runs (in place: no restart). */
export async function applyLoadBalancerState(runtime: Runtime, lb: string, state: LoadBalancerState, servers: number, signal?: AbortSignal): Promise<void> {
  await writeState(runtime, lb, state, servers, signal);
  await reloadLoadBalancer(runtime, lb, signal);
}

/**
 * `nginx -s reload` in a running load balancer (nginx re-resolves the servers' names then). A name that
 * does not resolve yet (a just-started or restarted node on Podman) is retried for up to 10 s; any other
 * refusal fails at once.
 */
export async function reloadLoadBalancer(runtime: Runtime, lb: string, signal?: AbortSignal): Promise<void> {
  const o = signal ? { signal } : {};
  if ((await runtime.nodes.inspect(lb, o)).state !== "running") return;
  for (let attempt = 1; ; attempt++) {
    const reload = await runtime.nodes.exec(lb, ["nginx", "-s", "reload"], o);
    if (reload.exitCode === 0) return;
    const why = reload.stderr.toString().trim();
    if (!/host not found in upstream/.test(why) || attempt >= 40) {
      throw new K3tsError("COMMAND_FAILED", `nginx in ${lb} refused the new configuration: ${why}`, { meta: { node: lb } });
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

export interface StartLoadBalancerOptions {
  spec: NodeSpec;
  state: LoadBalancerState;
  servers: number;
  /** Other files the user gave it (`files[]` whose filters pick it). */
  files: Array<{ path: string; content: string | Uint8Array; mode?: number }>;
  /** Called once the container exists (a create tracks it for its rollback). */
  made?: (name: string) => void;
  /** Settles once its upstreams run: it is started only then. */
  upstreams?: Promise<unknown>;
  signal?: AbortSignal;
}

/** A create's load balancer: made, given its state, nginx.conf and files, and started once its upstreams run. */
export async function startLoadBalancer(runtime: Runtime, opts: StartLoadBalancerOptions): Promise<void> {
  const { spec, signal } = opts;
  throwIfAborted(signal, "cluster create");
  // Not aborted mid-call (an aborted request can still complete in the engine after the rollback looked for it):
  // the signal is checked between the calls.
  await runtime.nodes.create(spec);
  opts.made?.(spec.name);
  await writeState(runtime, spec.name, opts.state, opts.servers);
  for (const f of opts.files) await runtime.nodes.writeFile(spec.name, f.path, f.content, f.mode !== undefined ? { mode: f.mode } : {});
  // Its upstreams' failures are theirs to report; this only waits for them to run.
  await opts.upstreams;
  throwIfAborted(signal, "cluster create");
  await runtime.nodes.start(spec.name);
}

/**
 * Published host ports are fixed when a container is made, so a port edit makes the load balancer anew (its
 * nodes keep running). If the new one cannot be made or started, the old one is put back, and the error thrown.
 */
export async function recreateLoadBalancer(
  runtime: Runtime,
  next: { spec: NodeSpec; state: LoadBalancerState },
  old: { spec: NodeSpec; state: LoadBalancerState },
  servers: number,
  logger?: Logger,
): Promise<void> {
  const name = next.spec.name;
  await runtime.nodes.delete(name, { force: true });
  try {
    await runtime.nodes.create(next.spec);
    await applyLoadBalancerState(runtime, name, next.state, servers);
    await runtime.nodes.start(name);
  } catch (err) {
    await runtime.nodes.delete(name, { force: true }).catch((e: unknown) => {
      if (!isK3tsError(e, "NODE_NOT_FOUND")) logger?.warn(`the new load balancer ${name} could not be removed to put the old one back (${(e as Error).message}), so the old one cannot be put back; remove it with k3ts node delete ${name}`);
    });
    await runtime.nodes.create(old.spec);
    await applyLoadBalancerState(runtime, name, old.state, servers);
    await runtime.nodes.start(name);
    throw err;
  }
}
