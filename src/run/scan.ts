import pLimit from 'p-limit';
import { CleanregError, RegistryError } from '../errors.js';
import { isGlob, matchTargets, shadowedTargets, type Target } from '../config/targets.js';
import type { MetadataCache } from '../inventory/cache.js';
import { ManifestDescriber } from '../inventory/describe.js';
import { gatherRepository } from '../inventory/gather.js';
import { planRepository } from '../planner/plan.js';
import { needsCreated, type RepoPlan } from '../planner/types.js';
import type { RequestLimit } from '../util/request-limit.js';
import { plural } from '../report/format.js';
import { addReferrers } from './referrers.js';
import type { Session } from './session.js';

export interface ScanHooks {
  onRepositories?: (count: number) => void;
  onTag?: () => void;
  onRepository?: (plan: RepoPlan) => void;
}

export interface ScanResult {
  plans: RepoPlan[];
  /** Repositories that could not be read (auth, server, network): nothing should be deleted. */
  errors: CleanregError[];
  /** Repositories named in the configuration that the registry does not have. */
  missing: CleanregError[];
}

/** The repositories to clean, each with the first target that selects it. Globs need the catalog (all pages). */
export async function selectRepositories(session: Session, targets: Target[]): Promise<{ repo: string; target: Target; listed?: boolean }[]> {
  if (!targets.some((t) => isGlob(t.pattern))) {
    warnShadowed(session, targets);
    return matchTargets(new Set(targets.map((t) => t.pattern)), targets);
  }
  const catalog: string[] = [];
  for await (const page of session.client.catalog()) catalog.push(...page);
  warnShadowed(session, targets, catalog);
  const selected = matchTargets(catalog, targets);
  const listed = new Set(catalog);
  // Exact names missing from the catalog are still tried, so that a typo is reported, not silently skipped.
  const missing = targets.filter((t) => !isGlob(t.pattern) && !listed.has(t.pattern)).map((t) => ({ repo: t.pattern, target: t }));
  for (const t of targets.filter((t) => isGlob(t.pattern))) {
    if (!selected.some((s) => s.target === t)) session.logger.warn(`${t.source}: "${t.pattern}" matches no repository in the catalog`);
  }
  return [...selected.map((s) => ({ ...s, listed: true })), ...missing];
}

/** First matching line wins: a line that never can is almost always a mistake in the configuration. */
function warnShadowed(session: Session, targets: Target[], catalog?: readonly string[]): void {
  for (const { target, by } of shadowedTargets(targets, catalog)) {
    const winners = by.map((t) => `${t.source} ("${t.pattern}")`).join(', ');
    session.logger.warn(`${target.source}: "${target.pattern}" never applies: ${winners} ${by.length > 1 ? 'select' : 'selects'} ${isGlob(target.pattern) ? 'every repository it matches' : 'it'} first (the first matching line wins)`);
  }
}

/**
 * Scans and plans each repository as soon as it is read, a bounded number at a time, so memory follows the
 * largest repository rather than the registry. A failing repository is reported and the others go on.
 */
export async function scanAndPlan(session: Session, targets: Target[], cache: MetadataCache, now: Date, hooks: ScanHooks = {}, inShard?: (repo: string) => boolean): Promise<ScanResult> {
  const selected = (await selectRepositories(session, targets)).filter(({ repo }) => !inShard || inShard(repo));
  hooks.onRepositories?.(selected.length);
  const describer = new ManifestDescriber(session.client, cache, session.logger);
  const errors: CleanregError[] = [];
  const missing: CleanregError[] = [];
  const plans = await eachRepository(session, selected, async ({ repo, target, listed }, limit) => {
    try {
      const inventory = await gatherRepository(repo, needsCreated(target.policy), { ...session, limit, describer, workers: session.concurrency, onTag: hooks.onTag }, listed);
      const plan = planRepository(inventory, target.policy, now);
      await addReferrers(session, plan, limit);
      session.logger.verbose(`${repo}: ${plural(inventory.tags?.length ?? 0, 'tag')}, ${plural(plan.keep.length, 'manifest')} kept, ${plan.delete.length} to delete (${target.source})`);
      hooks.onRepository?.(plan);
      return plan;
    } catch (error) {
      if (!(error instanceof CleanregError)) throw error;
      if (error instanceof RegistryError && error.kind === 'repository-missing') missing.push(error);
      else errors.push(error);
      session.logger.error(`${repo}: ${error.message}`);
      return undefined;
    }
  });
  await cache.flush();
  return { plans: plans.filter((p): p is RepoPlan => !!p), errors, missing };
}

/**
 * Runs `read` for each repository, a bounded number at a time. Each takes the session's request limit at its place
 * in the run, so the waiting requests of the repositories started first go first (see requestLimit).
 */
export function eachRepository<T, R>(session: Session, items: readonly T[], read: (item: T, limit: RequestLimit) => Promise<R>): Promise<R[]> {
  const repoLimit = pLimit(Math.max(2, session.concurrency));
  return Promise.all(items.map((item, order) => repoLimit(() => read(item, (task) => session.limit(task, order)))));
}
