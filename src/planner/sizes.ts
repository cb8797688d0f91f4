import type { Image } from './types.js';

/**
 * What garbage collection would free after deleting `deleted`: bytes of blobs used only by deleted manifests,
 * not by any manifest kept in the repository. An estimate: blobs shared with other repositories are counted
 * as freed here, though the registry keeps them. Undefined when sizes were not gathered.
 */
export function estimateFreedBytes(images: Image[], deleted: Set<string>): number | undefined {
  if (deleted.size === 0) return 0;
  if (images.some((i) => !i.blobs)) return undefined;
  const kept = new Set<string>();
  for (const image of images) if (!deleted.has(image.digest)) for (const blob of image.blobs ?? []) kept.add(blob.digest);
  const freed = new Map<string, number>();
  for (const image of images) {
    if (!deleted.has(image.digest)) continue;
    for (const blob of image.blobs ?? []) {
      if (kept.has(blob.digest)) continue;
      // A Docker schema 1 manifest lists no sizes: a kept one protects its layers, a deleted one cannot be counted.
      if (blob.size === undefined) return undefined;
      freed.set(blob.digest, blob.size);
    }
  }
  return [...freed.values()].reduce((a, b) => a + b, 0);
}
