import type { Argv } from 'yargs';
import { plural } from '../report/format.js';
import { redact } from '../util/redact.js';
import { writePlanDocument } from '../report/json.js';
import { readReposFile } from '../config/repos-file.js';
import { buildPolicy, parseKeep, RuleError, type RuleInput } from '../config/rules.js';
import { checkRepositoryPattern, type Target } from '../config/targets.js';
import { UsageError } from '../errors.js';
import { openCache } from '../inventory/disk-cache.js';
import { STRING_OPTION, connectionOptions, ruleOptions, runOptions } from '../cli/options.js';
import { requireConfirmationChannel } from '../run/confirm.js';
import { showAndApply } from '../run/execute.js';
import { checkWritable, writePlanFile } from '../run/plan-file.js';
import { startProgress } from '../run/progress.js';
import { scanAndPlan } from '../run/scan.js';
import { checkConnectionArgs, createLogger, openSession, type ConnectionArgs } from '../run/session.js';
import { shardOf } from '../run/shard.js';
import type { Io } from '../util/log.js';

export function cleanBuilder<T>(y: Argv<T>) {
  return runOptions(ruleOptions(connectionOptions(y)))
    .option('reponame', { alias: 'n', ...STRING_OPTION, describe: 'Repository (or glob: team/*, **) to clean; with -k', group: 'Selection:' })
    // A string, read by the rule that reads a repos file's number: `-k 3.0` and `-k +3` are refused there too.
    .option('keepimages', { alias: 'k', ...STRING_OPTION, describe: 'Images (not tags!) to keep per repository; with -n', group: 'Selection:' })
    .option('reposfile', { alias: 'f', ...STRING_OPTION, describe: 'File of "<repository|glob> <keep> [key=value ...]" lines', group: 'Selection:' })
    .option('plan-out', { ...STRING_OPTION, describe: 'Write the plan as JSON to FILE (apply it later with `cleanreg apply FILE`)' })
    .option('shard', { ...STRING_OPTION, describe: 'I/N: take a stable share of the selected repositories (N parallel jobs)' })
    .option('cache-dir', { ...STRING_OPTION, describe: 'Digest cache folder (default $XDG_CACHE_HOME/cleanreg or ~/.cache/cleanreg)' })
    .option('cache', { type: 'boolean', default: true, describe: 'Use the on-disk digest cache (--no-cache to turn off)' });
}

type CleanArgs = ConnectionArgs &
  RuleInput & {
    reponame?: string;
    keepimages?: string;
    reposfile?: string;
    dryRun?: boolean;
    yes?: boolean;
    quiet?: boolean;
    output: string;
    gcCommand?: string;
    planOut?: string;
    shard?: string;
    cacheDir?: string;
    cache: boolean;
  };

/** -n/-k or -f into targets; every mistake is a usage error before any request. */
export function targetsFromArgs(args: CleanArgs): Target[] {
  const rules: RuleInput = {
    include: args.include,
    exclude: args.exclude,
    before: args.before,
    after: args.after,
    olderThan: args.olderThan,
    newerThan: args.newerThan,
    order: args.order,
    ignoreRefTags: args.ignoreRefTags,
  };
  if (args.reposfile !== undefined) {
    if (args.reponame !== undefined || args.keepimages !== undefined) throw new UsageError('-f/--reposfile does not go with -n/-k: the file names the repositories and what to keep');
    const flagRules = Object.entries(rules).filter(([k, v]) => v !== undefined && k !== 'ignoreRefTags');
    if (flagRules.length) throw new UsageError(`--${flagRules[0][0].replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())} goes with -n; in a repos file, write it on the line (key=value)`);
    return readReposFile(args.reposfile, { ignoreRefTags: args.ignoreRefTags });
  }
  if (args.reponame === undefined) throw new UsageError('say what to clean: -n REPOSITORY -k N, or -f REPOSFILE');
  if (args.keepimages === undefined) throw new UsageError('-n needs -k/--keepimages (how many images to keep; 0 is allowed)');
  const problem = checkRepositoryPattern(args.reponame);
  if (problem) throw new UsageError(problem);
  try {
    return [{ pattern: args.reponame, policy: buildPolicy(parseKeep(args.keepimages.trim()), rules), source: '-n' }];
  } catch (error) {
    if (error instanceof RuleError) throw new UsageError(`--${error.key === 'keep' ? 'keepimages' : error.key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}: ${error.message}`);
    throw error;
  }
}

export async function runClean(args: CleanArgs, io: Io): Promise<number> {
  const logger = createLogger(io, args.verbose);
  if (args.quiet) logger.warn('-q/--quiet is deprecated: it means --yes (delete without asking); use -y/--yes');
  checkConnectionArgs(args, io.env);
  const targets = targetsFromArgs(args);
  if (args.planOut) checkWritable(args.planOut);
  requireConfirmationChannel(!!(args.dryRun || args.yes || args.quiet), io);
  const shard = args.shard ? shardOf(args.shard) : undefined;
  const now = new Date();
  const session = await openSession(args, io, logger);
  await session.client.ping();
  const cache = await openCache({ enabled: args.cache, dir: args.cacheDir, env: io.env, logger });
  const progress = await startProgress(io, logger, () => session.client);
  let result;
  try {
    result = await scanAndPlan(session, targets, cache, now, progress.hooks, shard);
  } finally {
    progress.stop();
  }
  const hints = new Set([...result.errors, ...result.missing].map((e) => e.error.hint).filter(Boolean));
  const errors = [...result.errors, ...result.missing].map((e) => ({ repository: e.repository, error: redact(e.error.message) }));
  if (result.errors.length || (result.missing.length && !result.plans.length)) {
    // Nothing is planned then; a JSON reader still gets its document, with what went wrong.
    if (args.output === 'json') writePlanDocument(io.stdout, session.registry, [], undefined, !!args.dryRun, errors);
    const problems = [
      result.errors.length ? `${plural(result.errors.length, 'repository', 'repositories')} could not be read` : '',
      result.missing.length ? `${plural(result.missing.length, 'repository', 'repositories')} ${result.missing.length === 1 ? 'is' : 'are'} not on the registry` : '',
    ].filter(Boolean);
    logger.error(`${problems.join(', ')}; nothing was deleted`);
    for (const hint of hints) logger.info(`hint: ${hint}`);
    return 1;
  }
  // A repository named in the file but gone from the registry must not stop the cleaning of the others.
  if (result.missing.length) logger.warn(`${plural(result.missing.length, 'named repository', 'named repositories')} ${result.missing.length === 1 ? 'is' : 'are'} not on the registry; the others are cleaned (exit code 1 at the end)`);
  if (args.planOut) writePlanFile(args.planOut, session.registry, result.plans, now);
  const code = await showAndApply(session, result.plans, { dryRun: !!args.dryRun, yes: !!(args.yes || args.quiet), output: args.output as 'table' | 'json', gcCommand: args.gcCommand, now, errors }, io);
  // An interruption's code (130, 143) says more than a missing repository's 1.
  return code < 128 && result.missing.length ? 1 : code;
}
