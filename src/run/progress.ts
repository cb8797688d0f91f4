import type { RegistryClient } from '../registry/client.js';
import type { Io, Logger } from '../util/log.js';
import type { ScanHooks } from './scan.js';

export interface Progress {
  hooks: ScanHooks;
  stop(): void;
}

const PLAIN_INTERVAL_MS = 5000;

/**
 * A bar on stderr when it is a terminal (repositories, tags, requests, rate, ETA); plain periodic lines at -v
 * otherwise; stdout is never touched.
 */
export async function startProgress(io: Io, logger: Logger, client: () => RegistryClient | undefined): Promise<Progress> {
  const started = Date.now();
  let repos = 0;
  let reposDone = 0;
  let tags = 0;
  const requests = () => client()?.requestCount ?? 0;
  const rate = () => Math.round(requests() / Math.max(0.001, (Date.now() - started) / 1000));

  if (io.stderr.isTTY && !io.env.CI) {
    const { default: cliProgress } = await import('cli-progress');
    const bar = new cliProgress.SingleBar(
      {
        stream: io.stderr as NodeJS.WritableStream & { isTTY: boolean },
        format: 'scanning {bar} {value}/{total} repositories | {tags} tags | {requests} requests ({rate}/s) | ETA {etaText}',
        hideCursor: true,
        clearOnComplete: true,
        fps: 5,
      },
      cliProgress.Presets.shades_classic,
    );
    let started_ = false;
    // cli-progress's own ETA is infinite until a repository finishes; this one says so instead.
    const etaText = () => (reposDone ? `${Math.round(((Date.now() - started) / reposDone) * (repos - reposDone) / 1000)}s` : '…');
    const update = () => bar.update(reposDone, { tags, requests: requests(), rate: rate(), etaText: etaText() });
    return {
      hooks: {
        // Called again for each repository as catalog pages come: the total grows.
        onRepositories: (n) => {
          repos = n;
          if (started_) return bar.setTotal(n);
          bar.start(n, 0, { tags: 0, requests: requests(), rate: 0, etaText: '…' });
          started_ = true;
        },
        onTag: () => {
          tags++;
          if (started_ && tags % 50 === 0) update();
        },
        onRepository: () => {
          reposDone++;
          if (started_) update();
        },
      },
      stop: () => {
        if (started_) bar.stop();
        logger.verbose(`scanned ${reposDone}/${repos} repositories, ${tags} tags, ${requests()} requests in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      },
    };
  }

  const timer = setInterval(() => {
    logger.verbose(`progress: ${reposDone}/${repos} repositories, ${tags} tags, ${requests()} requests (${rate()}/s)`);
  }, PLAIN_INTERVAL_MS);
  timer.unref();
  return {
    hooks: {
      onRepositories: (n) => (repos = n),
      onTag: () => tags++,
      onRepository: () => reposDone++,
    },
    stop: () => {
      clearInterval(timer);
      logger.verbose(`scanned ${reposDone}/${repos} repositories, ${tags} tags, ${requests()} requests in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    },
  };
}
