import { readFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import { newTable } from '../report/cli-table.js';
import { STRING_OPTION, connectionOptions } from '../cli/options.js';
import { CleanregError, RegistryError, UsageError } from '../errors.js';
import { applyPlans, haltReason, reportHalt, type Halt, type RepoOutcome } from '../executor/apply.js';
import { untag } from '../executor/untag.js';
import { parseReference, parseReferenceFile, type ImageRef } from '../references.js';
import { plural, shortDigest } from '../report/format.js';
import { confirmDeletion, requireConfirmationChannel } from '../run/confirm.js';
import { planNamedDeletion, type NamedDeletion, type Step } from '../run/named-plan.js';
import { eachRepository } from '../run/scan.js';
import { interruptible } from '../run/interrupt.js';
import { checkConnectionArgs, createLogger, openSession, type ConnectionArgs, type Session } from '../run/session.js';
import { redact } from '../util/redact.js';
import type { Io, Logger } from '../util/log.js';

export function deleteBuilder<T>(y: Argv<T>) {
  return connectionOptions(y)
    .positional('refs', { type: 'string', array: true, describe: 'References: repo:tag, repo@sha256:…, optionally host/ first' })
    .option('from-file', { ...STRING_OPTION, describe: 'File of references, one a line (# comments allowed)' })
    .option('only-named', { type: 'boolean', describe: 'Leave the signatures, referrers and untagged platform manifests of what is deleted' })
    .option('dry-run', { type: 'boolean', describe: 'Show what would be deleted' })
    .option('yes', { alias: 'y', type: 'boolean', describe: 'Delete without asking' })
    .option('output', { alias: 'o', ...STRING_OPTION, choices: ['table', 'json'], default: 'table', describe: 'Output format on stdout' });
}

type DeleteArgs = ConnectionArgs & { refs?: string[]; fromFile?: string; onlyNamed?: boolean; dryRun?: boolean; yes?: boolean; output: string };

/**
 * `cleanreg delete`: the named tags (or digests), never a sibling tag that was not named, and what cannot live
 * without the manifests deleted (see planNamedDeletion).
 */
export async function runDelete(args: DeleteArgs, io: Io): Promise<number> {
  const logger = createLogger(io, args.verbose);
  const host = checkConnectionArgs(args, io.env).host;
  const refs = (args.refs ?? []).map((r, i) => parseReference(r, host, { word: i + 1 }));
  if (args.fromFile) {
    let text: string;
    try {
      text = readFileSync(args.fromFile, 'utf8');
    } catch (error) {
      throw new UsageError(`cannot read ${args.fromFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    refs.push(...parseReferenceFile(text, args.fromFile, host));
  }
  if (!refs.length) throw new UsageError('name what to delete: cleanreg delete repo:tag ... or --from-file FILE');
  requireConfirmationChannel(!!(args.dryRun || args.yes), io);

  const session = await openSession(args, io, logger);
  await session.client.ping();
  const byRepo = new Map<string, ImageRef[]>();
  for (const ref of uniqueRefs(refs, logger)) byRepo.set(ref.repo, [...(byRepo.get(ref.repo) ?? []), ref]);
  const deletions = await eachRepository(session, [...byRepo], ([repo, repoRefs], limit) => planNamedDeletion(session, repo, repoRefs, limit, !!args.onlyNamed));
  const steps = deletions.flatMap((d) => d.steps);
  for (const step of steps) if (step.action === 'missing' || step.action === 'refused') step.status = step.action;
  const named = steps.filter((s) => !s.follows);
  const actionable = named.filter((s) => s.action === 'delete-manifest' || s.action === 'untag');
  const toDelete = manifests(steps.filter((s) => s.action === 'delete-manifest'));
  const toUntag = steps.filter((s) => s.action === 'untag').length;
  const along = steps.length - named.length;

  let interrupted: number | undefined;
  if (!args.dryRun && actionable.length) {
    // Asked on a terminal: what will happen is shown first, and then what happened.
    if (!args.yes && args.output === 'table') await writeTable(io, steps, `Would delete ${plural(toDelete, 'manifest')}${alongText(along, 'would go')}, untag ${toUntag}.`);
    await confirmDeletion(`Delete ${plural(toDelete, 'manifest')}${along ? ` (${along} along with what is named)` : ''} and untag ${toUntag} in ${session.registry}?`, !!args.yes, io);
    const byRepo = new Map(deletions.map((d) => [d.plan.name, d]));
    const pending = deletions.filter((d) => d.steps.some((s) => s.action === 'delete-manifest' || s.action === 'untag'));
    const applied = await interruptible(session.logger, (halt) => applyPlans(pending.map((d) => d.plan), session, (plan, stop) => untagAll(byRepo.get(plan.name)!, session, stop), halt));
    const { outcomes, halt } = applied.result;
    interrupted = applied.exitCode;
    for (const outcome of outcomes) record(byRepo.get(outcome.name)!, outcome);
    reportHalt(halt, session.logger, steps.some((s) => s.status === 'not-attempted' && s.error === halt.stopped));
  }

  const status = (s: Step['status']) => steps.filter((x) => x.status === s).length;
  const deleted = steps.filter((s) => s.status === 'deleted');
  const summary = {
    references: named.length,
    alongside: along,
    toDelete,
    toUntag,
    // Manifests: two references to one manifest delete it once.
    deleted: manifests(deleted),
    untagged: status('untagged'),
    missing: status('missing'),
    refused: status('refused'),
    kept: status('kept'),
    notAttempted: status('not-attempted'),
    failed: status('failed'),
  };
  if (args.output === 'json') {
    const doc = {
      registry: session.registry,
      dryRun: !!args.dryRun,
      references: steps.map((s) => ({
        reference: s.ref.text,
        repository: s.ref.repo,
        tag: s.ref.tag ?? null,
        digest: s.digest ?? null,
        action: s.action,
        follows: s.follows ?? null,
        status: s.status ?? 'planned',
        detail: s.error ?? s.detail,
      })),
      summary,
    };
    io.stdout.write(JSON.stringify(doc, null, 2) + '\n');
  } else {
    const more = [summary.refused && `${summary.refused} refused`, summary.kept && `${summary.kept} kept`, summary.notAttempted && `${summary.notAttempted} not attempted`].filter(Boolean).map((x) => `${x}, `).join('');
    const wentAlong = manifests(deleted.filter((s) => s.follows));
    const line = args.dryRun
      ? `Would delete ${plural(toDelete, 'manifest')}${alongText(along, 'would go')}, untag ${toUntag}; ${summary.missing} not found${summary.refused ? `, ${summary.refused} refused` : ''} (dry run: nothing changed).`
      : `${summary.deleted} deleted${wentAlong ? ` (${wentAlong} of them along with what was named)` : ''}, ${summary.untagged} untagged, ${summary.missing} not found, ${more}${summary.failed} failed.`;
    await writeTable(io, steps, line, args.dryRun ? 'dry run' : '-');
  }
  // Done only when every named reference is (a dry run: when each can be); what goes along may be kept.
  const undone = named.some((s) => (args.dryRun ? s.status : s.status !== 'deleted' && s.status !== 'untagged'));
  return interrupted ?? (undone || summary.failed || summary.notAttempted ? 1 : 0);
}

/** Each reference once: a reference named twice would otherwise be untagged, then found missing. */
function uniqueRefs(refs: ImageRef[], logger: Logger): ImageRef[] {
  const seen = new Set<string>();
  return refs.filter((ref) => {
    const key = `${ref.repo}${ref.tag ? `:${ref.tag}` : `@${ref.digest}`}`;
    if (seen.has(key)) logger.verbose(`${key} is named more than once; it counts once`);
    return !seen.has(key) && !!seen.add(key);
  });
}

/** Distinct manifests among the steps. */
function manifests(steps: Step[]): number {
  return new Set(steps.map((s) => `${s.ref.repo}@${s.digest}`)).size;
}

function alongText(along: number, verb: string): string {
  return along ? ` (${along} of them ${verb} along with what is named: signatures, referrers, platform manifests)` : '';
}

async function writeTable(io: Io, steps: Step[], line: string, pending = 'planned'): Promise<void> {
  const table = await newTable({ head: ['reference', 'digest', 'action', 'status', 'detail'], style: { head: [], border: [] } });
  for (const s of steps) table.push([s.ref.text, s.digest ? shortDigest(s.digest) : '-', s.action, s.status ?? pending, s.error ?? s.detail]);
  io.stdout.write(`${table.toString()}\n${line}\n`);
}

/**
 * The untags of one repository, one at a time and before its DELETEs (distribution answers 500 to a manifest DELETE
 * while a tag link is being rewritten). After a 405 none is tried (checked again once a place in the limit is
 * given): an untag would point the tag at a throwaway manifest it cannot delete.
 */
async function untagAll(deletion: NamedDeletion, session: Session, halt: Halt): Promise<void> {
  for (const step of deletion.steps.filter((s) => s.action === 'untag')) {
    try {
      const done = await session.limit(async () => (haltReason(halt) ? undefined : untag(session.client, step.ref.repo, step.ref.tag!, step.digest!)));
      step.status = done ?? 'not-attempted';
      if (!done) step.error = redact(haltReason(halt)!);
    } catch (error) {
      if (error instanceof RegistryError && error.kind === 'delete-disabled') halt.error ??= error;
      fail(step, error, session);
    }
  }
}

/** What the plan's DELETEs did, on the rows of their manifests. */
function record(deletion: NamedDeletion, outcome: RepoOutcome): void {
  const byDigest = new Map(outcome.outcomes.map((o) => [o.digest, o]));
  for (const step of deletion.steps.filter((s) => s.action === 'delete-manifest')) {
    const o = byDigest.get(step.digest!);
    if (!o) continue;
    step.status = o.status === 'gone' ? 'deleted' : o.status;
    if (o.status === 'gone') step.detail = `${step.detail} (already gone)`;
    else if (o.detail) step.error = o.detail;
  }
}

function fail(step: Step, error: unknown, session: Session): void {
  if (!(error instanceof CleanregError)) throw error;
  step.status = 'failed';
  step.error = redact(error.message);
  session.logger.error(`${step.ref.text}: ${error.message}${error.hint ? ` (${error.hint})` : ''}`);
}
