import { existsSync, readdirSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Argv } from 'yargs';
import { STRING_OPTION } from '../cli/options.js';
import { CleanregError, UsageError } from '../errors.js';
import { plural } from '../report/format.js';
import { confirmDeletion, requireConfirmationChannel } from '../run/confirm.js';
import { createLogger } from '../run/session.js';
import type { Io } from '../util/log.js';

export function pruneEmptyBuilder<T>(y: Argv<T>) {
  return y
    .option('data-dir', { ...STRING_OPTION, demandOption: true, describe: 'Storage root of a filesystem registry (rootdirectory, or its docker/registry/v2)' })
    .option('dry-run', { type: 'boolean', describe: 'Only list the repositories that would be removed' })
    .option('yes', { alias: 'y', type: 'boolean', describe: 'Remove without asking' })
    .option('verbose', { alias: 'v', type: 'count' });
}

type PruneArgs = { dataDir: string; dryRun?: boolean; yes?: boolean; verbose: number };

/** The `repositories` folder of a filesystem registry, from the root it was given. */
function repositoriesRoot(dataDir: string): string {
  for (const candidate of [join(dataDir, 'docker/registry/v2/repositories'), join(dataDir, 'v2/repositories'), join(dataDir, 'repositories')]) {
    if (existsSync(candidate) && statSync(candidate).isDirectory()) return candidate;
  }
  throw new UsageError(`${dataDir} does not look like a filesystem registry's storage: no docker/registry/v2/repositories in it`);
}

/** Repository folders (those with `_manifests`) under root, nested ones included. */
function findRepositories(root: string, dir = root, found: string[] = []): string[] {
  const entries = readdirSync(dir, { withFileTypes: true });
  if (entries.some((e) => e.name === '_manifests' && e.isDirectory())) found.push(dir);
  for (const e of entries) if (e.isDirectory() && !e.name.startsWith('_')) findRepositories(root, join(dir, e.name), found);
  return found;
}

/** A tag exists when `_manifests/tags/<tag>/current/link` does. */
function hasTags(repoDir: string): boolean {
  const tagsDir = join(repoDir, '_manifests', 'tags');
  if (!existsSync(tagsDir)) return false;
  return readdirSync(tagsDir).some((tag) => existsSync(join(tagsDir, tag, 'current', 'link')));
}

/** An untagged manifest (pushed or pulled by digest) has a revision link: the repository is not empty. */
function hasRevisions(repoDir: string): boolean {
  const root = join(repoDir, '_manifests', 'revisions');
  if (!existsSync(root)) return false;
  return readdirSync(root).some((alg) => readdirSync(join(root, alg)).some((hex) => existsSync(join(root, alg, hex, 'link'))));
}

const isEmpty = (dir: string) => !hasTags(dir) && !hasRevisions(dir);

/**
 * `cleanreg prune-empty`: removes, from a stopped (or read-only) filesystem registry, the repositories that have
 * no tag left, so they leave the catalog. Only their own `_manifests`, `_layers` and `_uploads` go: a nested
 * repository below one is untouched. Blobs are then freed by the registry's garbage collection.
 */
export async function runPruneEmpty(args: PruneArgs, io: Io): Promise<number> {
  try {
    return await pruneEmpty(args, io);
  } catch (error) {
    // Permissions and the like: name the path, not a stack trace.
    const e = error as NodeJS.ErrnoException;
    if (e.code && e.path) throw new CleanregError(`cannot change ${e.path}: ${e.code}`, 1, 'run as the user that owns the registry storage');
    throw error;
  }
}

async function pruneEmpty(args: PruneArgs, io: Io): Promise<number> {
  const logger = createLogger(io, args.verbose);
  const root = repositoriesRoot(args.dataDir);
  requireConfirmationChannel(!!(args.dryRun || args.yes), io);
  const repositories = findRepositories(root);
  const empty = repositories.filter(isEmpty);
  const untaggedOnly = repositories.filter((dir) => !hasTags(dir) && hasRevisions(dir)).map((d) => relative(root, d));
  if (untaggedOnly.length) logger.info(`Left alone (no tags, but manifests that are used by digest): ${untaggedOnly.join(', ')}`);
  logger.warn('the registry must be stopped or read-only while its storage is changed (storage.maintenance.readonly.enabled: true)');
  if (!empty.length) {
    io.stdout.write('No repository without tags.\n');
    return 0;
  }
  const names = empty.map((d) => relative(root, d));
  io.stdout.write(`${args.dryRun ? 'Would remove' : 'Removing'} ${plural(names.length, 'repository', 'repositories')} without tags:\n${names.map((n) => `  ${n}\n`).join('')}`);
  if (args.dryRun) return 0;
  await confirmDeletion(`Remove ${plural(names.length, 'empty repository', 'empty repositories')} from ${root}?`, !!args.yes, io);
  for (const dir of empty) {
    // Checked again right before: a tag or manifest pushed since the listing keeps the repository.
    if (!isEmpty(dir)) {
      logger.warn(`${relative(root, dir)} is not empty any more; left alone`);
      continue;
    }
    for (const part of ['_manifests', '_layers', '_uploads']) rmSync(join(dir, part), { recursive: true, force: true });
    for (let d = dir; d !== root && readdirSync(d).length === 0; d = join(d, '..')) rmdirSync(d);
  }
  io.stdout.write('Done. Run the registry garbage collection to free their blobs.\n');
  return 0;
}
