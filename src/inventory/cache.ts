import type { ImageKind } from '../planner/types.js';

/**
 * What a manifest says, keyed by its digest. Manifests and config blobs are content-addressed, so an entry never
 * goes stale: the same digest always has the same content.
 */
export interface ManifestSummary {
  kind: ImageKind;
  mediaType: string;
  /** undefined: not fetched yet (the policy did not need it); null: the image has no creation date. */
  created?: string | null;
  subject?: string;
  children?: string[];
  blobs?: { digest: string; size: number }[];
  size?: number;
}

export interface MetadataCache {
  manifest(digest: string): ManifestSummary | undefined;
  setManifest(digest: string, summary: ManifestSummary): void;
  /** `created` of a config blob; null = the config has none. */
  created(configDigest: string): string | null | undefined;
  setCreated(configDigest: string, created: string | null): void;
  /** Persist what was learnt (disk caches); a no-op in memory. */
  flush(): Promise<void>;
}

/** The cache of one run. */
export class MemoryCache implements MetadataCache {
  protected readonly manifests = new Map<string, ManifestSummary>();
  protected readonly configs = new Map<string, string | null>();

  manifest(digest: string): ManifestSummary | undefined {
    return this.manifests.get(digest);
  }
  setManifest(digest: string, summary: ManifestSummary): void {
    this.manifests.set(digest, summary);
  }
  created(configDigest: string): string | null | undefined {
    return this.configs.get(configDigest);
  }
  setCreated(configDigest: string, created: string | null): void {
    this.configs.set(configDigest, created);
  }
  async flush(): Promise<void> {}
}
