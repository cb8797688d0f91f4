/**
 * npm run bench: seeds a real docker-registry on 127.0.0.1 and measures cleanreg (cold plan, warm plan, apply)
 * against the registry's own capacity for the same request mix. See bench/RESULTS.md for the output.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRegistry, type TestRegistry } from '../../tests/helpers/registry.js';
import { parseArgs, USAGE, type BenchArgs } from './args.js';
import { cpuWindow, shuffled, timed, wrkReplay } from './measure.js';
import { count, machine, renderShape, writeResults, type Entry, type RunResult, type ShapeReport } from './report.js';
import { Seeder, type SeedFacts, type Shape } from './seed.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const CLI = join(ROOT, 'dist/cli.js');

const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

/** The registry's access entries for what `run` sent (between two log markers). */
async function logged<T>(reg: TestRegistry, run: () => Promise<T>): Promise<{ result: T; entries: Entry[] }> {
  await reg.syncLog();
  reg.clearAccessLog();
  const result = await run();
  await reg.syncLog();
  return { result, entries: reg.accessEntries() };
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
  const note = [
    w.requests > lines.length ? `list of ${lines.length} replayed ${(w.requests / lines.length).toFixed(1)}×` : '',
    w.non2xx ? `${w.non2xx} non-2xx` : '',
    w.errors,
  ].filter(Boolean).join(', ');
  log(`wrk ${name}: ${Math.round(w.requestsPerSecond)} req/s over ${w.requests} requests${note ? ` (${note})` : ''}; registry CPU ${cpu.registry.toFixed(2)} s, rest of the machine (wrk included) ${(cpu.machine - cpu.registry - cpu.bench).toFixed(2)} s`);
  return { rate: w.requestsPerSecond, non2xx: w.non2xx, requests: w.requests, note: note || undefined, registryCpu: cpu.registry };
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
    n: f.tags + pages + f.reposWithDeletions + f.tagsToDelete + f.imagesToDelete,
    text: `warm scan ${f.tags + pages} + re-verify ${f.reposWithDeletions} tag lists + ${f.tagsToDelete} HEAD + ${f.imagesToDelete} DELETE`,
  };
}

async function benchShape(shape: Shape, args: BenchArgs): Promise<void> {
  const key = `${shape.repos}x${shape.tags}-w${args.workers}`;
  const work = join(ROOT, 'bench/work', `${key}-${Date.now()}`);
  const data = join(work, 'data');
  const snapshot = join(work, 'snapshot');
  mkdirSync(join(work, 'home'), { recursive: true });
  const m = machine();
  log(`${shape.repos} repositories × ${shape.tags} tags, -w ${args.workers}; work dir ${work}`);

  const reg = await startRegistry({ dataDir: data });
  const seeder = new Seeder(reg.url);
  let snapReg: TestRegistry | undefined;
  try {
    log(`registry ${reg.url} (pid ${reg.pid()}); seeding with ${args.seedWorkers} in flight`);
    const facts = await seeder.seed(shape, args.keep, args.seedWorkers, (done, total) => log(`seeded ${done}/${total} images`));
    log(`seeded ${facts.tags} tags, ${facts.images} images in ${facts.seconds.toFixed(1)} s (${facts.requests} requests, ${Math.round(facts.requests / facts.seconds)}/s)`);

    // The apply changes the storage: its request mix is replayed later on this copy of the seeded state.
    const t0 = Date.now();
    execFileSync('cp', ['-a', data, snapshot]);
    log(`copied the storage for the apply replay in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    const reposConf = join(work, 'repos.conf');
    writeFileSync(reposConf, `# every repository of the bench registry\n** ${args.keep}\n`);
    const cacheDir = join(work, 'cache'); // fresh: does not exist yet
    const common = ['-r', reg.url, '-f', reposConf, '--cache-dir', cacheDir, '-w', String(args.workers), '--output', 'json'];
    const runs: CliRun[] = [
      { name: 'cold plan', args: [...common, '--dry-run'] },
      { name: 'warm plan', args: [...common, '--dry-run'] },
      { name: 'apply', args: [...common, '-y'], stdoutFile: join(work, 'apply.json') },
    ];
    const results: RunResult[] = [];
    const mixes = new Map<string, Entry[]>();
    const notes: string[] = [];
    for (const run of runs) {
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
      log(`${run.name}: exit ${result.exitCode}, ${result.wallSeconds.toFixed(2)} s, ${counted.total} requests (${JSON.stringify(counted.byMethodKind)}), CPU ${result.cpuSeconds.toFixed(2)} s, RSS ${result.maxRssMb.toFixed(0)} MB`);
      if (result.exitCode !== 0) {
        log(`${run.name} failed; its stderr ends with:\n${result.stderrTail}`);
        notes.push(`${run.name} exited ${result.exitCode}: ${result.stderrTail.trim().split('\n').slice(-3).join(' / ')}`);
      }
      if (result.otherCpu > 0.15 * result.wallSeconds) {
        notes.push(`during the ${run.name}, other processes used ${result.otherCpu.toFixed(1)} CPU s in ${result.wallSeconds.toFixed(1)} s: its numbers may be disturbed`);
      }
      if (run.name === 'apply' && run.stdoutFile && existsSync(run.stdoutFile)) {
        try {
          const s = JSON.parse(readFileSync(run.stdoutFile, 'utf8')).summary;
          result.outcome = `${s.deleted} deleted, ${s.alreadyGone} already gone, ${s.keptOnReverify} kept on re-verify, ${s.failed} failed`;
        } catch (error) {
          result.outcome = `no JSON summary (${(error as Error).message})`;
        }
      }
      mixes.set(run.name, r.entries);
      results.push(result);
      // Replay the read-only mixes now, on the same registry and storage the run saw.
      if (run.name !== 'apply' && r.entries.length) {
        const w = await replay(reg, r.entries, args, work, run.name.replace(' ', '-'));
        result.wrk = w;
      }
    }

    const left = await seeder.countTags(shape, args.seedWorkers);
    const expected = facts.tags - facts.tagsToDelete;
    notes.push(left === expected ? `after the apply ${left} tags are left, as the policy says` : `**after the apply ${left} tags are left; the policy leaves ${expected}**`);

    // The apply's mix (HEAD, GET, DELETE) on a registry started on the copy of the seeded storage.
    await reg.stop();
    const applyEntries = mixes.get('apply') ?? [];
    if (applyEntries.length) {
      snapReg = await startRegistry({ dataDir: snapshot });
      const w = await replay(snapReg, applyEntries, args, work, 'apply');
      results.find((x) => x.name === 'apply')!.wrk = w;
      if (w.requests > applyEntries.length) notes.push('the apply replay went through its list more than once: the DELETEs of the second pass were 404s, so its rate is optimistic');
    }

    const cold = results.find((x) => x.name === 'cold plan');
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
    if (!args.keepWork) rmSync(work, { recursive: true, force: true });
  }
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
