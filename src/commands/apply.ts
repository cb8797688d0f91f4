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
  // with their subject too. They are looked for right before each repository's re-verification, with its tag list:
  // in an apply, after the question (the plan shown is the saved one; the report has what was found).
  const beforeReverify = addPushedSince(session);
  // A dry run shows what an apply would do now, not the plan as it was saved.
  if (args.dryRun) await eachRepository(session, plan.plans, (repoPlan, limit) => reverifyInPlace(repoPlan, { ...session, limit, beforeReverify }));
  return showAndApply(session, plan.plans, { dryRun: !!args.dryRun, yes: !!(args.yes || args.quiet), output: args.output as 'table' | 'json', gcCommand: args.gcCommand, now: new Date(), beforeReverify }, io);
}

