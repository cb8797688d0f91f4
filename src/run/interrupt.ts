import type { Halt } from '../executor/apply.js';
import type { Logger } from '../util/log.js';

const SIGNAL_NUMBER: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 2, SIGTERM: 15 };

/**
 * Runs deletions that SIGINT (Ctrl-C) and SIGTERM (a CI job cancelled, a pod stopped) end cleanly: no further
 * image is deleted, but what the deletions already done would leave behind goes (see Halt), and the report is
 * printed. A second signal ends the process at once. The exit code after a signal is 128 + its number.
 */
export async function interruptible<T>(logger: Logger, work: (halt: Halt) => Promise<T>): Promise<{ result: T; exitCode?: number }> {
  const halt: Halt = {};
  let received: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (received) process.exit(128 + SIGNAL_NUMBER[signal]!);
    received = signal;
    halt.stopped = `interrupted (${signal})`;
    logger.warn(`${signal}: stopping; no further image is deleted, but the signatures, referrers and platform manifests of those already deleted still go. Again to stop at once (they would stay behind, out of reach of a later run)`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const result = await work(halt);
    return { result, exitCode: received ? 128 + SIGNAL_NUMBER[received]! : undefined };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
