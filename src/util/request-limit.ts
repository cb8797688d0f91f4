import PQueue from 'p-queue';

/**
 * The one request limit of a run: at most `concurrency` tasks at once. A waiting task of a lower `order` starts
 * first (in arrival order within one order). Each repository takes it at its place in the run (eachRepository), so
 * the repositories started first are read first and only a few are half-read at a time: memory follows the
 * largest repository, not repositories × concurrency (at -w 32, 50 × 200 tags peaked at 154 MB with one queue in
 * arrival order, 32 repositories each with a share of every moment's requests).
 */
export type RequestLimit = <T>(task: () => Promise<T>, order?: number) => Promise<T>;

export function requestLimit(concurrency: number): RequestLimit {
  const queue = new PQueue({ concurrency });
  // p-queue runs the highest priority first.
  return (task, order = 0) => queue.add(task, { priority: -order });
}
