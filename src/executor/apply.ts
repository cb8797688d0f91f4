import type { LimitFunction } from 'p-limit';
import { CleanregError, RegistryError } from '../errors.js';
import type { PlannedImage, RepoPlan } from '../planner/types.js';
import type { RegistryClient } from '../registry/client.js';
import type { Logger } from '../util/log.js';

export interface Outcome {
  digest: string;
  tags: string[];
  /** deleted; gone (already deleted by someone else); kept (re-verification changed its fate); failed. */
  status: 'deleted' | 'gone' | 'kept' | 'failed';
  /** Why it was kept or why it failed; for kept images, one entry per tag that changed. */
  detail?: string;
}

export interface RepoOutcome {
  name: string;
  outcomes: Outcome[];
}

export interface ApplyContext {
  client: RegistryClient;
  limit: LimitFunction;
  logger: Logger;
}

/**
 * Applies one repository's plan, trusting nothing from the past: it re-lists the tags and re-resolves every tag
 * planned for deletion and every tag that is new since the plan. An image one of whose tags now points elsewhere,
 * or that gained a tag nobody selected, is kept. Images go before the artifacts that follow them, so a signature
 * never outlives... nor dies before its image. One failure does not stop the rest, except deletion being disabled.
 */
export async function applyRepoPlan(plan: RepoPlan, ctx: ApplyContext): Promise<RepoOutcome> {
  const result: RepoOutcome = { name: plan.name, outcomes: [] };
  if (plan.delete.length === 0) return result;

  const current = (await ctx.limit(() => ctx.client.tags(plan.name))) ?? [];
  const known = new Set([...plan.keep, ...plan.delete].flatMap((p) => p.tags));
  const toCheck = new Set([...plan.delete.flatMap((p) => p.tags), ...current.filter((t) => !known.has(t))]);
  const now = new Map<string, string | null>();
  await Promise.all([...toCheck].map(async (tag) => now.set(tag, await ctx.limit(() => ctx.client.resolve(plan.name, tag)))));

  const subjects = new Set(plan.delete.filter((p) => p.kind !== 'artifact').map((p) => p.digest));
  const images = plan.delete.filter((p) => p.kind !== 'artifact' || !p.subject || !subjects.has(p.subject));
  const followers = plan.delete.filter((p) => !images.includes(p));

  let disabled: RegistryError | undefined;
  const deleteOne = async (image: PlannedImage): Promise<Outcome> => {
    const changed = reverify(image, now);
    if (changed) return { digest: image.digest, tags: image.tags, status: 'kept', detail: changed };
    if (disabled) throw disabled;
    try {
      const status = await ctx.limit(() => ctx.client.deleteManifest(plan.name, image.digest));
      ctx.logger.verbose(`${status === 'deleted' ? 'deleted' : 'already gone:'} ${plan.name}@${image.digest} (${image.tags.join(', ') || 'untagged'})`);
      return { digest: image.digest, tags: image.tags, status };
    } catch (error) {
      if (error instanceof RegistryError && error.kind === 'delete-disabled') {
        disabled = error;
        throw error;
      }
      const message = error instanceof CleanregError ? error.message : String(error);
      ctx.logger.error(message);
      return { digest: image.digest, tags: image.tags, status: 'failed', detail: message };
    }
  };

  // The first DELETE goes alone: a 405 (deletion disabled) is registry-wide and stops the run before any other.
  if (images.length) result.outcomes.push(await deleteOne(images[0]));
  result.outcomes.push(...(await Promise.all(images.slice(1).map(deleteOne))));
  const subjectGone = new Set(result.outcomes.filter((o) => o.status === 'deleted' || o.status === 'gone').map((o) => o.digest));
  for (const follower of followers) {
    if (!subjectGone.has(follower.subject!)) {
      result.outcomes.push({ digest: follower.digest, tags: follower.tags, status: 'kept', detail: `its subject ${follower.subject} was not deleted` });
    }
  }
  result.outcomes.push(...(await Promise.all(followers.filter((f) => subjectGone.has(f.subject!)).map(deleteOne))));
  return result;
}

/** Why an image planned for deletion must now be kept, tag by tag; undefined when the plan still holds. */
function reverify(image: PlannedImage, now: Map<string, string | null>): string | undefined {
  const reasons: string[] = [];
  for (const tag of image.tags) {
    const digest = now.get(tag);
    if (digest && digest !== image.digest) reasons.push(`tag "${tag}" now points at ${digest} (moved since the plan)`);
  }
  for (const [tag, digest] of now) {
    if (digest === image.digest && !image.tags.includes(tag)) reasons.push(`tag "${tag}" now points at this image (added since the plan)`);
  }
  return reasons.length ? reasons.join('; ') : undefined;
}
