/**
 * Promise.all that waits for every promise to settle before it rejects, with the first failure in input order:
 * an error leaves none of the requests started beside it running, or retrying, after the run has reported it.
 */
export async function allSettledOrThrow<T>(promises: Iterable<Promise<T>>): Promise<T[]> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((result) => (result as PromiseFulfilledResult<T>).value);
}
