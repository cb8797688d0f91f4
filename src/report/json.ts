import type { RepoOutcome } from '../executor/apply.js';
import type { PlannedImage, RepoPlan } from '../planner/types.js';
import { summarizeOutcomes, summarizePlan } from './summary.js';

function entry(image: PlannedImage) {
  return {
    digest: image.digest,
    tags: image.tags,
    created: image.created,
    kind: image.kind,
    reason: image.reason,
    ...(image.subject ? { subject: image.subject } : {}),
    ...(image.size !== undefined ? { size: image.size } : {}),
  };
}

function repositoryEntry(plan: RepoPlan, outcome?: RepoOutcome) {
  return {
    name: plan.name,
    empty: plan.empty,
    keep: plan.keep.map(entry),
    delete: plan.delete.map(entry),
    ...(plan.notes.length ? { notes: plan.notes } : {}),
    ...(outcome
      ? {
          deleted: outcome.outcomes.filter((o) => o.status === 'deleted' || o.status === 'gone').map(({ digest, tags, status }) => ({ digest, tags, alreadyGone: status === 'gone' })),
          keptOnReverify: outcome.outcomes.filter((o) => o.status === 'kept').map(({ digest, tags, detail }) => ({ digest, tags, reason: detail })),
          failed: outcome.outcomes.filter((o) => o.status === 'failed').map(({ digest, tags, detail }) => ({ digest, tags, error: detail })),
          notAttempted: outcome.outcomes.filter((o) => o.status === 'not-attempted').map(({ digest, tags, detail }) => ({ digest, tags, reason: detail })),
        }
      : {}),
  };
}

/** A repository of the configuration that is not in the plan: not on the registry, or not readable. */
export interface RepositoryError {
  repository: string;
  error: string;
}

/**
 * The one JSON document of `--output json`; after an apply it also says what was deleted and what failed.
 * `errors` names the repositories left out (as `cleanreg list` does).
 */
export function planDocument(registry: string, plans: RepoPlan[], outcomes?: RepoOutcome[], dryRun = true, errors: RepositoryError[] = []) {
  const byRepo = new Map(outcomes?.map((o) => [o.name, o]));
  return {
    registry,
    dryRun,
    repositories: plans.map((plan) => repositoryEntry(plan, byRepo.get(plan.name))),
    errors,
    summary: { ...summarizePlan(plans), ...(outcomes ? summarizeOutcomes(outcomes, plans) : {}) },
  };
}

/**
 * Writes the same document repository by repository, so that a plan of a hundred thousand images is never one
 * string in memory.
 */
export function writePlanDocument(out: NodeJS.WritableStream, registry: string, plans: RepoPlan[], outcomes?: RepoOutcome[], dryRun = true, errors: RepositoryError[] = []): void {
  const byRepo = new Map(outcomes?.map((o) => [o.name, o]));
  const indent = (json: string) => json.replace(/\n/g, '\n    ');
  out.write(`{\n  "registry": ${JSON.stringify(registry)},\n  "dryRun": ${dryRun},\n  "repositories": [`);
  plans.forEach((plan, i) => out.write(`${i ? ',' : ''}\n    ${indent(JSON.stringify(repositoryEntry(plan, byRepo.get(plan.name)), null, 2))}`));
  const summary = { ...summarizePlan(plans), ...(outcomes ? summarizeOutcomes(outcomes, plans) : {}) };
  const block = (value: unknown) => JSON.stringify(value, null, 2).replace(/\n/g, '\n  ');
  out.write(`${plans.length ? '\n  ' : ''}],\n  "errors": ${block(errors)},\n  "summary": ${block(summary)}\n}\n`);
}
