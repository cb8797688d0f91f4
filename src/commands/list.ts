import type { Argv } from 'yargs';
import { newTable } from '../report/cli-table.js';
import { STRING_OPTION, connectionOptions } from '../cli/options.js';
import { checkRepositoryPattern, type Target } from '../config/targets.js';
import { CleanregError, UsageError } from '../errors.js';
import { redact } from '../util/redact.js';
import { openCache } from '../inventory/disk-cache.js';
import { ManifestDescriber } from '../inventory/describe.js';
import { gatherRepository } from '../inventory/gather.js';
import type { RepoInventory } from '../planner/types.js';
import { formatBytes, formatCreated, plural, shortDigest } from '../report/format.js';
import { eachRepository, selectRepositories } from '../run/scan.js';
import { isArtifact } from '../planner/plan.js';
import { shortTag } from '../report/table.js';
import { createLogger, openSession, type ConnectionArgs } from '../run/session.js';
import type { Io } from '../util/log.js';

export function listBuilder<T>(y: Argv<T>) {
  return connectionOptions(y)
    .option('reponame', { alias: 'n', ...STRING_OPTION, describe: 'Repository or glob (default: every repository in the catalog)' })
    .option('output', { alias: 'o', ...STRING_OPTION, choices: ['table', 'json'], default: 'table', describe: 'Output format on stdout' })
    .option('cache-dir', { ...STRING_OPTION, describe: 'Digest cache folder' })
    .option('cache', { type: 'boolean', default: true, describe: 'Use the on-disk digest cache' });
}

type ListArgs = ConnectionArgs & { reponame?: string; output: string; cacheDir?: string; cache: boolean };

/** Shared blobs of an index's children counted once; an index's size is its children's. */
function repositorySize(inventory: RepoInventory): number | null {
  const blobs = new Map<string, number>();
  for (const image of inventory.images) {
    if (!image.blobs) return null;
    for (const b of image.blobs) {
      if (b.size === undefined) return null; // Docker schema 1 lists no sizes
      blobs.set(b.digest, b.size);
    }
  }
  return [...blobs.values()].reduce((a, b) => a + b, 0);
}

/** `cleanreg list`: repositories, tags, digest, type, created and size; empty repositories flagged. */
export async function runList(args: ListArgs, io: Io): Promise<number> {
  const logger = createLogger(io, args.verbose);
  const pattern = args.reponame ?? '**';
  const problem = checkRepositoryPattern(pattern);
  if (problem) throw new UsageError(problem);
  const session = await openSession(args, io, logger);
  await session.client.ping();
  const cache = await openCache({ enabled: args.cache, dir: args.cacheDir, env: io.env, logger });
  const target: Target = { pattern, policy: { keep: 0, ignoreRefTags: false, order: 'created' }, source: '-n' };
  const describer = new ManifestDescriber(session.client, cache, session.logger);
  const errors: { repository: string; error: string }[] = [];
  const hints = new Set<string>();
  const inventories = await eachRepository(session, selectRepositories(session, [target]), async ({ repo, listed }, limit) => {
    try {
      return await gatherRepository(repo, true, { ...session, limit, describer, workers: session.concurrency }, listed);
    } catch (error) {
      if (!(error instanceof CleanregError)) throw error;
      errors.push({ repository: repo, error: redact(error.message) });
      if (error.hint) hints.add(error.hint);
      logger.error(`${repo}: ${error.message}`);
      return undefined;
    }
  });
  await cache.flush();
  for (const hint of hints) logger.info(`hint: ${hint}`);
  const listed = inventories.filter((i): i is RepoInventory => !!i).sort((a, b) => a.name.localeCompare(b.name));

  if (args.output === 'json') {
    const doc = {
      registry: session.registry,
      repositories: listed.map((inv) => ({
        name: inv.name,
        tags: inv.tags,
        empty: !inv.tags?.length,
        size: repositorySize(inv),
        images: inv.images.map((i) => ({ digest: i.digest, tags: i.tags, type: isArtifact(i) ? 'artifact' : i.kind, mediaType: i.mediaType, created: i.created, size: i.size ?? null, ...(i.subject ? { subject: i.subject } : {}) })),
      })),
      errors: errors.sort((a, b) => a.repository.localeCompare(b.repository)),
    };
    io.stdout.write(JSON.stringify(doc, null, 2) + '\n');
  } else {
    const table = await newTable({ head: ['repository', 'tags', 'digest', 'type', 'created', 'size'], style: { head: [], border: [] } });
    for (const inv of listed) {
      if (!inv.images.length) {
        table.push([inv.name, '(no tags: empty repository)', '', '', '', '']);
        continue;
      }
      for (const image of inv.images.sort((a, b) => (b.created ?? '').localeCompare(a.created ?? ''))) {
        table.push([inv.name, image.tags.map(shortTag).join('\n'), shortDigest(image.digest), isArtifact(image) ? 'artifact' : image.kind, formatCreated(image.created), image.size !== undefined ? formatBytes(image.size) : '-']);
      }
    }
    io.stdout.write(table.toString() + '\n');
    const empty = listed.filter((i) => !i.images.length).length;
    // Signatures, attestations and other artifacts are counted apart: they are not images (the plan says so too).
    const images = listed.reduce((n, inv) => n + inv.images.length, 0);
    const artifacts = listed.reduce((n, inv) => n + inv.images.filter(isArtifact).length, 0);
    const total = listed.map(repositorySize).reduce<number | null>((a, b) => (a === null || b === null ? null : a + b), 0);
    io.stdout.write(`${plural(listed.length, 'repository', 'repositories')}, ${plural(images - artifacts, 'image')}${artifacts ? ` (and ${plural(artifacts, 'artifact')})` : ''}, ${plural(listed.reduce((n, i) => n + (i.tags?.length ?? 0), 0), 'tag')}${empty ? `, ${empty} empty` : ''}${total !== null ? `, ${formatBytes(total)} in blobs (shared blobs once per repository)` : ''}.\n`);
  }
  return errors.length ? 1 : 0;
}
