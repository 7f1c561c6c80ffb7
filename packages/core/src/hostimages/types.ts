/** How a create asks for the host-images registry of a cluster (types only: the lifecycle options name them). */
import type { NetworkInfo } from "../types.js";

/** What a create passes to whoever serves the host images of the cluster. */
export interface HostImagesRequest {
  /** The cluster being created. */
  cluster: string;
  /** The address to listen on: the one the nodes reach the host at. */
  address: string;
  /** The cluster's network. */
  network: NetworkInfo;
  /** The create's signal: for the start only (what is served outlives the create). */
  signal?: AbortSignal;
}

/** A host-images registry serving a cluster. */
export interface HostImagesService {
  /** `http://ADDRESS:PORT`: the mirror endpoint the nodes' registries.yaml lists. */
  endpoint: string;
  /** Stops serving (idempotent). */
  close(): Promise<void>;
}

/**
 * Starts the host-images registry of a cluster (the SDK in its process, the CLI in a host process of
 * the cluster's). Resolving to undefined declines: the create goes on without host images (a creator
 * for which they are a default, not a request, and that could not start them).
 */
export type HostImagesServer = (request: HostImagesRequest) => Promise<HostImagesService | undefined>;
