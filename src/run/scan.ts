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
  /** The repositories selected so far: called again for each one as catalog pages come. */
  onRepositories?: (count: number) => void;
  onTag?: () => void;
  onRepository?: (plan: RepoPlan) => void;
}

export interface ScanResult {
  plans: RepoPlan[];
  /** Repositories that could not be read (auth, server, network): nothing should be deleted. */
  errors: { repository: string; error: CleanregError }[];
  /** Repositories named in the configuration that the registry does not have. */
  missing: { repository: string; error: CleanregError }[];
}

/** A repository to read, with the first target that selects it; `listed` when the catalog has it. */
export interface Selected {
  repo: string;
  target: Target;
  listed?: boolean;
}

/**
 * The repositories to clean, each with the first target that selects it, page by page: with globs, the catalog's
 * repositories come as its pages do, so reading them starts with the first page rather than after the last (a
 * catalog of thousands is tens of pages, one after the other). What needs every page (names that are not in it,
 * globs that matched nothing, lines that never win) comes at the end.
 */
export async function* selectRepositories(session: Session, targets: Target[]): AsyncGenerator<Selected> {
  if (!targets.some((t) => isGlob(t.pattern))) {
    warnShadowed(session, targets);
    yield* matchTargets(new Set(targets.map((t) => t.pattern)), targets);
    return;
  }
  // A name listed on two pages (a registry that pages carelessly) is one repository, planned once.
  const listed = new Set<string>();
  const used = new Set<Target>();
  for await (const page of session.client.catalog()) {
    const fresh = page.filter((name) => !listed.has(name) && !!listed.add(name));
    for (const selected of matchTargets(fresh, targets)) {
      used.add(selected.target);
      yield { ...selected, listed: true };
    }
  }
  const shadowed = warnShadowed(session, targets, [...listed]);
  for (const t of targets.filter((t) => isGlob(t.pattern) && !used.has(t) && !shadowed.has(t))) session.logger.warn(`${t.source}: "${t.pattern}" matches no repository in the catalog`);
  // Exact names missing from the catalog are still tried, so that a typo is reported, not silently skipped.
  for (const t of targets) if (!isGlob(t.pattern) && !listed.has(t.pattern)) yield { repo: t.pattern, target: t };
}

/** First matching line wins: a line that never can is almost always a mistake in the configuration. */
function warnShadowed(session: Session, targets: Target[], catalog?: readonly string[]): Set<Target> {
  const shadowed = shadowedTargets(targets, catalog);
  for (const { target, by } of shadowed) {
    const named = by.slice(0, 3).map((t) => `${t.source} ("${t.pattern}")`);
    const winners = by.length > 3 ? `${named.join(', ')} and ${by.length - 3} more` : named.join(', ');
    session.logger.warn(`${target.source}: "${target.pattern}" never applies: ${winners} ${by.length > 1 ? 'select' : 'selects'} ${isGlob(target.pattern) ? 'every repository it matches' : 'it'} first (the first matching line wins)`);
  }
  return new Set(shadowed.map((s) => s.target));
}

/**
 * Scans and plans each repository as soon as it is read, a bounded number at a time, so memory follows the
 * largest repository rather than the registry. A failing repository is reported and the others go on.
 */
export async function scanAndPlan(session: Session, targets: Target[], cache: MetadataCache, now: Date, hooks: ScanHooks = {}, inShard?: (repo: string) => boolean): Promise<ScanResult> {
  let count = 0;
  const selected = async function* () {
    for await (const item of selectRepositories(session, targets)) {
      if (inShard && !inShard(item.repo)) continue;
      hooks.onRepositories?.(++count);
      yield item;
    }
  };
  const describer = new ManifestDescriber(session.client, cache, session.logger);
  const errors: ScanResult['errors'] = [];
  const missing: ScanResult['missing'] = [];
  const planOne = async ({ repo, target, listed }: Selected, limit: RequestLimit): Promise<RepoPlan | undefined> => {
    try {
      const inventory = await gatherRepository(repo, needsCreated(target.policy), { ...session, limit, describer, workers: session.concurrency, onTag: hooks.onTag }, listed);
      const plan = planRepository(inventory, target.policy, now);
      await addReferrers(session, plan, limit);
      session.logger.verbose(`${repo}: ${plural(inventory.tags?.length ?? 0, 'tag')}, ${plural(plan.keep.length, 'manifest')} kept, ${plan.delete.length} to delete (${target.source})`);
      hooks.onRepository?.(plan);
      return plan;
    } catch (error) {
      if (!(error instanceof CleanregError)) throw error;
      if (error instanceof RegistryError && error.kind === 'repository-missing') missing.push({ repository: repo, error });
      else errors.push({ repository: repo, error });
      session.logger.error(`${repo}: ${error.message}`);
      return undefined;
    }
  };
  let plans: (RepoPlan | undefined)[];
  try {
    plans = await eachRepository(session, selected(), planOne);
  } finally {
    // What was learnt is kept even when the catalog failed part-way.
    await cache.flush();
  }
  return { plans: plans.filter((p): p is RepoPlan => !!p), errors, missing };
}

/**
 * Runs `read` for each repository, a bounded number at a time, starting each as it comes. Each takes the session's
 * request limit at its place in the run, so the waiting requests of the repositories started first go first (see
 * requestLimit). The results are in the order the repositories came.
 */
export async function eachRepository<T, R>(session: Session, items: Iterable<T> | AsyncIterable<T>, read: (item: T, limit: RequestLimit) => Promise<R>): Promise<R[]> {
  const repoLimit = pLimit(Math.max(2, session.concurrency));
  const started: Promise<R>[] = [];
  let cancelled = false;
  try {
    for await (const item of items) {
      const order = started.length;
      const result = repoLimit(() => (cancelled ? Promise.resolve(undefined as R) : read(item, (task) => session.limit(task, order))));
      // Handled below, once every item has come; until then a failure must not count as unhandled.
      result.catch(() => undefined);
      started.push(result);
    }
  } catch (error) {
    // The items stopped coming (a catalog page failed): what is being read ends before the error is reported; what
    // still waits for its turn is not read at all.
    cancelled = true;
    await Promise.allSettled(started);
    throw error;
  }
  return Promise.all(started);
}
