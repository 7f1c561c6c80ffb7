/** k3d's own config files (../shared/k3d-config-corpus beside the repository): missing fails under CI, skips elsewhere. */
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const CORPUS_DIR = new URL("../../../../../shared/k3d-config-corpus/", import.meta.url);
export const corpusPath = (name: string): string => fileURLToPath(new URL(name, CORPUS_DIR));
export const corpusPresent = existsSync(fileURLToPath(CORPUS_DIR));
export const inCI = process.env.CI === "true";
/** Corpus tests run when the corpus is there, and always under CI (where a missing corpus must fail them). */
export const corpusRequired = corpusPresent || inCI;
export const corpusMissingReason = `the k3d config corpus is not at ${fileURLToPath(CORPUS_DIR)}`;
export const readCorpus = (name: string): string => readFileSync(corpusPath(name), "utf8");
