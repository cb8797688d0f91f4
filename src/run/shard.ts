import { createHash } from 'node:crypto';
import { UsageError } from '../errors.js';

/**
 * `--shard I/N` (I from 0 to N-1, like a Kubernetes Indexed Job's JOB_COMPLETION_INDEX): a repository belongs to
 * the shard given by a hash of its name, so N jobs split one registry with no overlap and no gap, whatever order
 * the catalog comes in.
 */
export function shardOf(spec: string): (repo: string) => boolean {
  const m = /^(\d+)\/(\d+)$/.exec(spec.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index >= count) throw new UsageError(`--shard must be I/N with 0 <= I < N (e.g. 0/4), not "${spec}"`);
  return (repo) => shardIndex(repo, count) === index;
}

export function shardIndex(repo: string, count: number): number {
  return createHash('sha256').update(repo).digest().readUInt32BE(0) % count;
}
