import { DockerRuntime, type DockerRuntimeOptions } from "./runtime.js";
import { dockerPlugin } from "./plugin.js";

export { DockerRuntime, dockerodeOptions } from "./runtime.js";
export type { DockerRuntimeOptions } from "./runtime.js";
export { dockerPlugin, dockerAvailability } from "./plugin.js";
export { resolveDockerEndpoint, parseDockerHost, DEFAULT_SOCKET } from "./endpoint.js";
export type { DockerEndpoint } from "./endpoint.js";

/** A Runtime for the Docker engine the docker CLI would use (or `options.host`). */
export function createDockerRuntime(options: DockerRuntimeOptions = {}): DockerRuntime {
  return new DockerRuntime(options);
}

export default dockerPlugin;
