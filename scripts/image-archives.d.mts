/** An image as `ENGINE save` writes it: its config and uncompressed layers. */
export interface Saved {
  config: Buffer;
  layers: Buffer[];
}
export function saved(engine: string, image: string, dir: string): Saved;
export function retagged(image: Saved, repoTag: string, file: string): void;
export function partialMultiPlatform(image: Saved, ref: string, file: string): void;
