import type { Argv } from 'yargs';
import { UsageError } from '../errors.js';
import { connectionOptions, runOptions } from '../cli/options.js';
import { requireConfirmationChannel } from '../run/confirm.js';
import { showAndApply } from '../run/execute.js';
import { parseRegistryUrl } from '../registry/client.js';
import { readPlanFile } from '../run/plan-file.js';
import { reverifyInPlace } from '../executor/reverify.js';
import { addPushedSince } from '../run/referrers.js';
import { eachRepository } from '../run/scan.js';
import { createLogger, openSession, type ConnectionArgs } from '../run/session.js';
import type { Io } from '../util/log.js';
import { redact } from '../util/redact.js';
import { plural } from '../report/format.js';

export function applyBuilder<T>(y: Argv<T>) {
  return runOptions(connectionOptions(y)).positional('file', { type: 'string', describe: 'A plan written by --plan-out', demandOption: true });
}

type ApplyArgs = ConnectionArgs & { file: string; dryRun?: boolean; yes?: boolean; quiet?: boolean; output: string; gcCommand?: string };

/**
 * Applies a saved plan. The executor re-verifies each repository first, so a plan applied an hour later is as safe
 * as a fresh one: moved tags and newly added tags keep their images, and referrers pushed since go with theirs.
 */
export async function runApply(args: ApplyArgs, io: Io): Promise<number> {
  const logger = createLogger(io, args.verbose);
  const plan = readPlanFile(args.file);
  requireConfirmationChannel(!!(args.dryRun || args.yes || args.quiet), io);
  const registry = args.registry ?? io.env.CLEANREG_REGISTRY ?? plan.registry;
  if (parseRegistryUrl(registry).href !== parseRegistryUrl(plan.registry).href) {
    throw new UsageError(`the plan ${args.file} is for ${plan.registry}, not ${registry}`, 'apply it to the registry it was made for (or leave out -r)');
  }
  logger.info(`Applying the plan made at ${plan.createdAt} for ${plan.registry}`);
  const session = await openSession({ ...args, registry }, io, logger);
  await session.client.ping();
  // Referrers pushed since the plan was made (a new signature of a doomed image), tagged or listed by the API, go
  // with their subject too. They are looked for at each repository's re-verification, with its tag list: in an
  // apply, after the question (the plan shown is the saved one; each one found is named).
  const beforeReverify = addPushedSince(session);
  const options = { dryRun: !!args.dryRun, yes: !!(args.yes || args.quiet), output: args.output as 'table' | 'json', gcCommand: args.gcCommand, now: new Date(), beforeReverify };
  if (!args.dryRun) return showAndApply(session, plan.plans, options, io);
  // A dry run shows what an apply would do now, not the plan as it was saved, and exits as it would: 1 when a
  // repository could not be re-verified (the apply would delete nothing there).
  const failures = await eachRepository(session, plan.plans, (repoPlan, limit) => reverifyInPlace(repoPlan, { ...session, limit, beforeReverify }));
  const errors = plan.plans.flatMap((p, i) => (failures[i] ? [{ repository: p.name, error: redact(failures[i].message) }] : []));
  const code = await showAndApply(session, plan.plans, { ...options, errors }, io);
  if (!errors.length) return code;
  logger.error(`${plural(errors.length, 'repository', 'repositories')} could not be re-verified: an apply would delete nothing there`);
  return Math.max(code, 1);
}

