import pLimit from 'p-limit';
import { CleanregError, RegistryError } from '../errors.js';
import type { PlannedImage, RepoPlan } from '../planner/types.js';
import type { RegistryClient } from '../registry/client.js';
import type { Logger } from '../util/log.js';
import { redact } from '../util/redact.js';
import type { RequestLimit } from '../util/request-limit.js';
import { readRepositoryNow, reverify, type BeforeReverify, type RepositoryNow } from './reverify.js';

export interface Outcome {
  digest: string;
  tags: string[];
  /**
   * deleted; gone (already deleted by someone else); kept (re-verification changed its fate); failed (its DELETE
   * failed); not-attempted (no DELETE was sent: deletion turned out disabled, the registry stopped answering, the
   * run was interrupted, re-verification failed, or what it follows was not deleted).
   */
  status: 'deleted' | 'gone' | 'kept' | 'failed' | 'not-attempted';
  /** Why it was kept, failed or not attempted. */
  detail?: string;
}

/** Shared by the repositories of one apply. */
export interface Halt {
  /** The first 405, or a registry that stopped answering: no further DELETE is sent. */
  error?: RegistryError;
  /**
   * An interruption (SIGINT, SIGTERM): no further image or index is deleted, but what a deletion already done would
   * leave behind still goes (its signatures and referrers, the untagged platform manifests of a deleted index):
   * nothing would find those again once their image is gone.
   */
  stopped?: string;
}

/** Why nothing more is sent, whatever it is, or undefined. */
export function haltReason(halt: Halt): string | undefined {
  return halt.error ? notAttempted(halt.error) : halt.stopped;
}

export interface RepoOutcome {
  name: string;
  outcomes: Outcome[];
  /** The repository has no tag left after the deletions. */
  emptied?: boolean;
  /** Why nothing was deleted here: its re-verification failed. */
  error?: string;
}

export interface ApplyContext {
  client: RegistryClient;
  limit: RequestLimit;
  logger: Logger;
  beforeReverify?: BeforeReverify;
  /** The hints of failed DELETEs said so far in this run: each is said once (a pull-only user fails them all). */
  hinted?: Set<string>;
}

/**
 * Applies one repository's plan, trusting nothing from the past (see reverify.ts). Images and indexes go first, the
 * first DELETE alone; what follows a manifest (its artifacts and referrers, the untagged platform manifests of an
 * index) goes only once that manifest is gone, once what it refers to is gone when that is deleted too, and a
 * platform image only once every index being deleted that lists it is gone. One failed DELETE does not stop the
 * rest, but a 405 (deletion disabled) sets the halt: it holds for the whole registry, so no further DELETE is sent
 * here or in any other repository; a 401 ends this repository's. Every image of the plan gets an outcome. Throws
 * only when re-verification fails (nothing was deleted then).
 */
export async function applyRepoPlan(plan: RepoPlan, ctx: ApplyContext, halt: Halt = {}): Promise<RepoOutcome> {
  const result: RepoOutcome = { name: plan.name, outcomes: [] };
  if (plan.delete.length === 0) return result;
  if (haltReason(halt)) return notAttemptedAll(plan, haltReason(halt)!);

  // A halt while this repository is re-verified (one HEAD per tag) ends it there: nothing is deleted here yet.
  const halted = Symbol('halted');
  const limit: RequestLimit = (task, order) => ctx.limit(() => (haltReason(halt) ? Promise.reject(halted) : task()), order);
  let now: RepositoryNow;
  try {
    now = await readRepositoryNow(plan, ctx.client, limit, ctx.beforeReverify);
  } catch (error) {
    if (error === halted) return notAttemptedAll(plan, haltReason(halt)!);
    throw error;
  }
  if (haltReason(halt)) return notAttemptedAll(plan, haltReason(halt)!);
  const kept = reverify(plan, now);
  for (const image of plan.delete) {
    if (kept.has(image.digest)) result.outcomes.push({ digest: image.digest, tags: image.tags, status: 'kept', detail: kept.get(image.digest) });
  }
  const doomed = plan.delete.filter((p) => !kept.has(p.digest));
  const doomedDigests = new Set(doomed.map((p) => p.digest));
  const doomedParents = new Map<string, string[]>();
  for (const index of doomed) for (const child of index.children ?? []) if (doomedDigests.has(child)) doomedParents.set(child, [...(doomedParents.get(child) ?? []), index.digest]);

  const gone = new Set<string>();
  // A DELETE refused with 401 (a token without delete for this repository: scopes are per repository): every other
  // one here would be refused too, so no other image is sent. (A 403 may be about one manifest, a protected tag.)
  let denied: RegistryError | undefined;
  const deleteOne = async (image: PlannedImage): Promise<Outcome> => {
    const outcome = (status: Outcome['status'], detail?: string): Outcome => ({ digest: image.digest, tags: image.tags, status, detail });
    // What follows a manifest is sent only once that manifest is gone (see blocker): after a stop or a refusal it
    // still goes, as nothing would find it again; a tagged platform image or nested index would be found by a next
    // run, and waits for it (a tagged signature would only be reported as an orphan).
    const wouldBeLost = !!image.follows && !(image.kind !== 'artifact' && image.tags.length > 0);
    const refusal = () => {
      if (halt.error) return notAttempted(halt.error);
      if (wouldBeLost) return undefined;
      return denied ? notAttempted(denied) : halt.stopped;
    };
    // Checked again once a place in the request limit is given: a 405 may have come in while this one waited.
    const send = async () => (refusal() ? undefined : ctx.client.deleteManifest(plan.name, image.digest));
    try {
      const status = refusal() ? undefined : await ctx.limit(send);
      if (!status) return outcome('not-attempted', refusal());
      ctx.logger.verbose(`${status === 'deleted' ? 'deleted' : 'already gone:'} ${plan.name}@${image.digest} (${image.tags.join(', ') || 'untagged'})`);
      return outcome(status);
    } catch (error) {
      if (error instanceof RegistryError && error.kind === 'delete-disabled') halt.error ??= error;
      if (error instanceof RegistryError && error.status === 401) denied ??= error;
      if (error instanceof RegistryError && (error.kind === 'timeout' || error.kind === 'connection')) {
        // The answer is lost, not necessarily the deletion: ask, ahead of the DELETEs waiting (a registry that is
        // gone must stop them soon). Gone means done, and what follows it can go. A refused connection never
        // reached the registry: nothing to ask.
        const ask = () => ctx.limit(() => ctx.client.resolve(plan.name, image.digest), -1).catch(() => undefined);
        const still = error.networkCode === 'ECONNREFUSED' ? undefined : await ask();
        if (still === null) {
          ctx.logger.verbose(`deleted ${plan.name}@${image.digest} (its answer was lost: ${error.reason}; the registry no longer has it)`);
          return outcome('deleted');
        }
        // Not even that answered: the registry is gone, and every further DELETE would wait out its retries too.
        // (Still there: this DELETE failed, slowly; the others go on.)
        if (still === undefined) halt.error ??= error;
      }
      // Redacted here too: outcomes are printed on stdout.
      const message = redact(error instanceof CleanregError ? error.message : String(error));
      ctx.logger.error(message);
      // A hint of what stopped the apply (a 405) is said once, after the report (reportHalt).
      const hint = error instanceof CleanregError && halt.error !== error ? error.hint : undefined;
      if (hint && !ctx.hinted?.has(hint)) {
        ctx.hinted?.add(hint);
        ctx.logger.info(`hint: ${hint}`);
      }
      return outcome('failed', message);
    }
  };

  const record = (outcome: Outcome) => {
    result.outcomes.push(outcome);
    if (outcome.status === 'deleted' || outcome.status === 'gone') gone.add(outcome.digest);
  };
  // What a manifest waits for: what it follows (the image of an artifact, the index of an untagged platform
  // manifest), what it refers to when that is deleted too, and every index being deleted that lists it (tagged
  // platform images included), so that no index ever points at a deleted child.
  const blocker = (p: PlannedImage): string | undefined => {
    if (p.follows && !gone.has(p.follows)) return p.follows;
    if (p.subject && doomedDigests.has(p.subject) && !gone.has(p.subject)) return p.subject;
    return doomedParents.get(p.digest)?.find((index) => !gone.has(index));
  };
  // In waves, each of what is free to go. The very first DELETE goes alone (an index first, if any): a 405 stops
  // the run before any other is sent.
  let waiting = [...doomed].sort((a, b) => Number(b.kind === 'index') - Number(a.kind === 'index'));
  for (let first = true; ; first = false) {
    const free = waiting.filter((p) => !blocker(p));
    if (!free.length) break;
    const wave = new Set(first ? free.slice(0, 1) : free);
    waiting = waiting.filter((p) => !wave.has(p));
    (await Promise.all([...wave].map(deleteOne))).forEach(record);
  }
  for (const p of waiting) {
    // What waits for a manifest that is not being deleted (kept by the plan or on re-verification, which has said
    // so already for most) is kept with it; what waits for one whose DELETE failed or was not sent is not attempted.
    const on = blocker(p)!;
    const stays = !doomedDigests.has(on);
    const relation = on === p.follows ? 'it follows' : on === p.subject ? 'it refers to' : 'it is listed by';
    result.outcomes.push({ digest: p.digest, tags: p.tags, status: stays ? 'kept' : 'not-attempted', detail: `${relation} ${on}, which ${stays ? 'is kept' : 'was not deleted'}` });
  }
  result.emptied = now.tags.length > 0 && now.tags.every((tag) => gone.has(now.digestOf.get(tag) ?? ''));
  return result;
}

/** Why an image was not deleted: another's DELETE (or its repository's re-verification) failed first. */
function notAttempted(error: CleanregError): string {
  return redact(error instanceof RegistryError ? error.reason : error.message);
}

/** A repository where no DELETE was sent: deletion turned out disabled, or its re-verification failed. */
export function notAttemptedAll(plan: RepoPlan, why: string): RepoOutcome {
  const detail = redact(why);
  return { name: plan.name, outcomes: plan.delete.map((p) => ({ digest: p.digest, tags: p.tags, status: 'not-attempted', detail })) };
}

/**
 * Applies the plans of a run, repository by repository: the first alone (its first DELETE finds out whether
 * deletion is enabled at all), the rest in parallel. `beforeEach` runs first in each (cleanreg delete's untags, which
 * go even where the plan deletes nothing). A repository whose re-verification fails deletes nothing; a halt (a 405,
 * a registry that stopped answering, an interruption: see Halt) holds for them all. The outcomes come in the plans'
 * order.
 */
export async function applyPlans(plans: RepoPlan[], ctx: ApplyContext & { concurrency: number }, beforeEach?: (plan: RepoPlan, halt: Halt) => Promise<void>, halt: Halt = {}): Promise<{ outcomes: RepoOutcome[]; halt: Halt }> {
  const outcomes: RepoOutcome[] = [];
  const run = { ...ctx, hinted: new Set<string>() };
  const applyOne = async (plan: RepoPlan) => {
    await beforeEach?.(plan, halt);
    try {
      outcomes.push(await applyRepoPlan(plan, run, halt));
    } catch (error) {
      if (!(error instanceof CleanregError)) throw error;
      // Re-verification failed: nothing is deleted in this repository.
      ctx.logger.error(`${plan.name}: ${error.message}`);
      outcomes.push({ ...notAttemptedAll(plan, `re-verification failed: ${error.message}`), error: redact(error.message) });
    }
  };
  const pending = beforeEach ? plans : plans.filter((p) => p.delete.length);
  if (pending.length) await applyOne(pending[0]);
  const repoLimit = pLimit(ctx.concurrency);
  await Promise.all(pending.slice(1).map((plan) => repoLimit(() => applyOne(plan))));
  const order = new Map(plans.map((p, i) => [p.name, i]));
  return { outcomes: outcomes.sort((a, b) => order.get(a.name)! - order.get(b.name)!), halt };
}

/**
 * After a 405, a registry that stopped answering or an interruption: that no further deletion was attempted, and
 * what to do; said once, after the report. `leftUndone`: the halt kept something from being sent.
 */
export function reportHalt(halt: Halt, logger: Logger, leftUndone: boolean): void {
  if (halt.error) {
    logger.error('stopped: no further deletion was attempted');
    if (halt.error.hint) logger.info(`hint: ${halt.error.hint}`);
    if (halt.error.kind === 'timeout' || halt.error.kind === 'connection') logger.info('hint: run the same command again once the registry answers: what is left is planned again');
  } else if (halt.stopped) {
    // A signal that came once every DELETE was sent stopped nothing.
    if (leftUndone) logger.error(`stopped: ${halt.stopped}; no further image was deleted (run the same command again to finish)`);
    else logger.warn(`${halt.stopped} after every deletion had been sent: nothing was left undone`);
  }
}
