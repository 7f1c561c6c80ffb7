/**
 * What a pull through the host-images mirror asks the engine for.
 *
 * containerd (since 1.4) sends a mirror the repository path of the image without its registry and
 * names the registry in a `ns` query parameter: `docker.io/library/busybox:1` pulled through a mirror
 * for docker.io is `GET /v2/library/busybox/manifests/1?ns=docker.io`; `localhost/app:dev` through a
 * mirror for localhost is `/v2/app/manifests/dev?ns=localhost`. Without `ns` (a client pulling from
 * the endpoint by its own address) the path is read as a reference of its own, as Docker reads one.
 *
 * Engines name images as Docker does (`busybox:1` is `docker.io/library/busybox:1`), except that
 * Podman files an image built as `app:dev` under `localhost/app:dev`: so a docker.io name is looked
 * for under localhost/ too, after the docker.io name itself.
 */
import { normalizeImageRef } from "../images/archive.js";
import { candidateRefs } from "../images/plan.js";

/** A repository name as the distribution spec allows it. */
export const REPOSITORY_NAME = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
export const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
export const SHA256_DIGEST = /^sha256:[0-9a-f]{64}$/;
/** A registry host as `ns` names it: a host name or address, with an optional port. */
const REGISTRY_HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

const DOCKER_HUB_HOSTS = new Set(["docker.io", "index.docker.io", "registry-1.docker.io"]);

/**
 * The engine references that `name:tag` under registry `ns` may be, most likely first; empty when
 * `ns` is not a registry host (nothing of the engine's is asked for then).
 */
export function engineRefs(name: string, tag: string, ns?: string): string[] {
  if (ns !== undefined && !REGISTRY_HOST.test(ns)) return [];
  const registry = ns === undefined ? undefined : DOCKER_HUB_HOSTS.has(ns.toLowerCase()) ? "docker.io" : ns.toLowerCase();
  const full = normalizeImageRef(registry === undefined ? `${name}:${tag}` : `${registry}/${name}:${tag}`);
  if (!full.startsWith("docker.io/")) return [full];
  const short = full.slice("docker.io/".length).replace(/^library\/(?=[^/]+$)/, "");
  return candidateRefs(short);
}
