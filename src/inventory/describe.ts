import { isIndexType } from '../registry/media-types.js';
import type { FetchedManifest, ManifestJson, RegistryClient } from '../registry/client.js';
import { fetchManifest } from './gather.js';
import { plural } from '../report/format.js';
import { isCalendarDay } from '../util/calendar.js';
import { shortDigest } from '../util/digest.js';
import type { Logger } from '../util/log.js';
import type { RequestLimit } from '../util/request-limit.js';
import { allSettledOrThrow } from '../util/settle.js';
import type { BlobRef } from '../planner/types.js';
import type { ManifestSummary, MetadataCache } from './cache.js';

const IMAGE_CONFIG_TYPES = new Set(['application/vnd.oci.image.config.v1+json', 'application/vnd.docker.container.image.v1+json']);

/** buildx stores provenance/SBOM as `unknown/unknown` children of an index: not images to date. */
function isAttestationChild(d: NonNullable<ManifestJson['manifests']>[number]): boolean {
  return d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest' || d.platform?.os === 'unknown';
}

/**
 * RFC 3339, as Go writes a time.Time (up to nanoseconds). A date-time without a zone is read as UTC, never in the
 * local zone of the machine cleanreg runs on: the same image must have the same age in CI and on a laptop.
 */
const RFC3339 = /^(\d{4}-\d{2}-\d{2})(?:[Tt ](\d{2}:\d{2}(?::\d{2})?)(\.\d+)?([Zz]|[+-]\d{2}:?\d{2})?)?$/;

/** A config's `created`, or null (no date, or one that is not RFC 3339); Go's zero time counts as no date. */
export function parseCreated(config: unknown): string | null {
  const created = (config as { created?: unknown })?.created;
  if (typeof created !== 'string') return null;
  const utc = parseGoUtc(created);
  if (utc !== undefined) return utc;
  const m = RFC3339.exec(created.trim());
  if (!m || m[1] === '0001-01-01') return null;
  const [year, month, day] = m[1].split('-').map(Number);
  const [hour = 0, minute = 0, second = 0] = (m[2] ?? '').split(':').map(Number);
  if (!isDateTime(year, month, day, hour, minute, second)) return null;
  const zone = !m[4] || m[4].toUpperCase() === 'Z' ? 'Z' : m[4].length === 5 ? `${m[4].slice(0, 3)}:${m[4].slice(3)}` : m[4];
  const t = Date.parse(`${m[1]}T${m[2] ?? '00:00'}${(m[3] ?? '').slice(0, 4)}${zone}`);
  return Number.isNaN(t) ? null : new Date(t).toISOString();
}

/**
 * `YYYY-MM-DDThh:mm:ss[.fraction]Z`, as Go writes a UTC time (nearly every config), read digit by digit: the
 * regex, splits and two Date parses of the general path cost about 10 µs per config, a fifth of the CPU the
 * planning of a cold plan spends outside the HTTP client. Anything else is undefined: the general path decides.
 */
function parseGoUtc(s: string): string | null | undefined {
  const n = s.length;
  if (n < 20 || s.charCodeAt(n - 1) !== 0x5a || s.charCodeAt(10) !== 0x54 || s[4] !== '-' || s[7] !== '-' || s[13] !== ':' || s[16] !== ':') return undefined;
  const year = digits(s, 0, 4);
  const month = digits(s, 5, 2);
  const day = digits(s, 8, 2);
  const hour = digits(s, 11, 2);
  const minute = digits(s, 14, 2);
  const second = digits(s, 17, 2);
  // Date.UTC reads years 0-99 as 1900-1999: those go the general way.
  if (year < 100 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0) return undefined;
  let ms = 0;
  if (n > 20) {
    if (s[19] !== '.' || n === 21) return undefined;
    for (let i = 20; i < n - 1; i++) {
      const digit = s.charCodeAt(i) - 0x30;
      if (digit < 0 || digit > 9) return undefined;
      if (i < 23) ms += digit * 10 ** (22 - i);
    }
  }
  if (year === 1 && month === 1 && day === 1) return null;
  if (!isDateTime(year, month, day, hour, minute, second)) return null;
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second, ms)).toISOString();
}

/** A day and a time of day that exist: Go never writes 2024-02-30 or 24:00 (Date would roll them over). */
function isDateTime(year: number, month: number, day: number, hour: number, minute: number, second: number): boolean {
  return isCalendarDay(year, month, day) && hour <= 23 && minute <= 59 && second <= 59;
}

/** The number written with `length` decimal digits at `at`, or -1. */
function digits(s: string, at: number, length: number): number {
  let value = 0;
  for (let i = at; i < at + length; i++) {
    const digit = s.charCodeAt(i) - 0x30;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

/** A manifest of the same repository already read by tag in this run (platform images tagged on their own too). */
export type SameRepoLookup = (digest: string) => Promise<ManifestSummary> | undefined;

/** Where a manifest was found: the request limit as its repository takes it, and its siblings. */
export interface DescribeContext {
  limit: RequestLimit;
  sameRepo?: SameRepoLookup;
}

/**
 * Turns manifests into summaries, fetching only what the policy needs: configs (for `created`) and, for indexes,
 * child manifests. Each config and child is fetched once per run (in-flight requests are shared) and remembered
 * in the cache across runs.
 */
export class ManifestDescriber {
  private readonly inflight = new Map<string, Promise<unknown>>();
  /** Index summaries whose index lists manifests the registry does not have: those digests. */
  private readonly missingChildren = new WeakMap<ManifestSummary, string[]>();

  constructor(
    private readonly client: RegistryClient,
    private readonly cache: MetadataCache,
    private readonly logger?: Logger,
  ) {}

  /**
   * Summary of a fetched manifest; `withCreated` fetches config blobs (and index children) for the date.
   * Only indexes and their children are remembered by manifest digest: they save requests. An image manifest
   * fetched by tag is summarised again from its body (its config's date is cached), which keeps the cache small.
   */
  async describe(repo: string, manifest: FetchedManifest, withCreated: boolean, context: DescribeContext, isChild = false): Promise<ManifestSummary> {
    const cached = this.cache.manifest(manifest.digest);
    if (cached && (!withCreated || cached.created !== undefined)) return cached;
    const summary = await this.summarise(repo, manifest.json, manifest.mediaType, manifest.size, withCreated, context);
    const missing = this.missingChildren.get(summary);
    if (missing) {
      // Left by a garbage collection that removed children of indexes (distribution's --delete-untagged did, before
      // 2.8), or a manifest deleted by hand. Summarised from what the registry has now, which is not content: not
      // cached. Its age is unknown, so a policy that needs it keeps it.
      this.logger?.warn(`${repo}: index ${shortDigest(manifest.digest)} lists ${plural(missing.length, 'manifest')} the registry does not have (${missing.map(shortDigest).join(', ')}): its age is unknown; delete it by reference if it is not needed`);
    } else if (isChild || summary.kind === 'index') {
      this.cache.setManifest(manifest.digest, summary);
    }
    return summary;
  }

  private summarise(repo: string, json: ManifestJson, mediaType: string, size: number, withCreated: boolean, context: DescribeContext): Promise<ManifestSummary> {
    if (isIndexType(mediaType) || Array.isArray(json.manifests)) return this.summariseIndex(repo, json, mediaType, size, withCreated, context);
    if (json.schemaVersion === 1) return Promise.resolve(schema1Summary(json, mediaType));
    return this.summariseImage(repo, json, mediaType, size, withCreated, context.limit);
  }

  private async summariseImage(repo: string, json: ManifestJson, mediaType: string, size: number, withCreated: boolean, limit: RequestLimit): Promise<ManifestSummary> {
    const subject = json.subject?.digest;
    const blobs = imageBlobs(json);
    // Only container images have a `created` in their config; other artifacts (Helm charts, ...) have no date.
    const isImage = !subject && !json.artifactType && (!json.config?.mediaType || IMAGE_CONFIG_TYPES.has(json.config.mediaType));
    const summary = withSize({ kind: subject ? 'artifact' : 'image', mediaType, blobs, ...(subject ? { subject } : {}) }, size);
    if (withCreated && isImage && json.config?.digest) summary.created = await this.created(repo, json.config.digest, limit);
    else if (withCreated) summary.created = null;
    return summary;
  }

  private async summariseIndex(repo: string, json: ManifestJson, mediaType: string, size: number, withCreated: boolean, { limit, sameRepo }: DescribeContext): Promise<ManifestSummary> {
    const subject = json.subject?.digest;
    const manifests = json.manifests ?? [];
    const children = manifests.map((d) => d.digest);
    const summary: ManifestSummary = { kind: subject ? 'artifact' : 'index', mediaType, children, ...(subject ? { subject } : {}) };
    const describe = (d: NonNullable<ManifestJson['manifests']>[number]) => sameRepo?.(d.digest) ?? this.child(repo, d.digest, limit);
    if (!withCreated) {
      // Without dates only a nested index (an index listing an index) is read: its own children are needed too.
      const nested = manifests.filter((d) => isIndexType(d.mediaType ?? ''));
      if (nested.length) summary.children = withDescendants(children, await allSettledOrThrow(nested.map(describe)));
      return summary;
    }
    const described = await allSettledOrThrow(manifests.map(describe));
    summary.children = withDescendants(children, described);
    // An undated platform image may be the newest, as a missing one may: then the index has no age either.
    const dates = described.filter((c, i) => c && !isAttestationChild(manifests[i])).map((c) => c!.created);
    summary.created = dates.length && dates.every((d): d is string => typeof d === 'string') ? (dates as string[]).reduce((a, b) => (a > b ? a : b)) : null;
    summary.blobs = dedupeBlobs(described.flatMap((c) => c?.blobs ?? []));
    // Children the registry does not have, here or below (a nested index): the missing one may be the newest, so
    // the index has no age; it uses the blobs of the children it has; its size is unknown.
    const missing = [...manifests.filter((_, i) => !described[i]).map((d) => d.digest), ...described.flatMap((c) => (c && this.missingChildren.get(c)) || [])];
    if (missing.length) {
      summary.created = null;
      this.missingChildren.set(summary, missing);
      return summary;
    }
    return withSize(summary, size + manifests.reduce((a, d) => a + (d.size ?? 0), 0));
  }

  /** A child of an index, by digest: manifest and config, each once; undefined when the registry does not have it. */
  private async child(repo: string, digest: string, limit: RequestLimit): Promise<ManifestSummary | undefined> {
    const cached = this.cache.manifest(digest);
    if (cached && cached.created !== undefined) return cached;
    const shared = await this.once(`m:${digest}`, async () => ({ repo, summary: await this.fetchChild(repo, digest, limit) }));
    // What is content is shared between repositories; a manifest one of them lacks, another may have.
    return shared.summary || shared.repo === repo ? shared.summary : this.once(`m:${repo}:${digest}`, () => this.fetchChild(repo, digest, limit));
  }

  private async fetchChild(repo: string, digest: string, limit: RequestLimit): Promise<ManifestSummary | undefined> {
    const manifest = await fetchManifest(repo, digest, { client: this.client, limit });
    return manifest && this.describe(repo, manifest, true, { limit }, true);
  }

  private async created(repo: string, configDigest: string, limit: RequestLimit): Promise<string | null> {
    const cached = this.cache.created(configDigest);
    if (cached !== undefined) return cached;
    return this.once(`c:${configDigest}`, async () => {
      const created = parseCreated(await limit(() => this.client.getJsonBlob(repo, configDigest)));
      this.cache.setCreated(configDigest, created);
      return created;
    });
  }

  private once<T>(key: string, run: () => Promise<T>): Promise<T> {
    let pending = this.inflight.get(key) as Promise<T> | undefined;
    if (!pending) {
      pending = run().finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    return pending;
  }
}

/**
 * A Docker schema 1 image (still served by distribution 2.x for images pushed before 2016): its date is in the
 * manifest itself, the newest layer's v1Compatibility `created`, so it costs no request. It lists its layers
 * without sizes: kept, it still protects them in the freed-space estimate; deleted, it makes the estimate unknown
 * rather than count its layers as 0 bytes.
 */
function schema1Summary(json: ManifestJson, mediaType: string): ManifestSummary {
  let created: string | null = null;
  try {
    created = parseCreated(JSON.parse(json.history?.[0]?.v1Compatibility ?? 'null'));
  } catch {
    // An unreadable v1Compatibility leaves the image undated, as a config without `created` does.
  }
  const blobs = dedupeBlobs((json.fsLayers ?? []).flatMap((l) => (typeof l?.blobSum === 'string' ? [{ digest: l.blobSum }] : [])));
  return { kind: 'image', mediaType, created, blobs };
}

/**
 * An index's children and, for a nested index, theirs at any depth: everything it needs, so that what a kept index
 * needs is protected and what a deleted one lists goes with it, however deep.
 */
function withDescendants(children: string[], described: (ManifestSummary | undefined)[]): string[] {
  const all = new Set(children);
  for (const child of described) for (const digest of child?.children ?? []) all.add(digest);
  return [...all];
}

/** An image's config and layers, each digest once. */
function imageBlobs(json: ManifestJson): BlobRef[] {
  const blobs: BlobRef[] = [];
  if (json.config?.digest) blobs.push({ digest: json.config.digest, size: json.config.size ?? 0 });
  for (const layer of json.layers ?? []) if (layer?.digest) blobs.push({ digest: layer.digest, size: layer.size ?? 0 });
  return dedupeBlobs(blobs);
}

function dedupeBlobs(blobs: BlobRef[]): BlobRef[] {
  const seen = new Map<string, BlobRef>();
  for (const b of blobs) seen.set(b.digest, b);
  return [...seen.values()];
}

/** Bytes of the blobs; undefined when one has no size listed. */
function sumBlobs(blobs: BlobRef[]): number | undefined {
  let sum = 0;
  for (const blob of blobs) {
    if (blob.size === undefined) return undefined;
    sum += blob.size;
  }
  return sum;
}

/** The manifest's own bytes plus its blobs', when all are known. */
function withSize(summary: ManifestSummary, ownBytes: number): ManifestSummary {
  const blobBytes = sumBlobs(summary.blobs ?? []);
  if (blobBytes !== undefined) summary.size = ownBytes + blobBytes;
  return summary;
}
