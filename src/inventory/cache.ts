import type { BlobRef, ImageKind } from '../planner/types.js';

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
  blobs?: BlobRef[];
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

/** An entry's kind, from its JSON text: a manifest summary is an object, a config's `created` a string or null. */
export function kindOf(text: string): 'm' | 'c' {
  return text[0] === '{' ? 'm' : 'c';
}

/**
 * The cache of one run. Entries are kept as JSON text and parsed when looked up: a hundred thousand summaries as
 * objects cost several times the memory of their text, which alone tells the kind (kindOf).
 */
export class MemoryCache implements MetadataCache {
  protected readonly entries = new Map<string, string>();

  private lookup<T>(key: string, kind: 'm' | 'c'): T | undefined {
    const text = this.entries.get(key);
    if (text === undefined || kindOf(text) !== kind) return undefined;
    try {
      return JSON.parse(text) as T;
    } catch {
      this.entries.delete(key);
      return undefined;
    }
  }

  protected store(key: string, kind: 'm' | 'c', value: unknown): string {
    const text = JSON.stringify(value);
    this.entries.set(key, text);
    return text;
  }

  manifest(digest: string): ManifestSummary | undefined {
    return this.lookup<ManifestSummary>(digest, 'm');
  }
  setManifest(digest: string, summary: ManifestSummary): void {
    this.store(digest, 'm', summary);
  }
  created(configDigest: string): string | null | undefined {
    return this.lookup<string | null>(configDigest, 'c');
  }
  setCreated(configDigest: string, created: string | null): void {
    this.store(configDigest, 'c', created);
  }
  async flush(): Promise<void> {}
}
