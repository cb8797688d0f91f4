import { createColors } from 'picocolors';
import { applyPlans, reportHalt, type Outcome } from '../executor/apply.js';
import type { BeforeReverify } from '../executor/reverify.js';
import type { RepoPlan } from '../planner/types.js';
import { plural } from '../report/format.js';
import { writePlanDocument, type RepositoryError } from '../report/json.js';
import { applySummaryLine, planSummaryLine, summarizeOutcomes, summarizePlan, withThem } from '../report/summary.js';
import { renderPlanTable } from '../report/table.js';
import type { Io } from '../util/log.js';
import { confirmDeletion } from './confirm.js';
import { interruptible } from './interrupt.js';
import { runGcCommand } from './gc.js';
import type { Session } from './session.js';

export interface ExecuteOptions {
  dryRun: boolean;
  yes: boolean;
  output: 'table' | 'json';
  gcCommand?: string;
  now: Date;
  /** Repositories of the configuration left out of the plans (not on the registry), for the JSON document. */
  errors?: RepositoryError[];
  /** A saved plan's look for what was pushed since, in each repository right before it is re-verified. */
  beforeReverify?: BeforeReverify;
}

const OUTCOME_LABEL: Record<Outcome['status'], string> = { deleted: 'deleted', gone: 'already gone', kept: 'kept', failed: 'failed', 'not-attempted': 'not attempted' };

/**
 * Shows the plan, asks, applies it repository by repository, and reports. Returns the exit code:
 * 0 when done (also when there was nothing to delete), 1 when any deletion failed or was not attempted, or the gc
 * command failed.
 */
export async function showAndApply(session: Session, plans: RepoPlan[], opts: ExecuteOptions, io: Io): Promise<number> {
  const color = opts.output === 'table' && !!(io.stdout as { isTTY?: boolean }).isTTY && !io.env.NO_COLOR;
  const summary = summarizePlan(plans);
  const toDelete = summary.manifestsToDelete > 0;
  const table = opts.output === 'table';
  if (table) {
    for (const plan of plans) io.stdout.write(await renderPlanTable(plan, opts.now, color));
    io.stdout.write(planSummaryLine(summary, opts.dryRun) + '\n');
  }

  if (opts.dryRun || !toDelete) {
    if (!table) writePlanDocument(io.stdout, session.registry, plans, undefined, opts.dryRun, opts.errors);
    else if (!toDelete) io.stdout.write('Nothing to delete.\n');
    reportEmpty(session, plans.filter((p) => p.empty).map((p) => p.name));
    return 0;
  }

  if (!table && !opts.yes) {
    // Asked at a terminal: the plan is shown where the question is; stdout keeps its one JSON document.
    for (const plan of plans) io.stderr.write(await renderPlanTable(plan, opts.now, false));
    io.stderr.write(planSummaryLine(summary, false) + '\n');
  }
  await confirmDeletion(`Delete ${plural(summary.imagesToDelete, 'image')} (${plural(summary.tagsToDelete, 'tag')})${withThem(summary.manifestsToDelete - summary.imagesToDelete)} from ${session.registry}?`, opts.yes, io);

  const { result: applied, exitCode: interrupted } = await interruptible(session.logger, (halt) => applyPlans(plans, { ...session, beforeReverify: opts.beforeReverify }, undefined, halt));
  const { outcomes, halt } = applied;
  const result = summarizeOutcomes(outcomes, plans);
  if (table) {
    const c = createColors(color); // not picocolors' default, which colours any output when CI is set
    for (const outcome of outcomes) {
      const changed = outcome.outcomes.filter((o) => o.status !== 'deleted');
      for (const o of changed) {
        const label = o.status === 'failed' ? c.red(OUTCOME_LABEL.failed) : OUTCOME_LABEL[o.status];
        io.stdout.write(`${outcome.name}: ${o.tags.join(', ') || o.digest}: ${label}${o.detail ? ` (${o.detail})` : ''}\n`);
      }
    }
    io.stdout.write(applySummaryLine(result) + '\n');
  }

  reportHalt(halt, session.logger, outcomes.some((o) => o.outcomes.some((x) => x.status === 'not-attempted' && x.detail === halt.stopped)));
  // A repository whose re-verification failed is named under `errors`, as in `apply FILE --dry-run`.
  const errors = [...(opts.errors ?? []), ...outcomes.flatMap((o) => (o.error ? [{ repository: o.name, error: o.error }] : []))];
  // Written before the garbage collection, which may run for hours: what was deleted is on record whatever becomes
  // of it (its exit code is the run's).
  if (!table) writePlanDocument(io.stdout, session.registry, plans, outcomes, false, errors);
  const gcFailed = result.deleted > 0 && (await collectGarbage(opts.gcCommand, interrupted !== undefined, io, session)) !== 0;
  reportEmpty(session, result.emptiedRepositories);
  const failed = result.failed > 0 || result.notAttempted > 0 || gcFailed;
  return interrupted ?? (failed ? 1 : 0);
}

/** The --gc-command after deletions (not after an interruption), or where to read how space is freed; its exit code. */
async function collectGarbage(command: string | undefined, interrupted: boolean, io: Io, session: Session): Promise<number> {
  if (!command) {
    session.logger.info('Space is freed by the registry garbage collection: see "Garbage collection" in the README (e.g. docker-registry garbage-collect /etc/docker/registry/config.yml, registry stopped or read-only).');
    return 0;
  }
  if (interrupted) {
    session.logger.warn('--gc-command not run: the run was interrupted');
    return 0;
  }
  return runGcCommand(command, io, session.logger);
}

function reportEmpty(session: Session, names: string[]): void {
  if (!names.length) return;
  session.logger.info(
    `Repositories without tags (still listed in the catalog): ${names.join(', ')}. ` +
      'To drop them, stop the registry (or make it read-only) and run: cleanreg prune-empty --data-dir <storage root> --dry-run, then without --dry-run.',
  );
}
