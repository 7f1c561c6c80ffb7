/** The host-images registry: the engine's images served to the nodes as a pull-only mirror. */
export { startHostImageRegistry } from "./server.js";
export type { DistributionErrorCode, HostImageRegistry, HostImageRegistryOptions, HostImagesServed } from "./server.js";
export { HOST_IMAGES_MIRRORS, hostImagesAddress, hostImagesCacheDir, hostImagesMirrorKeys, parseHostImagesMirror, startClusterHostImages, wildcardMirrorSupported } from "./cluster.js";
export type { ClusterHostImagesOptions } from "./cluster.js";
export type { HostImagesRequest, HostImagesServer, HostImagesService } from "./types.js";
export { DEFAULT_HOST_IMAGE_CACHE_BYTES, HostImageCache, pruneHostImageCache } from "./cache.js";
export type { CachedImage, Lease, WrittenBlob } from "./cache.js";
export { OCI_MEDIA_TYPES, exportImage, ociLayerMediaType } from "./export.js";
export { engineRefs } from "./names.js";
