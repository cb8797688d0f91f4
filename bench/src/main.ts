/**
 * npm run bench: seeds a real docker-registry on 127.0.0.1 and measures cleanreg (cold plan, warm plan, apply)
 * against the registry's own capacity for the same request mix. See bench/RESULTS.md for the output.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statfsSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRegistry, type TestRegistry } from '../../tests/helpers/registry.js';
import { parseArgs, USAGE, type BenchArgs } from './args.js';
import { cpuWindow, shuffled, timed, wrkReplay } from './measure.js';
import { count, machine, pairedText, renderShape, writeResults, type Entry, type RunResult, type ShapeReport } from './report.js';
import { repoName, Seeder, type SeedFacts, type Shape } from './seed.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const CLI = join(ROOT, 'dist/cli.js');

const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);
/** Other processes using more than this share of the time in CPU disturb a run or a replay. */
const BUSY_SHARE = 0.15;

/** The registry's access entries for what `run` sent (between two log markers). */
async function logged<T>(reg: TestRegistry, run: () => Promise<T>): Promise<{ result: T; entries: Entry[] }> {
  // wrk stops with requests in flight: the registry still answers (and logs) them after wrk is gone. Wait until
  // the log stands still, or they would be counted as cleanreg's.
  for (let before = -1; before !== reg.accessEntries().length; ) {
    before = reg.accessEntries().length;
    await new Promise((r) => setTimeout(r, 300));
    await reg.syncLog();
  }
  reg.clearAccessLog();
  const result = await run();
  await reg.syncLog();
  return { result, entries: reg.accessEntries() };
}

/** One run of a plan, and the replays of its mix just before (from the second try on) and just after it. */
interface Try {
  result: RunResult;
  entries: Entry[];
  replays: Replay[];
}
type Replay = Awaited<ReturnType<typeof replay>>;

/** A run's floor: its requests ÷ the replay rate, averaged over the replays around it. */
function floorSeconds(t: Try): number {
  return t.replays.reduce((sum, w) => sum + t.result.counted.total / w.rate, 0) / t.replays.length;
}

interface CliRun {
  name: RunResult['name'];
  args: string[];
  stdoutFile?: string;
}

async function runCleanreg(reg: TestRegistry, work: string, run: CliRun, extra: string[]) {
  const env = { PATH: process.env.PATH, HOME: join(work, 'home'), NO_COLOR: '1', LANG: 'C.UTF-8' };
  const window = cpuWindow(reg.pid());
  const { result: cost, entries } = await logged(reg, () =>
    timed(process.execPath, [CLI, ...run.args, ...extra], { env, stdoutFile: run.stdoutFile, timeFile: join(work, `${run.name.replace(' ', '-')}.time`) }),
  );
  const cpu = window.stop();
  const cleanregCpu = cost.userSeconds + cost.systemSeconds;
  return { cost, entries, registryCpu: cpu.registry, otherCpu: cpu.machine - cpu.registry - cleanregCpu - cpu.bench };
}

/** Replays a run's request lines with wrk and returns the rate; `on` is the registry to replay against. */
async function replay(on: TestRegistry, entries: Entry[], args: BenchArgs, work: string, name: string) {
  const lines = shuffled(entries.map((e) => `${e.method} ${e.uri}`));
  const window = cpuWindow(on.pid());
  const w = await wrkReplay(on.url, lines, { connections: args.workers, seconds: args.wrkSeconds, dir: work, name });
  const cpu = window.stop();
  const heads = entries.filter((e) => e.method === 'HEAD').length;
  // Here wrk's own CPU counts as other work (it is small: about 0.1 s in 5 s).
  const busy = cpu.machine - cpu.registry - cpu.bench > BUSY_SHARE * w.seconds;
  const note = [
    heads ? `${heads} HEAD replayed as GET` : '',
    w.requests > lines.length ? `list of ${lines.length} replayed ${(w.requests / lines.length).toFixed(1)}×` : '',
    w.non2xx ? `${w.non2xx} non-2xx` : '',
    w.errors,
    busy ? `other processes (wrk included) used ${(cpu.machine - cpu.registry - cpu.bench).toFixed(1)} CPU s in ${w.seconds.toFixed(1)} s: disturbed` : '',
  ].filter(Boolean).join(', ');
  log(`wrk ${name}: ${Math.round(w.requestsPerSecond)} req/s over ${w.requests} requests${note ? ` (${note})` : ''}; registry CPU ${cpu.registry.toFixed(2)} s, rest of the machine (wrk included) ${(cpu.machine - cpu.registry - cpu.bench).toFixed(2)} s`);
  return { rate: w.requestsPerSecond, non2xx: w.non2xx, requests: w.requests, note: note || undefined, disturbed: busy, registryCpu: cpu.registry };
}

function allowed(name: RunResult['name'], f: SeedFacts, entries: Entry[]): { n: number; text: string } {
  const distinct = (re: RegExp) => new Set(entries.filter((e) => e.method === 'GET' && re.test(e.uri.split('?')[0])).map((e) => e.uri)).size;
  const catalogPages = Math.max(1, distinct(/^\/v2\/_catalog$/));
  const pages = 1 + catalogPages + f.repos;
  const pagesText = `1 ping + ${catalogPages} catalog + ${f.repos} tag lists`;
  if (name === 'cold plan') {
    return { n: f.tags + f.childManifests + f.configs + pages, text: `${f.tags} tags + ${f.childManifests} index children + ${f.configs} configs + ${pagesText}` };
  }
  if (name === 'warm plan') return { n: f.tags + pages, text: `${f.tags} tags + ${pagesText}` };
  return {
    n: f.tags + pages + f.reposWithDeletions + f.tagsToDelete + f.imagesToDelete + f.childrenToDelete,
    text: `warm scan ${f.tags + pages} + re-verify ${f.reposWithDeletions} tag lists + ${f.tagsToDelete} HEAD (tags planned for deletion) + ${f.imagesToDelete} DELETE + ${f.childrenToDelete} DELETE of index children`,
  };
}

/**
 * A registry storage for replaying the apply's mix later: a copy of the repositories the replay will touch, with the
 * blobs shared through a symlink (deleting a manifest never touches blobs; only garbage collection does). Enough
 * repositories are taken for the replay not to run out of requests at up to 1500 requests/s.
 */
function snapshot(data: string, dest: string, shape: Shape, args: BenchArgs): string[] {
  const perRepo = 3 * shape.tags + 3;
  const count = Math.min(shape.repos, Math.ceil((1500 * args.wrkSeconds * 1.5) / perRepo));
  const repos = Array.from({ length: count }, (_, r) => repoName(r, shape.repos));
  const from = join(data, 'docker/registry/v2');
  const to = join(dest, 'docker/registry/v2');
  mkdirSync(join(to, 'repositories/bench'), { recursive: true });
  symlinkSync(join(from, 'blobs'), join(to, 'blobs'));
  execFileSync('cp', ['-a', ...repos.map((r) => join(from, 'repositories', r)), join(to, 'repositories/bench')]);
  return repos;
}

/** About what the registry storage takes per tag on ext4 or tmpfs (4 KiB per small file), with the apply's copy. */
const STORAGE_BYTES_PER_TAG = 72 * 1024;

/**
 * Where the registry keeps its data: --storage, else tmpfs (/dev/shm) when it has room to spare, so that disk
 * contention from other jobs does not blur the numbers; else bench/work.
 */
function storageDir(args: BenchArgs, shape: Shape, key: string): string {
  const name = `cleanreg-bench-${key}-${process.pid}`;
  if (args.storage) return join(resolve(args.storage), name);
  const need = shape.repos * shape.tags * STORAGE_BYTES_PER_TAG;
  try {
    const fs = statfsSync('/dev/shm');
    const available = /MemAvailable:\s+(\d+) kB/.exec(readFileSync('/proc/meminfo', 'utf8'));
    if (fs.bavail * fs.bsize > 1.5 * need && available && Number(available[1]) * 1024 > 2 * need) return join('/dev/shm', name);
  } catch {
    // no tmpfs here
  }
  return join(ROOT, 'bench/work', name);
}

async function benchShape(shape: Shape, args: BenchArgs): Promise<void> {
  const key = `${shape.repos}x${shape.tags}-w${args.workers}`;
  const work = join(ROOT, 'bench/work', `${key}-${Date.now()}`);
  const storage = storageDir(args, shape, key);
  const data = join(storage, 'data');
  const snapshotDir = join(storage, 'snapshot');
  mkdirSync(storage, { recursive: true });
  const cleanup = () => {
    rmSync(storage, { recursive: true, force: true });
    scratch.delete(storage);
  };
  if (!args.keepWork) scratch.add(storage).add(work);
  mkdirSync(join(work, 'home'), { recursive: true });
  const m = machine();
  log(`${shape.repos} repositories × ${shape.tags} tags, -w ${args.workers}; work dir ${work}, registry storage ${storage}`);

  const reg = await startRegistry({ dataDir: data });
  const seeder = new Seeder(reg.url, args.seedApi ? undefined : data);
  let snapReg: TestRegistry | undefined;
  try {
    log(`registry ${reg.url} (pid ${reg.pid()}); seeding with ${args.seedWorkers} in flight, blobs ${args.seedApi ? 'uploaded' : 'written into the storage'}`);
    const facts = await seeder.seed(shape, args.keep, args.seedWorkers, (done, total) => log(`seeded ${done}/${total} images`));
    log(`seeded ${facts.tags} tags, ${facts.images} images in ${facts.seconds.toFixed(1)} s (${facts.requests} requests, ${Math.round(facts.requests / facts.seconds)}/s)`);

    const reposConf = join(work, 'repos.conf');
    writeFileSync(reposConf, `# every repository of the bench registry\n** ${args.keep}\n`);
    // -v: cleanreg logs retries (counted) and one line per repository; nothing per request.
    const common = (cacheDir: string) => ['-v', '-r', reg.url, '-f', reposConf, '--cache-dir', cacheDir, '-w', String(args.workers), '--output', 'json'];
    const notes: string[] = [];
    const measure = async (run: CliRun) => {
      log(`${run.name}: node dist/cli.js ${[...run.args, ...args.cleanregArgs].join(' ')}`);
      const r = await runCleanreg(reg, work, run, args.cleanregArgs);
      const counted = count(r.entries);
      const a = allowed(run.name, facts, r.entries);
      const result: RunResult = {
        name: run.name,
        exitCode: r.cost.exitCode,
        wallSeconds: r.cost.wallSeconds,
        cpuSeconds: r.cost.userSeconds + r.cost.systemSeconds,
        maxRssMb: r.cost.maxRssKb / 1024,
        counted,
        registryCpu: r.registryCpu,
        otherCpu: r.otherCpu,
        allowed: a.n,
        allowedText: a.text,
        stderrTail: r.cost.stderrTail,
      };
      log(`${run.name}: exit ${result.exitCode}, ${result.wallSeconds.toFixed(2)} s, ${counted.total} requests (${JSON.stringify(counted.byMethodKind)}), CPU ${result.cpuSeconds.toFixed(2)} s, RSS ${result.maxRssMb.toFixed(0)} MB, registry CPU ${result.registryCpu.toFixed(2)} s, other CPU ${result.otherCpu.toFixed(2)} s`);
      if (result.exitCode !== 0) {
        log(`${run.name} failed; its stderr ends with:\n${result.stderrTail}`);
        notes.push(`${run.name} exited ${result.exitCode}: ${result.stderrTail.trim().split('\n').slice(-3).join(' / ')}`);
      }
      if (r.cost.retries) notes.push(`${run.name}: cleanreg retried ${r.cost.retries} requests (its -v log)`);
      return { result, entries: r.entries };
    };
    const busy = (x: RunResult) => x.otherCpu > BUSY_SHARE * x.wallSeconds;
    /** A try whose run or replays shared the machine with other work: its paired ratio says little. */
    const troubled = (t: Try) => busy(t.result) || t.replays.some((w) => w.disturbed);
    const disturbed = (x: RunResult) => {
      if (busy(x)) {
        notes.push(`during the ${x.name}, other processes used ${x.otherCpu.toFixed(1)} CPU s in ${x.wallSeconds.toFixed(1)} s: its numbers may be disturbed`);
      }
    };

    // Cold and warm plans (each pair on a fresh cache), each followed by the replay of its mix on the same storage.
    // From the second try on, each run is also preceded by a replay: the machine's speed drifts on shared cores, so
    // each try is measured against the replays just around it (paired), besides the fastest run against the fastest
    // replay.
    const tries: Record<'cold plan' | 'warm plan', Try[]> = { 'cold plan': [], 'warm plan': [] };
    for (let i = 0; i < args.repeat; i++) {
      const cacheDir = join(work, `cache-${i}`); // fresh: does not exist yet
      for (const name of ['cold plan', 'warm plan'] as const) {
        // The replayed lines are those of the first run: the same every time, but for a race or two.
        const mix = () => tries[name][0]?.entries ?? [];
        const replayMix = () => replay(reg, mix(), args, work, name.replace(' ', '-'));
        const before = i > 0 && mix().length ? await replayMix() : undefined;
        const run: Try = { ...(await measure({ name, args: [...common(cacheDir), '--dry-run'] })), replays: before ? [before] : [] };
        tries[name].push(run);
        if (mix().length) run.replays.push(await replayMix());
      }
    }
    const results: RunResult[] = [];
    const coldTries = tries['cold plan'];
    for (const name of ['cold plan', 'warm plan'] as const) {
      const best = tries[name].reduce((a, b) => (b.result.wallSeconds < a.result.wallSeconds ? b : a)).result;
      const all = tries[name].flatMap((t) => t.replays);
      best.wrk = all.length ? all.reduce((a, b) => (b.rate > a.rate ? b : a)) : undefined;
      if (args.repeat > 1) {
        best.paired = tries[name].map((t) => t.result.wallSeconds / floorSeconds(t));
        best.pairedCold = tries[name].map((t, i) => t.result.wallSeconds / floorSeconds(coldTries[i]));
        // Each ratio is left out when what it is made of was disturbed: this try, and for the cold-plan floor the
        // replays around the cold try of the same round.
        best.troubledTries = tries[name].map((t) => troubled(t));
        best.troubledCold = tries[name].map((t, i) => troubled(t) || coldTries[i].replays.some((w) => w.disturbed));
        notes.push(
          `${name}, ${args.repeat} tries: wall ${tries[name].map((t) => t.result.wallSeconds.toFixed(2)).join(', ')} s; ` +
            `replays around each try ${tries[name].map((t) => t.replays.map((w) => Math.round(w.rate)).join('/')).join(', ')} req/s; ` +
            `each try ÷ the floor of the replays around it: ${pairedText(best.paired, best.troubledTries)}`,
        );
      }
      disturbed(best);
      results.push(best);
    }

    const applyRun = async () => {
      // The apply changes the storage: its request mix is replayed later on a copy of the state before it.
      const t0 = Date.now();
      const snapRepos = snapshot(data, snapshotDir, shape, args);
      log(`copied ${snapRepos.length} repositories for the apply replay in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      const applyFile = join(work, 'apply.json');
      const apply = await measure({ name: 'apply', args: [...common(join(work, `cache-${args.repeat - 1}`)), '-y'], stdoutFile: applyFile });
      disturbed(apply.result);
      try {
        const s = JSON.parse(readFileSync(applyFile, 'utf8')).summary;
        apply.result.outcome = `${s.deleted} deleted, ${s.alreadyGone} already gone, ${s.keptOnReverify} kept on re-verify, ${s.failed} failed`;
      } catch (error) {
        apply.result.outcome = `no JSON summary (${(error as Error).message})`;
      }
      results.push(apply.result);
      const mixes = new Map<string, Entry[]>([['apply', apply.entries]]);

      const left = await seeder.countTags(shape, args.seedWorkers);
      const expected = facts.tags - facts.tagsToDelete;
      notes.push(left === expected ? `after the apply ${left} tags are left, as the policy says` : `**after the apply ${left} tags are left; the policy leaves ${expected}**`);

      // The apply's mix (HEAD, GET, DELETE) on a registry started on the copy of the seeded storage.
      await reg.stop();
      const inSnapshot = new Set(snapRepos);
      const applyEntries = (mixes.get('apply') ?? []).filter((e) => {
        const repo = /^\/v2\/(.+?)\/(?:manifests|blobs|tags|referrers)\//.exec(e.uri)?.[1];
        return repo === undefined || inSnapshot.has(repo);
      });
      if (applyEntries.length) {
        snapReg = await startRegistry({ dataDir: snapshotDir });
        const w = await replay(snapReg, applyEntries, args, work, 'apply');
        results.find((x) => x.name === 'apply')!.wrk = w;
        if (snapRepos.length < shape.repos) notes.push(`the apply's mix was replayed for ${snapRepos.length} of ${shape.repos} repositories (${applyEntries.length} request lines)`);
        if (w.requests > applyEntries.length) notes.push('the apply replay went through its list more than once: the DELETEs of the second pass were 404s, so its rate is optimistic');
      }
    };
    if (args.apply) await applyRun();

    const cold = results.find((x) => x.name === 'cold plan');
    for (const x of results) if (x.wrk?.note) notes.push(`${x.name} replay: ${x.wrk.note}`);
    const report: ShapeReport = {
      key,
      title: `${shape.repos} repositories × ${shape.tags} tags (${facts.tags} tags), -w ${args.workers}`,
      machine: m,
      facts,
      workers: args.workers,
      keep: args.keep,
      runs: results,
      coldFloor: cold?.wrk ? cold.counted.total / cold.wrk.rate : undefined,
      notes,
    };
    const section = renderShape(report);
    writeResults(resolve(ROOT, args.results), key, section);
    process.stdout.write(`\n${section}\n`);
  } finally {
    seeder.close();
    await reg.stop();
    await snapReg?.stop();
    if (!args.keepWork) {
      rmSync(work, { recursive: true, force: true });
      scratch.delete(work);
      cleanup();
    }
  }
}

/** Work dirs and registry storages to remove if the bench is interrupted (the registries die with it: pdeathsig). */
const scratch = new Set<string>();
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  process.once(signal, () => {
    for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
    process.exit(code);
  });
}

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs(process.argv.slice(2), process.env);
  } catch (error) {
    process.stderr.write(`bench: ${(error as Error).message}\n`);
    return 2;
  }
  if (args === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (!existsSync(CLI)) {
    process.stderr.write(`bench: ${CLI} is missing: run npm run build first (scripts/bench.sh does)\n`);
    return 2;
  }
  for (const shape of args.shapes) await benchShape(shape, args);
  log(`tables written to ${resolve(ROOT, args.results)}`);
  return 0;
}

main().then(
  (code) => (process.exitCode = code),
  (error) => {
    process.stderr.write(`bench: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
