import { UTCDateMini } from '@date-fns/utc/date/mini';
// Subpath imports: the date-fns index loads hundreds of modules (about 20 MB).
import { sub } from 'date-fns/sub';
import { referrerTagKind, referrerTagSubject } from '../registry/media-types.js';
import { shortDigest } from '../util/digest.js';
import { newestFirst, strictlyNewer, tagVersion } from './ordering.js';
import { estimateFreedBytes } from './sizes.js';
import { hasDateWindow, needsCreated, type Image, type PlannedImage, type Policy, type RepoInventory, type RepoPlan } from './types.js';

/**
 * The rules, in one pure function: every input is passed in, `now` included.
 *
 * 1. Referrer artifacts (cosign `sha256-<hex>[.sig|.att|.sbom]` tags, manifests with a `subject`) are not images:
 *    they are not counted and follow the image they belong to.
 * 2. Candidates are the images that no rule protects: --exclude, --include, -i, not a version under
 *    --order semver, unknown age where the age matters.
 * 3. The newest `keep` candidates are kept.
 * 4. Of the rest, those inside the date window are deleted; the others are kept.
 * 5. Nothing a kept index references is deleted; the untagged platform manifests of a deleted index go with it
 *    (garbage collection keeps every manifest that still has a revision, so they would never be freed), and so do
 *    the untagged referrers a deleted referrers-tag index lists.
 */
export function planRepository(inventory: RepoInventory, policy: Policy, now: Date): RepoPlan {
  const images = inventory.images.filter((image) => !isArtifact(image));
  const listedBy = indexesListing(images);
  const decisions = new Map<string, PlannedImage>();
  const candidates: Image[] = [];
  const platformImages: Image[] = [];
  for (const image of images) {
    const protectedBecause = protection(image, policy);
    if (protectedBecause) decide(decisions, image, 'keep', protectedBecause);
    else if (listedBy.has(image.digest)) platformImages.push(image);
    else candidates.push(image);
  }

  // A tag that matches --exclude is never deleted: an artifact's own tag (an SBOM tagged on its own) protects it
  // too, where it would otherwise go with its image.
  for (const artifact of inventory.images.filter(isArtifact)) {
    const excluded = exclusion(artifact, policy);
    if (excluded) decide(decisions, artifact, 'keep', excluded);
  }

  candidates.sort(newestFirst(policy.order));
  const window = dateWindow(policy, now);
  // One string per reason, not one per image: a plan of 100,000 images is held until it is applied.
  const newest = `newest ${policy.keep} (by ${policy.order})`;
  const outside = window ? `outside the date window (${window.describe})` : '';
  const beyond = `beyond the newest ${policy.keep} (by ${policy.order})${window ? `, inside the date window (${window.describe})` : ''}`;
  candidates.forEach((image, i) => {
    if (i < policy.keep) decide(decisions, image, 'keep', newest);
    else if (window && !window.contains(image.created!)) decide(decisions, image, 'keep', outside);
    else decide(decisions, image, 'delete', beyond);
  });
  // A platform image tagged on its own (docker manifest create: 2-amd64 and 2-arm64, listed by 2) is part of the
  // multi-arch image: it takes no keep slot of its own (ranked on its own, it tied with its index, as old as its
  // newest child, and could take the last slot from it), and stays with any kept index listing it. Where they all
  // go, it still stays if it is newer than the last image kept, or outside the date window, as any image would.
  // Newer by date or version only: by the name tie-break (equal dates, --order name), linuxserver's amd64-1.0 would
  // outrank every index, stay, and take the next run's slots as an image of its own.
  const last = policy.keep > 0 && candidates.length >= policy.keep ? candidates[policy.keep - 1] : undefined;
  for (const image of platformImages) {
    const listing = listedBy.get(image.digest)!;
    const tops = listing.filter((index) => !listedBy.has(index.digest));
    const indexes = tops.length ? tops : listing;
    const kept = indexes.find((index) => decisions.get(index.digest)?.action === 'keep');
    if (kept) decide(decisions, image, 'keep', `referenced by kept index ${shortDigest(kept.digest)} (${kept.tags.join(', ') || 'untagged'})`);
    else if (last && strictlyNewer(policy.order, image, last)) decide(decisions, image, 'keep', `${newest}: newer than the last image kept, though its index goes`);
    else if (window && !window.contains(image.created!)) decide(decisions, image, 'keep', outside);
    else decide(decisions, image, 'delete', `platform image of deleted index ${shortDigest(indexes[0].digest)} (${indexes[0].tags.join(', ') || 'untagged'})`, indexes[0].digest);
  }
  const plan = completePlan(inventory, decisions);
  plan.order = policy.order;
  const tie = tieAtTheCut(candidates, policy, (image) => decisions.get(image.digest)?.action === 'delete');
  if (tie) plan.notes.push(tie);
  // A date in the future takes the newest place: most likely a build machine's clock, worth a look.
  for (const image of images) {
    if (image.created && Date.parse(image.created) > now.getTime() + 60 * 60 * 1000) plan.notes.push(`${image.tags.join(', ') || shortDigest(image.digest)}: created ${image.created}, in the future (a build machine's clock?); it counts as the newest`);
  }
  return plan;
}

/**
 * Images created at the same moment on both sides of the newest-N line (reproducible builds that set every date to
 * one value, retags rebuilt in one go): their tag names, not their age, decided which stay. Worth saying.
 */
function tieAtTheCut(ranked: Image[], policy: Policy, deleted: (image: Image) => boolean): string | undefined {
  if (policy.order !== 'created' || policy.keep === 0 || ranked.length <= policy.keep) return undefined;
  const created = ranked[policy.keep - 1].created;
  if (!created || Date.parse(created) !== Date.parse(ranked[policy.keep].created ?? '')) return undefined;
  const at = Date.parse(created);
  const same = (image: Image) => !!image.created && Date.parse(image.created) === at;
  // Those beyond the line that the date window keeps anyway: the names decided nothing.
  if (!ranked.slice(policy.keep).some((image) => same(image) && deleted(image))) return undefined;
  const tied = ranked.filter(same).length;
  const kept = ranked.slice(0, policy.keep).filter(same).length;
  return `${tied} images share the creation date ${created} and only ${kept} of them fit in the newest ${policy.keep}: the highest tag names were kept (use --order semver or name to choose by tag)`;
}

/**
 * `cleanreg delete`: the named manifests go (each with its reason; artifacts and untagged manifests too, when
 * named), every other image stays, and what follows the named ones goes with them by the rules above: their
 * signatures and other artifacts, the untagged platform manifests of a named index, the referrers a named
 * referrers-tag index lists.
 */
export function planNamed(inventory: RepoInventory, named: Map<string, string>): RepoPlan {
  const decisions = new Map<string, PlannedImage>();
  for (const image of inventory.images) {
    const reason = named.get(image.digest);
    if (reason !== undefined) {
      decide(decisions, image, 'delete', reason);
      const planned = decisions.get(image.digest)!;
      planned.named = true;
      // What it belongs to, if that goes too, goes first.
      if (isArtifact(image)) planned.subject = artifactSubjects(image)[0];
    } else if (!isArtifact(image)) {
      decide(decisions, image, 'keep', 'not named');
    } else if (image.tags.some((tag) => !referrerTagSubject(tag))) {
      // An artifact someone tagged by name (an SBOM tagged sbom-1.0): only a named tag goes.
      decide(decisions, image, 'keep', `tagged ${image.tags.filter((tag) => !referrerTagSubject(tag)).join(', ')}, not named`);
    }
  }
  return completePlan(inventory, decisions);
}

function decide(decisions: Map<string, PlannedImage>, image: Image, action: PlannedImage['action'], reason: string, follows?: string): void {
  decisions.set(image.digest, {
    digest: image.digest,
    tags: [...image.tags].sort(),
    created: image.created,
    kind: isArtifact(image) ? 'artifact' : image.kind,
    mediaType: image.mediaType,
    action,
    reason,
    ...(image.subject ? { subject: image.subject } : {}),
    ...(image.children ? { children: image.children } : {}),
    ...(follows ? { follows } : {}),
    ...(image.size !== undefined ? { size: image.size } : {}),
  });
}

/**
 * Rules 1 and 5, once the images are decided: artifacts not decided yet follow their image, a kept index keeps its
 * children, and a deleted index takes its untagged manifests along.
 */
function completePlan(inventory: RepoInventory, decisions: Map<string, PlannedImage>): RepoPlan {
  const images = inventory.images.filter((image) => !isArtifact(image));
  protectChildrenOfKeptIndexes(images, decisions);

  const tagged = new Map(inventory.images.map((i) => [i.digest, i]));
  const parentsOf = indexesListing(images);

  const notes: string[] = [];
  // Artifacts decided already (named ones, tagged ones kept) are owners in their own right: their own artifacts
  // (a signature of a named SBOM) follow them, not the image they belong to.
  const owners = new Map([...decisions].filter(([digest]) => tagged.has(digest) && isArtifact(tagged.get(digest)!)));
  for (const artifact of inventory.images.filter((image) => isArtifact(image) && !decisions.has(image.digest))) {
    const what = artifactName(artifact);
    const subjects = artifactSubjects(artifact);
    const candidates = subjects.map((subject) => ({ subject, owner: owners.get(subject) ?? owningImage(subject, decisions, tagged, parentsOf) })).filter((o): o is { subject: string; owner: PlannedImage } => !!o.owner);
    // An artifact shared by several images (one SBOM for two builds) stays while any of them stays.
    const chosen = candidates.find((o) => o.owner.action === 'keep') ?? candidates[0];
    if (!chosen) {
      decide(decisions, artifact, 'keep', `orphaned ${what}: its subject ${shortDigest(subjects[0])} is not in the repository`);
      notes.push(`orphaned ${what} ${artifact.tags.join(', ') || shortDigest(artifact.digest)}: subject ${shortDigest(subjects[0])} is gone (delete it by reference if it is not needed)`);
    } else {
      const { owner } = chosen;
      // Its owner may be another than its subject: the index of a platform manifest, the image of an SBOM.
      const via = chosen.subject !== owner.digest ? ` (it refers to ${shortDigest(chosen.subject)})` : '';
      decide(decisions, artifact, owner.action, `${what} of ${owner.action === 'delete' ? 'deleted' : 'kept'} ${owner.kind} ${shortDigest(owner.digest)}${via}`, owner.digest);
      // The manifest it belongs to (a referrer tag names one too): re-verification keeps it if that one stays.
      decisions.get(artifact.digest)!.subject = chosen.subject;
    }
  }

  const listed = planListedManifests(inventory.images, decisions, tagged);
  const planned = [...inventory.images.map((image) => decisions.get(image.digest)!), ...listed];
  const plan: RepoPlan = {
    name: inventory.name,
    keep: planned.filter((p) => p.action === 'keep'),
    delete: planned.filter((p) => p.action === 'delete'),
    empty: inventory.tags === null || inventory.tags.length === 0,
    notes,
  };
  const freed = estimateFreedBytes(inventory.images, new Set(plan.delete.map((p) => p.digest)));
  if (freed !== undefined) plan.freedBytes = freed;
  return plan;
}

/**
 * The untagged manifests a deleted index lists, unless a kept index lists them too: the platform manifests of a
 * multi-arch image, or the referrers an index tagged `sha256-<hex>` lists (the OCI referrers tag schema, used by
 * notation and oras on a registry without the referrers API). Nothing else would ever find them again. Each
 * follows its index, so it goes only once the index is gone.
 */
function planListedManifests(manifests: Image[], decisions: Map<string, PlannedImage>, tagged: Map<string, Image>): PlannedImage[] {
  const listedByKept = new Set(manifests.filter((m) => decisions.get(m.digest)!.action === 'keep').flatMap((m) => m.children ?? []));
  const planned = new Map<string, PlannedImage>();
  for (const list of manifests) {
    const decision = decisions.get(list.digest)!;
    if (decision.action !== 'delete') continue;
    const referrers = decision.kind === 'artifact';
    for (const child of list.children ?? []) {
      if (tagged.has(child) || listedByKept.has(child) || planned.has(child)) continue;
      planned.set(child, {
        digest: child,
        tags: [],
        created: referrers ? null : list.created,
        kind: referrers ? 'artifact' : 'image',
        mediaType: '',
        action: 'delete',
        reason: referrers ? `referrer listed by deleted ${list.tags.join(', ')}` : `platform manifest of deleted index ${shortDigest(list.digest)}`,
        ...(referrers && decision.subject ? { subject: decision.subject } : {}),
        follows: list.digest,
      });
    }
  }
  return [...planned.values()];
}

/** Why a manifest is protected by --exclude, if it is: one of its tags matches. */
function exclusion(image: Image, policy: Policy): string | undefined {
  const tag = policy.exclude && image.tags.find((t) => policy.exclude!.test(t));
  if (!tag) return undefined;
  return image.tags.length > 1 ? `shares its digest with tag "${tag}", which matches --exclude ${policy.exclude}` : `matches --exclude ${policy.exclude}`;
}

function protection(image: Image, policy: Policy): string | undefined {
  const excluded = exclusion(image, policy);
  if (excluded) return excluded;
  if (policy.include) {
    const tag = image.tags.find((t) => !policy.include!.test(t));
    if (tag) return `tag "${tag}" does not match --include ${policy.include}`;
  }
  if (policy.ignoreRefTags && image.tags.length > 1) return `digest carries ${image.tags.length} tags (-i/--ignore-ref-tags)`;
  if (policy.order === 'semver') {
    const tag = image.tags.find((t) => !tagVersion(t));
    if (tag) return `tag "${tag}" is not a version (--order semver)`;
  }
  if (needsCreated(policy) && (image.created === null || Number.isNaN(Date.parse(image.created)))) return 'unknown age (no creation date): kept, takes no keep slot';
  return undefined;
}

interface DateWindow {
  contains(created: string): boolean;
  describe: string;
}

function dateWindow(policy: Policy, now: Date): DateWindow | undefined {
  if (!hasDateWindow(policy)) return undefined;
  const bounds: { lt?: number; gt?: number } = {};
  const parts: string[] = [];
  const upper = (t: number, label: string) => {
    bounds.lt = bounds.lt === undefined ? t : Math.min(bounds.lt, t);
    parts.push(label);
  };
  const lower = (t: number, label: string) => {
    bounds.gt = bounds.gt === undefined ? t : Math.max(bounds.gt, t);
    parts.push(label);
  };
  if (policy.before) upper(policy.before.getTime(), `created before ${policy.before.toISOString()}`);
  if (policy.olderThan) upper(sub(new UTCDateMini(now), policy.olderThan).getTime(), `older than ${describeDuration(policy.olderThan)}`);
  if (policy.after) lower(policy.after.getTime(), `created after ${policy.after.toISOString()}`);
  if (policy.newerThan) lower(sub(new UTCDateMini(now), policy.newerThan).getTime(), `newer than ${describeDuration(policy.newerThan)}`);
  return {
    contains: (created) => {
      const t = Date.parse(created);
      return (bounds.lt === undefined || t < bounds.lt) && (bounds.gt === undefined || t > bounds.gt);
    },
    describe: parts.join(', '),
  };
}

function describeDuration(d: import('date-fns').Duration): string {
  return Object.entries(d)
    .filter(([, v]) => v)
    .map(([k, v]) => `${v} ${v === 1 ? k.replace(/s$/, '') : k}`)
    .join(' ');
}

/** A kept index needs its children: an image that is one of them stays. */
function protectChildrenOfKeptIndexes(images: Image[], decisions: Map<string, PlannedImage>): void {
  for (let changed = true; changed; ) {
    changed = false;
    for (const index of images) {
      if (index.kind !== 'index' || decisions.get(index.digest)?.action !== 'keep') continue;
      for (const child of index.children ?? []) {
        const planned = decisions.get(child);
        if (planned?.action === 'delete') {
          planned.action = 'keep';
          planned.reason = `referenced by kept index ${shortDigest(index.digest)} (${index.tags.join(', ')})`;
          delete planned.follows;
          changed = true;
        }
      }
    }
  }
}

/**
 * The indexes of a repository listing each manifest (at any depth: an index's children include a nested one's).
 * Only an index has children.
 */
function indexesListing(images: Image[]): Map<string, Image[]> {
  const listedBy = new Map<string, Image[]>();
  for (const index of images) for (const child of index.children ?? []) listedBy.set(child, [...(listedBy.get(child) ?? []), index]);
  return listedBy;
}

/** Artifacts follow a subject; a manifest of another kind without one (a Helm chart, say) is planned as an image. */
export function isArtifact(image: Image): boolean {
  return !!image.subject || (image.tags.length > 0 && image.tags.every((t) => referrerTagSubject(t)));
}

/** Every image an artifact says it belongs to: its `subject`, and the digests its referrer tags name. */
function artifactSubjects(image: Image): string[] {
  return [...new Set([image.subject, ...image.tags.map(referrerTagSubject)].filter((s): s is string => !!s))];
}

/**
 * The planned image an artifact's subject leads to: the subject itself, the index whose untagged child it is
 * (`cosign sign --recursive`), or, for an artifact of an artifact, that one's image.
 */
function owningImage(subject: string, decisions: Map<string, PlannedImage>, tagged: Map<string, Image>, parentsOf: Map<string, Image[]>, seen = new Set<string>()): PlannedImage | undefined {
  if (seen.has(subject)) return undefined;
  seen.add(subject);
  const image = tagged.get(subject);
  if (!image) {
    // A platform manifest two indexes share stays while either stays.
    const parents = (parentsOf.get(subject) ?? []).map((p) => decisions.get(p.digest)!);
    return parents.find((p) => p.action === 'keep') ?? parents[0];
  }
  if (!isArtifact(image)) return decisions.get(subject);
  for (const next of artifactSubjects(image)) {
    const owner = owningImage(next, decisions, tagged, parentsOf, seen);
    if (owner) return owner;
  }
  return undefined;
}

function artifactName(image: Image): string {
  return image.tags.map(referrerTagKind).find(Boolean) ?? 'referrer';
}

