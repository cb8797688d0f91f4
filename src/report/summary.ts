import type { RepoOutcome } from '../executor/apply.js';
import type { PlannedImage, RepoPlan } from '../planner/types.js';
import { formatBytes, plural } from './format.js';

export interface PlanSummary {
  repositories: number;
  /** Images and indexes, as the policy decided them (not what follows them). */
  imagesKept: number;
  imagesToDelete: number;
  /** Every manifest to delete: the images, and their signatures, referrers and untagged platform manifests. */
  manifestsToDelete: number;
  tagsToDelete: number;
  /** Estimate of what garbage collection frees after the deletions; null when sizes are unknown. */
  estimatedFreedBytes: number | null;
  emptyRepositories: string[];
}

export interface ApplySummary {
  /** Manifests deleted; of them, deletedAlong went with an image (its signatures, referrers, platform manifests). */
  deleted: number;
  deletedAlong: number;
  alreadyGone: number;
  keptOnReverify: number;
  failed: number;
  /**
   * Images no DELETE was sent for: deletion turned out disabled, their repository's re-verification failed, or the
   * image they follow (a signature's image, a platform manifest's index) was not deleted.
   */
  notAttempted: number;
  /** Repositories the apply left without tags (still in the catalog: see prune-empty). */
  emptiedRepositories: string[];
}

export function summarizePlan(plans: RepoPlan[]): PlanSummary {
  let freed: number | null = 0;
  for (const plan of plans) freed = freed === null || plan.freedBytes === undefined ? null : freed + plan.freedBytes;
  return {
    repositories: plans.length,
    imagesKept: plans.reduce((n, p) => n + p.keep.filter(isImage).length, 0),
    imagesToDelete: plans.reduce((n, p) => n + p.delete.filter(isImage).length, 0),
    manifestsToDelete: plans.reduce((n, p) => n + p.delete.length, 0),
    tagsToDelete: plans.reduce((n, p) => n + p.delete.reduce((m, i) => m + i.tags.length, 0), 0),
    estimatedFreedBytes: freed,
    emptyRepositories: plans.filter((p) => p.empty).map((p) => p.name),
  };
}

/** What the policy decided, as opposed to what goes with it (follows another manifest of the plan). */
function isImage(p: PlannedImage): boolean {
  return !p.follows;
}

export function summarizeOutcomes(outcomes: RepoOutcome[], plans: RepoPlan[]): ApplySummary {
  const all = outcomes.flatMap((o) => o.outcomes);
  const count = (status: string) => all.filter((o) => o.status === status).length;
  const along = new Set(plans.flatMap((p) => p.delete.filter((d) => !isImage(d)).map((d) => `${p.name}@${d.digest}`)));
  return {
    deleted: count('deleted'),
    deletedAlong: outcomes.reduce((n, o) => n + o.outcomes.filter((x) => x.status === 'deleted' && along.has(`${o.name}@${x.digest}`)).length, 0),
    alreadyGone: count('gone'),
    keptOnReverify: count('kept'),
    failed: count('failed'),
    notAttempted: count('not-attempted'),
    emptiedRepositories: outcomes.filter((o) => o.emptied).map((o) => o.name),
  };
}

export function planSummaryLine(s: PlanSummary, dryRun: boolean): string {
  const freed = s.imagesToDelete === 0 ? '' : s.estimatedFreedBytes === null ? '' : `, about ${formatBytes(s.estimatedFreedBytes)} freed after garbage collection (estimate)`;
  return `${dryRun ? 'Dry run: ' : 'Plan: '}${plural(s.repositories, 'repository', 'repositories')}, ${plural(s.imagesKept, 'image')} kept, ${plural(s.imagesToDelete, 'image')} (${plural(s.tagsToDelete, 'tag')}) to delete${withThem(s.manifestsToDelete - s.imagesToDelete)}${freed}.`;
}

/** The manifests that go with the images: said apart, as they are not images. */
export function withThem(n: number): string {
  return n ? ` and ${plural(n, 'manifest')} with them (signatures, referrers, platform manifests)` : '';
}

export function applySummaryLine(s: ApplySummary): string {
  const parts = [`Deleted ${plural(s.deleted - s.deletedAlong, 'image')}${withThem(s.deletedAlong)}`];
  if (s.alreadyGone) parts.push(`${s.alreadyGone} already gone`);
  // Counted by manifest: what goes with an image is counted too.
  if (s.keptOnReverify) parts.push(`${plural(s.keptOnReverify, 'manifest')} kept because the registry changed since the plan`);
  parts.push(`${s.failed} failed`);
  if (s.notAttempted) parts.push(`${plural(s.notAttempted, 'manifest')} not attempted`);
  return parts.join(', ') + '.';
}
