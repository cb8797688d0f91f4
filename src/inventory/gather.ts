import { RegistryError } from '../errors.js';
import type { Image, RepoInventory } from '../planner/types.js';
import type { FetchedManifest, RegistryClient } from '../registry/client.js';
import type { Logger } from '../util/log.js';
import type { RequestLimit } from '../util/request-limit.js';
import type { ManifestSummary } from './cache.js';
import type { ManifestDescriber } from './describe.js';

export interface GatherContext {
  client: RegistryClient;
  /** The run's request limit, as this repository's requests take it (see eachRepository). */
  limit: RequestLimit;
  describer: ManifestDescriber;
  logger: Logger;
  /** Manifest requests one repository keeps in flight (the global limit still applies). */
  workers: number;
  /** Called once per tag whose manifest was read (progress). */
  onTag?: () => void;
}

/**
 * Reads one repository: its tags, one manifest GET per tag (the digest and the body in one request), then
 * per distinct digest what the policy needs. Tags that vanish while scanning are skipped.
 */
export async function gatherRepository(repo: string, withCreated: boolean, ctx: GatherContext, listedInCatalog = false): Promise<RepoInventory> {
  const tags = await listTags(repo, ctx, listedInCatalog);
  if (!tags || tags.length === 0) return { name: repo, tags, images: [] };

  // A bounded set of workers walks the tags (not one pending promise per tag), and each new digest is summarised
  // as soon as it arrives, so no manifest body outlives its summary: memory follows the images, not the bytes.
  // Indexes wait for the walk to end: their platform images may be tagged too, and are then read once, by tag.
  const byDigest = new Map<string, { tags: string[]; summary?: Promise<ManifestSummary> }>();
  const indexes: FetchedManifest[] = [];
  const context = { limit: ctx.limit, sameRepo: (digest: string) => byDigest.get(digest)?.summary };
  const pending = tags.values();
  // The first failure (a manifest, or a config read for a summary) stops the walk and is thrown once it has
  // stopped; a summary's failure is caught as it happens, not left unhandled until the walk ends.
  let failure: { error: unknown } | undefined;
  const watch = (summary: Promise<ManifestSummary>) => {
    summary.catch((error: unknown) => (failure ??= { error }));
    return summary;
  };
  const worker = async () => {
    for (const tag of pending) {
      if (failure) return;
      let manifest: FetchedManifest | undefined;
      try {
        manifest = await fetchTag(repo, tag, ctx);
      } catch (error) {
        failure ??= { error };
        return;
      }
      ctx.onTag?.();
      // A manifest answered after the failure starts no config read: the repository has failed already.
      if (failure) return;
      if (!manifest) continue;
      const entry = byDigest.get(manifest.digest);
      if (entry) {
        entry.tags.push(tag);
      } else if (withCreated && Array.isArray(manifest.json.manifests)) {
        byDigest.set(manifest.digest, { tags: [tag] });
        indexes.push(manifest);
      } else {
        byDigest.set(manifest.digest, { tags: [tag], summary: watch(ctx.describer.describe(repo, manifest, withCreated, context)) });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(ctx.workers, tags.length) }, worker));
  if (!failure) for (const index of indexes) byDigest.get(index.digest)!.summary = watch(ctx.describer.describe(repo, index, withCreated, context));
  // Every summary settles before the repository's result or its first failure is given: a repository that failed
  // leaves none of its requests in flight (or retrying) behind it.
  await Promise.allSettled([...byDigest.values()].map((entry) => entry.summary));
  if (failure) throw failure.error;

  // Every entry has its summary once the indexes are described.
  const images = await Promise.all([...byDigest].map(async ([digest, { tags, summary }]) => imageOf(digest, tags.sort(), (await summary)!)));
  // Answers arrive in any order: the inventory (and so the plan) is listed by tag, the same on every run.
  images.sort((a, b) => (a.tags[0] < b.tags[0] ? -1 : 1));
  return { name: repo, tags, images };
}

/** The manifest `digest`, with the tags that point at it and what its summary says. */
export function imageOf(digest: string, tags: string[], summary: ManifestSummary): Image {
  return {
    digest,
    tags,
    mediaType: shared(summary.mediaType),
    kind: summary.kind,
    created: summary.created ?? null,
    ...(summary.subject ? { subject: summary.subject } : {}),
    ...(summary.children ? { children: summary.children } : {}),
    ...(summary.blobs ? { blobs: summary.blobs } : {}),
    ...(summary.size !== undefined ? { size: summary.size } : {}),
  };
}

/** A handful of media types repeat across 100,000 images held in the plan: one string each, not one per image. */
const mediaTypes = new Map<string, string>();
function shared(mediaType: string): string {
  const known = mediaTypes.get(mediaType);
  if (known !== undefined) return known;
  mediaTypes.set(mediaType, mediaType);
  return mediaType;
}

/**
 * A repository the catalog lists but whose tag list is 404 NAME_UNKNOWN has only untagged manifests (distribution
 * lists it, yet has no tags folder for it): it is empty, not missing.
 */
async function listTags(repo: string, ctx: GatherContext, listedInCatalog: boolean): Promise<string[] | null> {
  try {
    return await ctx.limit(() => ctx.client.tags(repo));
  } catch (error) {
    if (listedInCatalog && error instanceof RegistryError && error.kind === 'repository-missing') return null;
    throw error;
  }
}

async function fetchTag(repo: string, tag: string, ctx: GatherContext): Promise<FetchedManifest | undefined> {
  const manifest = await fetchManifest(repo, tag, ctx);
  if (!manifest) ctx.logger.verbose(`${repo}:${tag} disappeared while scanning; skipped`);
  return manifest;
}

/** A manifest by tag or digest; undefined when the registry has no such manifest (404). */
export async function fetchManifest(repo: string, ref: string, ctx: Pick<GatherContext, 'client' | 'limit'>): Promise<FetchedManifest | undefined> {
  try {
    return await ctx.limit(() => ctx.client.getManifest(repo, ref));
  } catch (error) {
    if (error instanceof RegistryError && error.kind === 'not-found') return undefined;
    throw error;
  }
}
