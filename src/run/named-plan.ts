import { RegistryError } from '../errors.js';
import { MemoryCache } from '../inventory/cache.js';
import { ManifestDescriber } from '../inventory/describe.js';
import { fetchManifest, gatherRepository, imageOf } from '../inventory/gather.js';
import { isArtifact, planNamed } from '../planner/plan.js';
import type { Image, RepoPlan } from '../planner/types.js';
import type { ImageRef } from '../references.js';
import { shortDigest } from '../util/digest.js';
import type { RequestLimit } from '../util/request-limit.js';
import { allSettledOrThrow } from '../util/settle.js';
import { addReferrers } from './referrers.js';
import type { Session } from './session.js';

export type Action = 'delete-manifest' | 'untag' | 'missing' | 'refused';

/** One line of `cleanreg delete`: a named reference, or a manifest that goes with a named one. */
export interface Step {
  ref: ImageRef;
  digest?: string;
  action: Action;
  /** Tags that go with a deleted manifest, the siblings an untag leaves alone, or why a manifest goes along. */
  detail: string;
  /** Set on what goes with a named manifest (a signature, a referrer, a platform manifest): what it follows. */
  follows?: string;
  status?: 'deleted' | 'untagged' | 'failed' | 'missing' | 'refused' | 'kept' | 'not-attempted';
  error?: string;
}

/** What `cleanreg delete` does in one repository: its steps, and the plan of the manifests it deletes (maybe none). */
export interface NamedDeletion {
  steps: Step[];
  plan: RepoPlan;
}

const nothing = (repo: string): RepoPlan => ({ name: repo, keep: [], delete: [], empty: false, notes: [] });

/**
 * What each reference of one repository means now: a whole manifest to delete (every tag of it is named, or its
 * digest is), a single tag to remove (other tags share the digest, or an index that stays lists it), or nothing
 * there. Unless `onlyNamed`, what follows a deleted manifest goes with it, as in a plan: its cosign artifacts and
 * OCI referrers, the untagged platform manifests of an index, the referrers a referrers-tag index lists.
 */
export async function planNamedDeletion(session: Session, repo: string, refs: ImageRef[], limit: RequestLimit, onlyNamed: boolean): Promise<NamedDeletion> {
  const ctx = { ...session, limit, describer: new ManifestDescriber(session.client, new MemoryCache(), session.logger), workers: session.concurrency };
  let images: Image[];
  try {
    // Every tag is read: which other tags share a digest, or point at an index that needs it, decides between
    // deleting a manifest and removing one tag.
    images = (await gatherRepository(repo, false, ctx)).images;
  } catch (error) {
    if (!(error instanceof RegistryError && error.kind === 'repository-missing')) throw error;
    return { steps: refs.map((ref) => ({ ref, action: 'missing', detail: `repository ${repo} not found` })), plan: nothing(repo) };
  }
  const byDigest = new Map(images.map((image) => [image.digest, image]));
  // Digests no tag points at (a platform manifest, a referrer): read once each, to know what lists or follows them.
  const untagged = [...new Set(refs.flatMap((r) => (r.digest && !byDigest.has(r.digest) ? [r.digest] : [])))];
  await allSettledOrThrow(
    untagged.map(async (digest) => {
      const manifest = await fetchManifest(repo, digest, ctx);
      if (!manifest) return;
      const image = imageOf(digest, [], await ctx.describer.describe(repo, manifest, false, { limit }));
      byDigest.set(digest, image);
      images.push(image);
    }),
  );

  const digestOfTag = new Map(images.flatMap((image) => image.tags.map((tag) => [tag, image.digest] as const)));
  const named = new Set(refs.flatMap((r) => (r.tag ? [r.tag] : [])));
  const resolved = refs.map((ref) => ({ ref, digest: ref.digest ?? digestOfTag.get(ref.tag!) }));
  // Whole manifests asked for: by digest, or every tag of it named.
  const doomed = new Set(resolved.filter(({ ref, digest }) => digest && byDigest.has(digest) && (ref.digest || byDigest.get(digest)!.tags.every((t) => named.has(t)))).map(({ digest }) => digest!));
  const parentsOf = new Map<string, Image[]>();
  for (const image of images) for (const child of image.children ?? []) parentsOf.set(child, [...(parentsOf.get(child) ?? []), image]);

  // One that a list which stays (an index, a referrers-tag index) lists stays too, by the plan's own rules of what
  // goes along; each one held back may hold back more.
  const inventory = { name: repo, tags: [...digestOfTag.keys()], images };
  const planFor = () => {
    const reasons = new Map([...doomed].map((digest) => [digest, `named: ${resolved.filter((r) => r.digest === digest).map((r) => r.ref.text).join(', ')}`]));
    const plan = planNamed(inventory, reasons);
    if (onlyNamed) plan.delete = plan.delete.filter((p) => doomed.has(p.digest));
    return plan;
  };
  let plan = planFor();
  let going = new Set(plan.delete.map((p) => p.digest));
  const stayingParents = (digest: string) => (parentsOf.get(digest) ?? []).filter((p) => !going.has(p.digest));
  for (;;) {
    const held = [...doomed].filter((digest) => stayingParents(digest).length);
    if (!held.length) break;
    for (const digest of held) doomed.delete(digest);
    plan = planFor();
    going = new Set(plan.delete.map((p) => p.digest));
  }

  const steps: Step[] = resolved.map(({ ref, digest }): Step => {
    if (!digest || !byDigest.has(digest)) return { ref, action: 'missing', detail: ref.digest ? 'no such manifest' : 'no such tag' };
    const tags = byDigest.get(digest)!.tags;
    if (doomed.has(digest)) return { ref, digest, action: 'delete-manifest', detail: tags.length ? `removes ${tags.length === 1 ? 'tag' : 'tags'} ${tags.join(', ')}` : 'untagged manifest' };
    const parents = stayingParents(digest);
    if (parents.length) {
      const which = parents.map((p) => p.tags.join(', ') || shortDigest(p.digest)).join('; ');
      // A referrers-tag index lists referrers; any other index, platform images.
      const lists = parents.some(isArtifact);
      const relation = lists ? 'listed by' : 'a platform of';
      const what = parents.length === 1 ? (lists ? 'the list' : 'the index') : lists ? 'the lists' : 'the indexes';
      // A platform image of a multi-arch tag that stays: its manifest must stay too.
      if (ref.digest) return { ref, digest, action: 'refused', detail: `${relation} ${which}, which stay${parents.length === 1 ? 's' : ''}: delete ${what} first` };
      return { ref, digest, action: 'untag', detail: `the image stays: ${relation} ${which}` };
    }
    return { ref, digest, action: 'untag', detail: `keeps ${tags.filter((t) => !named.has(t)).join(', ')} on the same image` };
  });
  if (!doomed.size) return { steps, plan: nothing(repo) };

  if (!onlyNamed) await addReferrers(session, plan, limit);
  for (const p of plan.delete) {
    if (doomed.has(p.digest)) continue;
    const ref: ImageRef = p.tags.length ? { text: `${repo}:${p.tags[0]}`, repo, tag: p.tags[0] } : { text: `${repo}@${p.digest}`, repo, digest: p.digest };
    steps.push({ ref, digest: p.digest, action: 'delete-manifest', detail: p.reason, follows: p.follows });
  }
  return { steps, plan };
}
