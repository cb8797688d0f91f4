import { readFileSync } from 'node:fs';
import pLimit, { type LimitFunction } from 'p-limit';
import type { Argv } from 'yargs';
import { newTable } from '../report/cli-table.js';
import { connectionOptions } from '../cli/options.js';
import { CleanregError, RegistryError, UsageError } from '../errors.js';
import { untag } from '../executor/untag.js';
import { parseReference, parseReferenceFile, type ImageRef } from '../references.js';
import { shortDigest } from '../report/format.js';
import { confirmDeletion, requireConfirmationChannel } from '../run/confirm.js';
import { checkConnectionArgs, createLogger, openSession, type ConnectionArgs, type Session } from '../run/session.js';
import { redact } from '../util/redact.js';
import { allSettledOrThrow } from '../util/settle.js';
import type { Io } from '../util/log.js';

export function deleteBuilder<T>(y: Argv<T>) {
  return connectionOptions(y)
    .positional('refs', { type: 'string', array: true, describe: 'References: repo:tag, repo@sha256:…, optionally host/ first' })
    .option('from-file', { type: 'string', describe: 'File of references, one a line (# comments allowed)' })
    .option('dry-run', { type: 'boolean', describe: 'Show what would be deleted' })
    .option('yes', { alias: 'y', type: 'boolean', describe: 'Delete without asking' })
    .option('output', { alias: 'o', type: 'string', choices: ['table', 'json'], default: 'table', describe: 'Output format on stdout' });
}

type DeleteArgs = ConnectionArgs & { refs?: string[]; fromFile?: string; dryRun?: boolean; yes?: boolean; output: string };

type Action = 'delete-manifest' | 'untag' | 'missing' | 'refused';

interface Step {
  ref: ImageRef;
  digest?: string;
  action: Action;
  /** Tags that go with a deleted manifest, or the siblings an untag leaves alone. */
  detail: string;
  status?: 'deleted' | 'untagged' | 'failed' | 'missing' | 'refused';
  error?: string;
}

/** What each reference means now: a whole manifest to delete, a single tag to remove, or nothing there. */
async function planReferences(session: Session, refs: ImageRef[]): Promise<Step[]> {
  const byRepo = new Map<string, ImageRef[]>();
  for (const ref of refs) byRepo.set(ref.repo, [...(byRepo.get(ref.repo) ?? []), ref]);
  const steps: Step[] = [];
  await allSettledOrThrow(
    [...byRepo].map(async ([repo, repoRefs]) => {
      let tags: string[];
      try {
        tags = (await session.limit(() => session.client.tags(repo))) ?? [];
      } catch (error) {
        if (!(error instanceof RegistryError && error.kind === 'repository-missing')) throw error;
        for (const ref of repoRefs) steps.push({ ref, action: 'missing', detail: `repository ${repo} not found` });
        return;
      }
      // Every tag is read: which other tags share a digest, or point at an index that needs it, decides
      // between deleting a manifest and removing one tag.
      const digestOf = new Map<string, string>();
      const neededBy = new Map<string, string[]>();
      await allSettledOrThrow(
        tags.map(async (tag) => {
          const manifest = await fetchOrNull(session, repo, tag);
          if (!manifest) return;
          digestOf.set(tag, manifest.digest);
          for (const child of manifest.json.manifests ?? []) neededBy.set(child.digest, [...(neededBy.get(child.digest) ?? []), tag]);
        }),
      );
      const tagsOf = (digest: string) => tags.filter((t) => digestOf.get(t) === digest).sort();
      const named = new Set(repoRefs.filter((r) => r.tag).map((r) => r.tag!));
      const wholeDigests = new Set(repoRefs.filter((r) => r.digest).map((r) => r.digest!));
      for (const ref of repoRefs) {
        const digest = ref.digest ?? digestOf.get(ref.tag!);
        if (ref.digest && !(await session.limit(() => session.client.resolve(repo, ref.digest!)))) {
          steps.push({ ref, action: 'missing', detail: 'no such manifest' });
          continue;
        }
        if (!digest) {
          steps.push({ ref, action: 'missing', detail: 'no such tag' });
          continue;
        }
        const all = tagsOf(digest);
        const others = all.filter((t) => !named.has(t));
        const indexes = (neededBy.get(digest) ?? []).filter((t) => !named.has(t));
        if (indexes.length) {
          // A platform image of a multi-arch tag that stays: its manifest must stay too.
          if (ref.digest) steps.push({ ref, digest, action: 'refused', detail: `a platform of ${indexes.join(', ')}, which stay${indexes.length === 1 ? 's' : ''}: delete the index first` });
          else steps.push({ ref, digest, action: 'untag', detail: `the image stays: a platform of ${indexes.join(', ')}` });
        } else if (ref.digest || wholeDigests.has(digest) || others.length === 0) {
          steps.push({ ref, digest, action: 'delete-manifest', detail: all.length ? `removes tags ${all.join(', ')}` : 'untagged manifest' });
        } else {
          steps.push({ ref, digest, action: 'untag', detail: `keeps ${others.join(', ')} on the same image` });
        }
      }
    }),
  );
  return steps;
}

/**
 * One DELETE for every reference that names the same manifest, after checking (once, before it) that each named
 * tag still points there: a tag moved since the question leaves the manifest alone.
 */
async function deleteManifestOnce(session: Session, steps: Step[]): Promise<void> {
  const { repo } = steps[0].ref;
  const digest = steps[0].digest!;
  for (const step of steps) {
    if (step.ref.tag && (await session.limit(() => session.client.resolve(repo, step.ref.tag!))) !== digest) {
      throw new RegistryError('protocol', `${step.ref.text} moved since it was read; ${repo}@${digest} left alone`);
    }
  }
  await session.limit(() => session.client.deleteManifest(repo, digest));
}

async function fetchOrNull(session: Session, repo: string, tag: string) {
  try {
    return await session.limit(() => session.client.getManifest(repo, tag));
  } catch (error) {
    if (error instanceof RegistryError && error.kind === 'not-found') return undefined;
    throw error;
  }
}

/** `cleanreg delete`: exactly the named tags (or digests), never a sibling tag that was not named. */
export async function runDelete(args: DeleteArgs, io: Io): Promise<number> {
  const logger = createLogger(io, args.verbose);
  const host = checkConnectionArgs(args, io.env).host;
  const refs = (args.refs ?? []).map((r) => parseReference(r, host));
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
  const steps = await planReferences(session, refs);
  const actionable = steps.filter((s) => s.action === 'delete-manifest' || s.action === 'untag');

  if (!args.dryRun && actionable.length) {
    await confirmDeletion(`Delete ${actionable.length} of ${steps.length} references from ${session.registry}?`, !!args.yes, io);
    // One DELETE per manifest, even when several references name it.
    const done = new Map<string, Promise<void>>();
    // Changes to one repository go one at a time: distribution reads every tag link of the repository to delete a
    // manifest, and a link being rewritten meanwhile (an untag's throwaway manifest) makes it answer 500.
    const repoQueues = new Map<string, LimitFunction>();
    const inTurn = (repo: string) => repoQueues.get(repo) ?? repoQueues.set(repo, pLimit(1)).get(repo)!;
    await Promise.all(
      actionable.map(async (step) => {
        try {
          await inTurn(step.ref.repo)(async () => {
            if (step.action === 'untag') {
              await session.limit(() => untag(session.client, step.ref.repo, step.ref.tag!, step.digest!));
              step.status = 'untagged';
            } else {
              const key = `${step.ref.repo}@${step.digest}`;
              if (!done.has(key)) done.set(key, deleteManifestOnce(session, actionable.filter((s) => s.action === 'delete-manifest' && `${s.ref.repo}@${s.digest}` === key)));
              await done.get(key);
              step.status = 'deleted';
            }
          });
        } catch (error) {
          if (!(error instanceof CleanregError)) throw error;
          step.status = 'failed';
          step.error = redact(error.message);
          logger.error(`${step.ref.text}: ${error.message}${error.hint ? ` (${error.hint})` : ''}`);
        }
      }),
    );
  }
  for (const step of steps) if (step.action === 'missing' || step.action === 'refused') step.status = step.action;

  const count = (status: string) => steps.filter((s) => s.status === status).length;
  const summary = { references: steps.length, deleted: count('deleted'), untagged: count('untagged'), missing: count('missing'), refused: count('refused'), failed: count('failed') };
  if (args.output === 'json') {
    const doc = {
      registry: session.registry,
      dryRun: !!args.dryRun,
      references: steps.map((s) => ({ reference: s.ref.text, repository: s.ref.repo, tag: s.ref.tag ?? null, digest: s.digest ?? null, action: s.action, status: s.status ?? 'planned', detail: s.error ?? s.detail })),
      summary,
    };
    io.stdout.write(JSON.stringify(doc, null, 2) + '\n');
  } else {
    const table = await newTable({ head: ['reference', 'digest', 'action', 'status', 'detail'], style: { head: [], border: [] } });
    for (const s of steps) table.push([s.ref.text, s.digest ? shortDigest(s.digest) : '-', s.action, s.status ?? (args.dryRun ? 'dry run' : '-'), s.error ?? s.detail]);
    io.stdout.write(table.toString() + '\n');
    io.stdout.write(`${summary.deleted} deleted, ${summary.untagged} untagged, ${summary.missing} not found, ${summary.refused ? `${summary.refused} refused, ` : ''}${summary.failed} failed${args.dryRun ? ' (dry run: nothing changed)' : ''}.\n`);
  }
  return summary.failed || summary.missing || summary.refused ? 1 : 0;
}
