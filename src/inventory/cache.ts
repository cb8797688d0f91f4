import type { BlobRef, ImageKind } from '../planner/types.js';
import { DIGEST } from '../util/digest.js';

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
  /** Of an index: the manifests it lists and, for a nested index, what those list, at any depth. */
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
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = undefined;
    }
    if (isValidEntry(kind, value)) return value as T;
    // A damaged entry is a miss: fetched again, and the fresh entry written after it wins from then on.
    this.entries.delete(key);
    this.corrupt(key);
    return undefined;
  }

  /** An entry that does not hold what it should (a disk cache says so). */
  protected corrupt(_key: string): void {}

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

/** What an entry of each kind must hold: a summary (m) or a config's date (c). */
export function isValidEntry(kind: 'm' | 'c', value: unknown): boolean {
  return kind === 'm' ? isSummary(value) : isCreated(value);
}

const KINDS = new Set<unknown>(['image', 'index', 'artifact']);

/** A date as cleanreg writes one (Date#toISOString): anything else in a cache file is damage, not a date. */
function isCreated(value: unknown): value is string | null {
  if (value === null) return true;
  if (typeof value !== 'string' || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(value)) return false;
  const t = Date.parse(value);
  return !Number.isNaN(t) && new Date(t).toISOString() === value;
}

const isDigest = (value: unknown) => typeof value === 'string' && DIGEST.test(value);
const isSize = (value: unknown) => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

function isSummary(value: unknown): value is ManifestSummary {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const s = value as Record<string, unknown>;
  return (
    KINDS.has(s.kind) &&
    typeof s.mediaType === 'string' &&
    (s.created === undefined || isCreated(s.created)) &&
    (s.subject === undefined || isDigest(s.subject)) &&
    (s.children === undefined || (Array.isArray(s.children) && s.children.every(isDigest))) &&
    (s.blobs === undefined || (Array.isArray(s.blobs) && s.blobs.every((b: BlobRef) => isDigest(b?.digest) && (b.size === undefined || isSize(b.size))))) &&
    (s.size === undefined || isSize(s.size))
  );
}
