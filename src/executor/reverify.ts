import { shortDigest } from '../util/digest.js';
import type { RepoPlan } from '../planner/types.js';
import type { RegistryClient } from '../registry/client.js';
import { CleanregError, RegistryError } from '../errors.js';
import type { Logger } from '../util/log.js';
import { redact } from '../util/redact.js';
import type { RequestLimit } from '../util/request-limit.js';
import { allSettledOrThrow } from '../util/settle.js';
import { isIndexType } from '../registry/media-types.js';
import { fetchManifest } from '../inventory/gather.js';

/** A repository as it is right before deleting. */
export interface RepositoryNow {
  tags: string[];
  /** Where each tag points now (null: gone). */
  digestOf: Map<string, string | null>;
  /** Children of every index known to the plan or found behind a tag the plan did not know. */
  indexChildren: Map<string, string[]>;
}

/**
 * What a saved plan adds at re-verification: what was pushed since, through the referrers API or under a referrer's
 * tag. `untagged` needs no tag list and runs before it is read; `tagged` gets re-verification's own list (one list
 * per repository) and gives back the digests it resolved. Little comes between the list and the HEADs of its tags:
 * a tag pushed onto a doomed image after the list was read would not be seen.
 */
export interface BeforeReverify {
  untagged(plan: RepoPlan, limit: RequestLimit): Promise<void>;
  tagged(plan: RepoPlan, tags: string[], limit: RequestLimit): Promise<Map<string, string | null>>;
}

/** The repository's tags now; none when it was deleted since the plan (every planned DELETE will find its manifest gone). */
async function listTagsNow(plan: RepoPlan, client: RegistryClient, limit: RequestLimit): Promise<string[]> {
  const tags = await limit(() => client.tags(plan.name).catch((error) => {
    if (error instanceof RegistryError && error.kind === 'repository-missing') return null;
    throw error;
  }));
  return tags ?? [];
}

/**
 * Reads what re-verification needs: the tag list (read once, and given to `before`), every tag's digest (a kept tag
 * moved onto a doomed image, as in a rollback of `latest`, must protect it), and the children of indexes the plan
 * has never seen.
 */
export async function readRepositoryNow(plan: RepoPlan, client: RegistryClient, limit: RequestLimit, before?: BeforeReverify): Promise<RepositoryNow> {
  await before?.untagged(plan, limit);
  const tags = await listTagsNow(plan, client, limit);
  const digestOf = (await before?.tagged(plan, tags, limit)) ?? new Map<string, string | null>();
  const toResolve = new Set([...tags, ...plan.delete.flatMap((p) => p.tags)].filter((tag) => !digestOf.has(tag)));
  const listed = new Set(tags);
  await allSettledOrThrow([...toResolve].map(async (tag) => digestOf.set(tag, await limit(() => client.resolve(plan.name, tag, { expectGone: !listed.has(tag) })))));

  const indexChildren = new Map<string, string[]>();
  const known = new Set<string>();
  for (const p of [...plan.keep, ...plan.delete]) {
    known.add(p.digest);
    if (p.children) indexChildren.set(p.digest, p.children);
  }
  const unknown = new Set([...digestOf.values()].filter((d): d is string => !!d && !known.has(d)));
  await allSettledOrThrow(
    [...unknown].map(async (digest) => {
      const children = await listedManifests(plan.name, digest, client, limit, new Set([digest]));
      if (children) indexChildren.set(digest, children);
    }),
  );
  return { tags, digestOf, indexChildren };
}

/**
 * What an index the plan has never seen lists, at any depth (a nested index's children are needed as much as its
 * own); undefined when it is not an index. A nested index the registry no longer has lists nothing.
 */
async function listedManifests(repo: string, digest: string, client: RegistryClient, limit: RequestLimit, seen: Set<string>): Promise<string[] | undefined> {
  const manifest = await fetchManifest(repo, digest, { client, limit });
  if (!manifest || !Array.isArray(manifest.json.manifests)) return undefined;
  const listed = manifest.json.manifests.map((m) => m.digest);
  const nested = manifest.json.manifests.filter((m) => isIndexType(m.mediaType ?? '') && !seen.has(m.digest));
  for (const m of nested) seen.add(m.digest);
  const deeper = await allSettledOrThrow(nested.map((m) => listedManifests(repo, m.digest, client, limit, seen)));
  return [...new Set([...listed, ...deeper.flatMap((d) => d ?? [])])];
}

/**
 * Which images planned for deletion must now be kept, and why: one of their tags points elsewhere, a tag that was
 * not selected points at them, an index that stays references them, or they refer to or follow a manifest that
 * stays.
 */
export function reverify(plan: RepoPlan, now: RepositoryNow): Map<string, string> {
  const tagsOn = new Map<string, string[]>();
  for (const [tag, digest] of now.digestOf) if (digest) tagsOn.set(digest, [...(tagsOn.get(digest) ?? []), tag]);

  const kept = new Map<string, string>();
  for (const image of plan.delete) {
    const reasons: string[] = [];
    for (const tag of image.tags) {
      const digest = now.digestOf.get(tag);
      if (digest && digest !== image.digest) reasons.push(`tag "${tag}" now points at ${digest} (moved since the plan)`);
    }
    for (const tag of tagsOn.get(image.digest) ?? []) {
      if (!image.tags.includes(tag)) reasons.push(`tag "${tag}" now points at this image (added or moved here since the plan)`);
    }
    if (reasons.length) kept.set(image.digest, reasons.join('; '));
  }

  // An index that stays (tagged now and not being deleted) needs its children; a kept index may protect more.
  // What refers to or follows a manifest that stays (a signature of a platform manifest kept that way) stays with
  // it, down the whole chain.
  const planned = new Set(plan.delete.map((p) => p.digest));
  const referrerLists = new Set([...plan.keep, ...plan.delete].filter((p) => p.kind === 'artifact').map((p) => p.digest));
  const stays = (digest?: string) => !!digest && (kept.has(digest) || !planned.has(digest));
  for (let changed = true; changed; ) {
    changed = false;
    for (const [index, children] of now.indexChildren) {
      if (!tagsOn.has(index) || !stays(index)) continue;
      for (const child of children) {
        if (planned.has(child) && !kept.has(child)) {
          kept.set(child, `${referrerLists.has(index) ? 'listed by' : 'platform of'} index ${shortDigest(index)} (${tagsOn.get(index)!.join(', ')}), which stays`);
          changed = true;
        }
      }
    }
    for (const p of plan.delete) {
      if (kept.has(p.digest)) continue;
      // An artifact named for deletion (cleanreg delete) goes even where its subject stays.
      const why = stays(p.subject) && !p.named ? `it refers to ${p.subject}, which is kept` : stays(p.follows) ? `it follows ${p.follows}, which is kept` : undefined;
      if (why) {
        kept.set(p.digest, why);
        changed = true;
      }
    }
  }
  return kept;
}

/**
 * A dry run of a saved plan: what re-verification would keep now moves to the plan's keep list, with its reason,
 * so the preview shows what an apply would do. The same requests as an apply's re-verification; nothing deleted.
 * As in an apply, a repository whose re-verification fails keeps everything, and the others go on: its error is
 * returned.
 */
export async function reverifyInPlace(plan: RepoPlan, ctx: { client: RegistryClient; limit: RequestLimit; logger: Logger; beforeReverify?: BeforeReverify }): Promise<CleanregError | undefined> {
  if (!plan.delete.length) return undefined;
  let why: (digest: string) => string | undefined;
  let failure: CleanregError | undefined;
  try {
    const kept = reverify(plan, await readRepositoryNow(plan, ctx.client, ctx.limit, ctx.beforeReverify));
    why = (digest) => kept.has(digest) ? `kept now, the registry changed since the plan: ${kept.get(digest)}` : undefined;
  } catch (error) {
    if (!(error instanceof CleanregError)) throw error;
    ctx.logger.error(`${plan.name}: ${error.message}`);
    why = () => `re-verification failed: ${redact(error.message)}`;
    failure = error;
  }
  for (const p of plan.delete) {
    const reason = why(p.digest);
    if (reason) plan.keep.push({ ...p, action: 'keep', reason });
  }
  plan.delete = plan.delete.filter((p) => !why(p.digest));
  return failure;
}
