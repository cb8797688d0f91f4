import { CleanregError, RegistryError } from '../errors.js';
import type { PlannedImage, RepoPlan } from '../planner/types.js';
import type { RegistryClient } from '../registry/client.js';
import type { Logger } from '../util/log.js';
import { redact } from '../util/redact.js';
import type { RequestLimit } from '../util/request-limit.js';
import { readRepositoryNow, reverify } from './reverify.js';

export interface Outcome {
  digest: string;
  tags: string[];
  /** deleted; gone (already deleted by someone else); kept (re-verification changed its fate); failed. */
  status: 'deleted' | 'gone' | 'kept' | 'failed';
  /** Why it was kept or why it failed. */
  detail?: string;
}

export interface RepoOutcome {
  name: string;
  outcomes: Outcome[];
  /** The repository has no tag left after the deletions. */
  emptied?: boolean;
}

export interface ApplyContext {
  client: RegistryClient;
  limit: RequestLimit;
  logger: Logger;
}

/**
 * Applies one repository's plan, trusting nothing from the past (see reverify.ts). Images and indexes go first,
 * the first DELETE alone; what follows an image (its artifacts, the untagged platform manifests of an index) goes
 * only once that image is gone. One failed DELETE does not stop the rest, but a 405 (deletion disabled) is thrown:
 * it holds for the whole registry.
 */
export async function applyRepoPlan(plan: RepoPlan, ctx: ApplyContext): Promise<RepoOutcome> {
  const result: RepoOutcome = { name: plan.name, outcomes: [] };
  if (plan.delete.length === 0) return result;

  const now = await readRepositoryNow(plan, ctx.client, ctx.limit);
  const kept = reverify(plan, now);
  for (const image of plan.delete) {
    if (kept.has(image.digest)) result.outcomes.push({ digest: image.digest, tags: image.tags, status: 'kept', detail: kept.get(image.digest) });
  }
  const doomed = plan.delete.filter((p) => !kept.has(p.digest));
  // Indexes before images, so that no index ever points at a deleted child.
  const leaders = doomed.filter((p) => !p.follows).sort((a, b) => Number(b.kind === 'index') - Number(a.kind === 'index'));
  const followers = doomed.filter((p) => p.follows);

  const deleteOne = async (image: PlannedImage): Promise<Outcome> => {
    try {
      const status = await ctx.limit(() => ctx.client.deleteManifest(plan.name, image.digest));
      ctx.logger.verbose(`${status === 'deleted' ? 'deleted' : 'already gone:'} ${plan.name}@${image.digest} (${image.tags.join(', ') || 'untagged'})`);
      return { digest: image.digest, tags: image.tags, status };
    } catch (error) {
      if (error instanceof RegistryError && error.kind === 'delete-disabled') throw error;
      // Redacted here too: outcomes are printed on stdout.
      const message = redact(error instanceof CleanregError ? error.message : String(error));
      ctx.logger.error(message);
      return { digest: image.digest, tags: image.tags, status: 'failed', detail: message };
    }
  };

  const gone = new Set<string>();
  const record = (outcome: Outcome) => {
    result.outcomes.push(outcome);
    if (outcome.status === 'deleted' || outcome.status === 'gone') gone.add(outcome.digest);
  };
  // The very first DELETE goes alone: a 405 stops the run before any other is sent.
  if (leaders.length) record(await deleteOne(leaders[0]));
  (await Promise.all(leaders.slice(1).map(deleteOne))).forEach(record);

  const ready = followers.filter((f) => gone.has(f.follows!));
  for (const f of followers.filter((f) => !gone.has(f.follows!))) {
    result.outcomes.push({ digest: f.digest, tags: f.tags, status: 'kept', detail: `follows ${f.follows}, which was not deleted` });
  }
  (await Promise.all(ready.map(deleteOne))).forEach(record);
  result.emptied = now.tags.length > 0 && now.tags.every((tag) => gone.has(now.digestOf.get(tag) ?? ''));
  return result;
}
