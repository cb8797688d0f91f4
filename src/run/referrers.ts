import type { PlannedImage, RepoPlan } from '../planner/types.js';
import { referrerTagKind, referrerTagSubject } from '../registry/media-types.js';
import type { Descriptor, RegistryClient } from '../registry/client.js';
import { DIGEST, shortDigest } from '../util/digest.js';
import type { RequestLimit } from '../util/request-limit.js';
import { allSettledOrThrow } from '../util/settle.js';
import { plural } from '../report/format.js';
import { fetchManifest } from '../inventory/gather.js';
import type { Logger } from '../util/log.js';
import type { BeforeReverify } from '../executor/reverify.js';

/**
 * OCI 1.1 referrers (signatures, SBOMs, attestations pushed by digest, without a tag) go with what they refer to.
 * The registry is asked about every manifest the plan deletes: images and indexes, the untagged platform manifests
 * of a deleted index (`cosign sign --recursive` signs each of them), tagged artifacts, and then the referrers found,
 * level by level (a signature of an SBOM). Each one found follows what it refers to, so it is deleted only once
 * that is gone, and stays if that stays. On a registry without the referrers API the first call finds out and no
 * further one is made. On one with it, a failed lookup fails the repository's plan, as any failed read does: a
 * referrer missed now could not be found again once its subject is gone.
 */
export async function addReferrers(session: { client: RegistryClient; logger: Logger }, plan: RepoPlan, limit: RequestLimit, of: PlannedImage[] = plan.delete): Promise<void> {
  const lookup = (subject: PlannedImage) => limit(() => session.client.referrers(plan.name, subject.digest));
  let subjects = [...of];
  if (!subjects.length) return;
  // The first answer tells whether the registry has the API at all; then the rest in parallel. (A first lookup
  // that fails also fails fast: no other is started.)
  const first = await lookup(subjects[0]);
  if (first === undefined) return;
  let found = [first, ...(await allSettledOrThrow(subjects.slice(1).map(lookup)))];

  // What the plan already has, and what a kept index lists: never planned a second time, never deleted.
  const known = new Set([...plan.keep, ...plan.delete].map((p) => p.digest));
  for (const kept of plan.keep) for (const child of kept.children ?? []) known.add(child);
  while (subjects.length) {
    const next: PlannedImage[] = [];
    found.forEach((referrers, i) => {
      const subject = subjects[i];
      for (const r of referrers ?? []) {
        if (typeof r.digest !== 'string' || !DIGEST.test(r.digest)) {
          session.logger.warn(`${plan.name}: the registry lists a referrer of ${shortDigest(subject.digest)} without a valid digest; left alone`);
          continue;
        }
        if (known.has(r.digest)) continue;
        known.add(r.digest);
        next.push(referrerOf(subject, r));
      }
    });
    plan.delete.push(...next);
    subjects = next;
    found = await allSettledOrThrow(next.map(lookup));
  }
}

function referrerOf(subject: PlannedImage, r: Descriptor): PlannedImage {
  const what = subject.kind === 'artifact' ? 'artifact' : subject.follows ? 'platform manifest' : subject.kind;
  return {
    digest: r.digest,
    tags: [],
    created: null,
    kind: 'artifact',
    mediaType: r.mediaType ?? '',
    action: 'delete',
    reason: `referrer${r.artifactType ? ` (${r.artifactType})` : ''} of deleted ${what} ${shortDigest(subject.digest)}`,
    subject: subject.digest,
    follows: subject.digest,
  };
}

/**
 * For a saved plan, in each repository at its re-verification: what was pushed since goes with what the plan
 * deletes. First what the referrers API lists (no tag list needed), then, with re-verification's own tag list,
 * what is tagged for a doomed manifest and what that brought (a new signature's own referrers). Each is named.
 */
export function addPushedSince(session: { client: RegistryClient; logger: Logger }): BeforeReverify {
  const said = (plan: RepoPlan, from: number) => {
    const added = plan.delete.slice(from);
    if (added.length) session.logger.info(`${plan.name}: ${plural(added.length, 'referrer')} (signature, SBOM, ...) pushed since the plan ${added.length === 1 ? 'goes' : 'go'} with what ${added.length === 1 ? 'it refers' : 'they refer'} to: ${added.map((p) => shortDigest(p.digest)).join(', ')}`);
  };
  return {
    untagged: async (plan, limit) => {
      const from = plan.delete.length;
      await addReferrers(session, plan, limit);
      said(plan, from);
    },
    tagged: async (plan, tags, limit) => {
      const from = plan.delete.length;
      const resolved = await addTaggedReferrers(session, plan, tags, limit);
      // What the tags brought (a new signature, what a new referrers list names) may have referrers of its own.
      await addReferrers(session, plan, limit, plan.delete.slice(from));
      said(plan, from);
      return resolved;
    },
  };
}

/**
 * What was pushed since the plan under a tag (of `tags`, the repository's now) that names a manifest the plan
 * deletes (cosign's `sha256-<hex>.sig|.att|.sbom`, the referrers tag schema's `sha256-<hex>`) goes with that
 * manifest, after it, as a fresh plan would have planned it, with the referrers such a list names. One HEAD per such
 * tag, and one GET per referrers list found.
 */
async function addTaggedReferrers(session: { client: RegistryClient }, plan: RepoPlan, tags: string[], limit: RequestLimit): Promise<Map<string, string | null>> {
  const resolved = new Map<string, string | null>();
  const doomed = new Map(plan.delete.map((p) => [p.digest, p]));
  if (!doomed.size) return resolved;
  // What the plan has (and what a kept index lists) is never planned again. A tag the plan knows is read again
  // too: signing an image again moves its `.sig` tag onto a new manifest.
  const planned = [...plan.keep, ...plan.delete];
  const knownDigests = new Set([...planned.map((p) => p.digest), ...plan.keep.flatMap((p) => p.children ?? [])]);
  const found = new Map<string, PlannedImage>();
  const shared = new Set<string>();
  await allSettledOrThrow(
    tags
      .filter((tag) => doomed.has(referrerTagSubject(tag) ?? ''))
      .map(async (tag) => {
        const digest = await limit(() => session.client.resolve(plan.name, tag));
        resolved.set(tag, digest);
        if (!digest || knownDigests.has(digest)) return;
        const subject = doomed.get(referrerTagSubject(tag)!)!;
        const what = referrerTagKind(tag) ?? 'referrer list';
        const entry = found.get(digest) ?? { digest, tags: [], created: null, kind: 'artifact', mediaType: '', action: 'delete', reason: `${what} of deleted ${subject.kind} ${shortDigest(subject.digest)}, pushed since the plan`, subject: subject.digest, follows: subject.digest };
        // One artifact for two images (the same SBOM attached to both): re-verification could keep either, so it is
        // left alone, as a plan would leave it while one of them stays.
        if (entry.subject !== subject.digest) shared.add(digest);
        entry.tags.push(tag);
        found.set(digest, entry);
      }),
  );
  const added = [...found.values()].filter((entry) => !shared.has(entry.digest)).map((entry) => ({ ...entry, tags: entry.tags.sort() }));
  plan.delete.push(...added);
  // A referrers list (`sha256-<hex>`, no suffix) is an index of untagged referrers that nothing would find again
  // once it is gone: they go after it, as in a fresh plan. Re-verification keeps any of them that carries a tag.
  for (const digest of [...found.keys()]) knownDigests.add(digest);
  const lists = added.filter((entry) => entry.tags.some((tag) => !referrerTagKind(tag)));
  // A list deleted meanwhile (404) lists nothing.
  const children = await allSettledOrThrow(lists.map((list) => fetchManifest(plan.name, list.digest, { client: session.client, limit })));
  lists.forEach((list, i) => {
    for (const child of children[i]?.json.manifests ?? []) {
      if (typeof child.digest !== 'string' || !DIGEST.test(child.digest) || knownDigests.has(child.digest)) continue;
      knownDigests.add(child.digest);
      plan.delete.push({ digest: child.digest, tags: [], created: null, kind: 'artifact', mediaType: child.mediaType ?? '', action: 'delete', reason: `referrer listed by ${list.tags.join(', ')}, pushed since the plan`, subject: list.subject, follows: list.digest });
    }
  });
  return resolved;
}
