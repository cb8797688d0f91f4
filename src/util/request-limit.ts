/**
 * The one request limit of a run: at most `concurrency` tasks at once. A waiting task of a lower `order` starts
 * first (in arrival order within one order). Each repository takes it at its place in the run (eachRepository), so
 * the repositories started first are read first and only a few are half-read at a time: memory follows the
 * largest repository, not repositories × concurrency (at -w 32, 50 × 200 tags peaked at 154 MB with one queue in
 * arrival order, 32 repositories each with a share of every moment's requests).
 */
export type RequestLimit = <T>(task: () => Promise<T>, order?: number) => Promise<T>;

interface Waiting {
  order: number;
  /** Arrival: breaks ties within one order. */
  seq: number;
  start: () => void;
}

/**
 * Every request of a run passes through here: a task starts in the same tick when there is room, and a finished
 * one starts the next without a detour through the microtask queue (p-queue's own code was 5% of the CPU profile
 * of a cold plan of 500 repositories × 8 tags).
 */
export function requestLimit(concurrency: number): RequestLimit {
  const waiting = new WaitingHeap();
  let running = 0;
  let seq = 0;

  const finished = () => {
    running--;
    const next = waiting.pop();
    if (next) {
      running++;
      next.start();
    }
  };

  return <T>(task: () => Promise<T>, order = 0) =>
    new Promise<T>((resolve, reject) => {
      const start = () => {
        let result: Promise<T>;
        try {
          // A native promise is passed through as it is: no cost where the task is async, as every one is.
          result = Promise.resolve(task());
        } catch (error) {
          result = Promise.reject(error);
        }
        result.then(
          (value) => {
            finished();
            resolve(value);
          },
          (error: unknown) => {
            finished();
            reject(error);
          },
        );
      };
      if (running < concurrency && waiting.size === 0) {
        running++;
        start();
      } else {
        waiting.push({ order, seq: seq++, start });
      }
    });
}

/** A binary min-heap of waiting tasks by (order, arrival). */
class WaitingHeap {
  private readonly items: Waiting[] = [];

  get size(): number {
    return this.items.length;
  }

  push(item: Waiting): void {
    const items = this.items;
    let at = items.length;
    items.push(item);
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (!before(item, items[parent])) break;
      items[at] = items[parent];
      at = parent;
    }
    items[at] = item;
  }

  pop(): Waiting | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length === 0 || last === undefined) return top;
    let at = 0;
    for (;;) {
      const left = 2 * at + 1;
      if (left >= items.length) break;
      const right = left + 1;
      const child = right < items.length && before(items[right], items[left]) ? right : left;
      if (!before(items[child], last)) break;
      items[at] = items[child];
      at = child;
    }
    items[at] = last;
    return top;
  }
}

function before(a: Waiting, b: Waiting): boolean {
  return a.order < b.order || (a.order === b.order && a.seq < b.seq);
}
