/** Image import into a cluster's nodes, and the pure parts it is built from. */
export { importImages, importFailures, resolveSources } from "./import.js";
export type { ImageSource, ImportImagesOptions, ImportImagesResult, ImportStatus, ImageImportOutcome, NodeImportReport, NodeFailure } from "./import.js";
export { MEDIA_TYPES, dockerManifestDigest, imagesInTar, layerMediaType, normalizeImageRef, readImageArchive, sha256Digest, summarizeTar } from "./archive.js";
export type { ArchiveImage, TarEntrySummary, TarSummary } from "./archive.js";
export { K8S_NAMESPACE, ctrImportCommand, ctrListCommand, importedImages, parseCtrImageList, parseCtrImportOutput } from "./ctr.js";
export { alreadyPresent, candidateRefs, nodesNeeding, worthChecking } from "./plan.js";
export type { NodeImages } from "./plan.js";
export { fanOut, formatBytes, formatTransfer } from "./fanout.js";
export type { Branch } from "./fanout.js";
