// Image archives for tests and benchmarks, made from an image the engine has (no registry here):
//   saved()                 `ENGINE save IMAGE` read back (its config and uncompressed layers)
//   retagged()              a docker-archive of it under another name
//   partialMultiPlatform()  an OCI archive as Docker's containerd image store exports a pulled
//                           multi-platform image: the index names this machine's platform and another,
//                           and only this machine's blobs are in it
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const sha256 = (b) => createHash("sha256").update(b).digest("hex");

function tarDir(root, file) {
  execFileSync("tar", ["-C", root, "-cf", file, "."]);
  rmSync(root, { recursive: true, force: true });
}

/** `ENGINE save IMAGE` (a docker-archive: manifest.json, the config, uncompressed layers), unpacked and read. */
export function saved(engine, image, dir) {
  const out = mkdtempSync(join(dir, "saved-"));
  execFileSync("sh", ["-c", `${engine} save '${image}' | tar -x -C '${out}'`]);
  const [m] = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8"));
  const image_ = { config: readFileSync(join(out, m.Config)), layers: m.Layers.map((l) => readFileSync(join(out, l))) };
  rmSync(out, { recursive: true, force: true });
  return image_;
}

/** Writes a docker-archive of the saved image under another name (what a user drops in the agent images directory). */
export function retagged(image, repoTag, file) {
  const root = mkdtempSync(join(tmpdir(), "k3ts-retag-"));
  writeFileSync(join(root, `${sha256(image.config)}.json`), image.config);
  const layers = image.layers.map((l) => {
    writeFileSync(join(root, `${sha256(l)}.tar`), l);
    return `${sha256(l)}.tar`;
  });
  writeFileSync(join(root, "manifest.json"), JSON.stringify([{ Config: `${sha256(image.config)}.json`, RepoTags: [repoTag], Layers: layers }]));
  tarDir(root, file);
}

/** The archive Docker's containerd image store writes for a pulled multi-platform image: this machine's blobs only. */
export function partialMultiPlatform(image, ref, file) {
  const root = mkdtempSync(join(tmpdir(), "k3ts-oci-"));
  mkdirSync(join(root, "blobs/sha256"), { recursive: true });
  const describe = (b) => ({ digest: `sha256:${sha256(b)}`, size: b.length });
  const put = (b) => {
    const d = describe(b);
    writeFileSync(join(root, "blobs/sha256", d.digest.slice(7)), b);
    return d;
  };
  const MANIFEST = "application/vnd.oci.image.manifest.v1+json";
  const INDEX = "application/vnd.oci.image.index.v1+json";
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MANIFEST,
      config: { mediaType: "application/vnd.oci.image.config.v1+json", ...put(image.config) },
      layers: image.layers.map((l) => ({ mediaType: "application/vnd.oci.image.layer.v1.tar", ...put(l) })),
    }),
  );
  const arch = process.arch === "arm64" ? "arm64" : "amd64";
  const other = arch === "amd64" ? "arm64" : "amd64";
  const absent = describe(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MANIFEST, note: `the ${other} manifest, not exported` })));
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: INDEX,
      manifests: [
        { mediaType: MANIFEST, ...put(manifest), platform: { architecture: arch, os: "linux" } },
        { mediaType: MANIFEST, ...absent, platform: { architecture: other, os: "linux" } },
      ],
    }),
  );
  const tag = ref.slice(ref.lastIndexOf(":") + 1);
  writeFileSync(join(root, "index.json"), JSON.stringify({ schemaVersion: 2, mediaType: INDEX, manifests: [{ mediaType: INDEX, ...put(index), annotations: { "io.containerd.image.name": ref, "org.opencontainers.image.ref.name": tag } }] }));
  writeFileSync(join(root, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  tarDir(root, file);
}
