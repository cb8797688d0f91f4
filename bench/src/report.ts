/** Classifies the registry's access log and renders the tables (Markdown, also printed). */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import type { SeedFacts } from './seed.js';

export interface Entry {
  method: string;
  uri: string;
  status: number;
}

export type Kind = 'ping' | 'catalog' | 'tags/list' | 'manifest by tag' | 'manifest by digest' | 'blob' | 'referrers' | 'other';

export function kindOf(uri: string): Kind {
  const path = uri.split('?')[0];
  if (path === '/v2/' || path === '/v2') return 'ping';
  if (path === '/v2/_catalog') return 'catalog';
  if (path.endsWith('/tags/list')) return 'tags/list';
  const m = /^\/v2\/.+\/(manifests|blobs|referrers)\/([^/]+)$/.exec(path);
  if (m?.[1] === 'manifests') return /^[a-z0-9]+:[a-f0-9]+$/.test(m[2]) ? 'manifest by digest' : 'manifest by tag';
  if (m?.[1] === 'blobs') return 'blob';
  if (m?.[1] === 'referrers') return 'referrers';
  return 'other';
}

export interface Counted {
  total: number;
  byMethod: Record<string, number>;
  byKind: Record<string, number>;
  /** "METHOD kind" → count, e.g. "GET manifest by tag". */
  byMethodKind: Record<string, number>;
  non2xx: Record<string, number>;
  pages: number;
}

export function count(entries: Entry[]): Counted {
  const c: Counted = { total: entries.length, byMethod: {}, byKind: {}, byMethodKind: {}, non2xx: {}, pages: 0 };
  const inc = (o: Record<string, number>, k: string) => (o[k] = (o[k] ?? 0) + 1);
  for (const e of entries) {
    const kind = kindOf(e.uri);
    inc(c.byMethod, e.method);
    inc(c.byKind, kind);
    inc(c.byMethodKind, `${e.method} ${kind}`);
    if (e.status < 200 || e.status > 299) inc(c.non2xx, `${e.status} ${e.method} ${kind}`);
    if (kind === 'ping' || kind === 'catalog' || kind === 'tags/list') c.pages++;
  }
  return c;
}

export interface RunResult {
  name: 'cold plan' | 'warm plan' | 'apply';
  exitCode: number;
  wallSeconds: number;
  cpuSeconds: number;
  maxRssMb: number;
  counted: Counted;
  registryCpu: number;
  otherCpu: number;
  wrk?: { rate: number; non2xx: number; requests: number; note?: string };
  /** With --repeat: each try's wall ÷ the floor of the replays just around it (its own mix; the cold plan's mix). */
  paired?: number[];
  pairedCold?: number[];
  /** Per try: whether other work shared the machine during it or its replays (left out of `paired`'s median)... */
  troubledTries?: boolean[];
  /** ...or during it or the cold try's replays (left out of `pairedCold`'s median). */
  troubledCold?: boolean[];
  /** Requests the issue allows for this run (the floor count), and what it is made of. */
  allowed: number;
  allowedText: string;
  /** For the apply: what cleanreg reported. */
  outcome?: string;
  stderrTail: string;
}

export interface Machine {
  date: string;
  cpu: string;
  cores: number;
  memoryGb: number;
  node: string;
  registry: string;
  wrk: string;
  kernel: string;
  load: string;
}

function firstLine(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0].trim();
  } catch (error) {
    const out = String((error as { stdout?: string }).stdout ?? '') + String((error as { stderr?: string }).stderr ?? '');
    return out.split('\n')[0].trim() || 'unknown';
  }
}

export function machine(): Machine {
  const cpuinfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    cpu: /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    registry: firstLine('docker-registry', ['--version']).replace(/^docker-registry\s+/, ''),
    wrk: firstLine('wrk', ['-v']).replace(/\s+\[.*$/, ''),
    kernel: os.release(),
    load: os.loadavg().map((l) => l.toFixed(2)).join(' '),
  };
}

/** The median of the undisturbed tries (of all, when every one was disturbed). */
export function settledMedian(values: number[], troubled: boolean[] = []): number {
  const calm = values.filter((_, i) => !troubled[i]);
  return median(calm.length ? calm : values);
}

/** "1.10 (0.69*, 1.12, 1.09; * disturbed, left out of the median)" */
export function pairedText(values: number[], troubled: boolean[] = []): string {
  const listed = values.map((v, i) => `${v.toFixed(2)}${troubled[i] ? '*' : ''}`).join(', ');
  const disturbed = values.filter((_, i) => troubled[i]).length;
  const left = disturbed === 0 ? '' : disturbed === values.length ? '; * disturbed, all of them: the median is of all' : '; * disturbed, left out of the median';
  return `${settledMedian(values, troubled).toFixed(2)} (${listed}${left})`;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const f1 = (n: number) => n.toFixed(1);
const f2 = (n: number) => n.toFixed(2);

function list(o: Record<string, number>): string {
  const keys = Object.keys(o).sort((a, b) => o[b] - o[a]);
  return keys.length ? keys.map((k) => `${k} ${o[k]}`).join(', ') : '—';
}

export interface ShapeReport {
  key: string;
  title: string;
  machine: Machine;
  facts: SeedFacts;
  workers: number;
  keep: number;
  runs: RunResult[];
  /** Cold plan's floor in seconds (its requests ÷ the replay rate of its mix): the yardstick of the targets. */
  coldFloor?: number;
  notes: string[];
}

function row(cells: string[]): string {
  return `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
}

export function renderShape(r: ShapeReport): string {
  const m = r.machine;
  const f = r.facts;
  const out: string[] = [];
  out.push(`## ${r.title}`);
  out.push('');
  out.push(`${m.date} · ${m.cpu}, ${m.cores} cores, ${m.memoryGb} GiB · node ${m.node} · registry ${m.registry} · ${m.wrk} · Linux ${m.kernel} · load average at start ${m.load}`);
  out.push('');
  out.push(
    `Seeded ${f.repos} repositories, ${f.tags} tags, ${f.images} images (${f.sharedDigestImages} with two tags, ${f.indexes} two-platform OCI indexes), ` +
      `${f.configs} distinct configs, in ${f1(f.seconds)} s (${f.requests} requests, ${Math.round(f.requests / f.seconds)}/s). ` +
      `Policy: keep ${r.keep} newest per repository → ${f.imagesToDelete} images (${f.tagsToDelete} tags) to delete. cleanreg -w ${r.workers}, wrk -t 1 -c ${r.workers}.`,
  );
  out.push('');
  const cols = r.runs.map((x) => x.name);
  out.push(row(['', ...cols]));
  out.push(row(['---', ...cols.map(() => '---:')]));
  const add = (label: string, cell: (x: RunResult) => string) => out.push(row([label, ...r.runs.map(cell)]));
  add('exit code', (x) => String(x.exitCode));
  add('wall s', (x) => f2(x.wallSeconds));
  add('requests (registry access log)', (x) => String(x.counted.total));
  add('by method', (x) => list(x.counted.byMethod));
  add('by kind', (x) => list(x.counted.byKind));
  add('non-2xx', (x) => list(x.counted.non2xx));
  add('requests per tag', (x) => f2(x.counted.total / f.tags));
  add('allowed by the issue', (x) => `${x.allowed} (${x.allowedText})`);
  add('request target', (x) => requestTarget(x, f));
  add('peak RSS MB', (x) => f1(x.maxRssMb));
  add('cleanreg CPU s (user+sys)', (x) => f2(x.cpuSeconds));
  add('cleanreg CPU ms / 1000 requests', (x) => Math.round((x.cpuSeconds * 1e6) / Math.max(1, x.counted.total)).toString());
  add('registry CPU s', (x) => f2(x.registryCpu));
  add('registry CPU ms / request', (x) => f2((x.registryCpu * 1000) / Math.max(1, x.counted.total)));
  add('other CPU s on the machine', (x) => f2(Math.max(0, x.otherCpu)));
  add('wrk replay of this mix, req/s', (x) => (x.wrk ? String(Math.round(x.wrk.rate)) : '—'));
  add('floor s (requests ÷ replay rate)', (x) => (x.wrk ? f2(x.counted.total / x.wrk.rate) : '—'));
  add('wall ÷ floor', (x) => (x.wrk ? f2(x.wallSeconds / (x.counted.total / x.wrk.rate)) : '—'));
  add('wall ÷ cold-plan floor', (x) => (r.coldFloor ? f2(x.wallSeconds / r.coldFloor) : '—'));
  if (r.runs.some((x) => x.paired)) {
    add('each try ÷ the floor of the replays around it: median (tries)', (x) => (x.paired ? pairedText(x.paired, x.troubledTries) : '—'));
    add('each try ÷ the cold-plan floor around it: median (tries)', (x) => (x.pairedCold ? pairedText(x.pairedCold, x.troubledCold) : '—'));
  }
  add('time target', (x) => {
    if (!r.coldFloor) return '—';
    // With several tries, the median of the paired ratios: fastest ÷ fastest pairs moments the machine differed.
    const ratio = x.pairedCold ? settledMedian(x.pairedCold, x.troubledCold) : x.wallSeconds / r.coldFloor;
    const basis = x.pairedCold ? `median of tries ${f2(ratio)}` : f2(ratio);
    if (x.name === 'cold plan') return ratio <= 1.1 ? `met (${basis} ≤ 1.10)` : `**missed (${basis} > 1.10)**`;
    if (x.name === 'warm plan') return ratio <= 0.5 ? `met (${basis} ≤ 0.50)` : `**missed (${basis} > 0.50)**`;
    return '—';
  });
  const rssLimit = f.tags <= 4000 ? 128 : 256;
  add(`RSS target (≤ ${rssLimit} MB)`, (x) => (x.maxRssMb <= rssLimit ? 'met' : '**missed**'));
  if (r.runs.some((x) => x.outcome)) add('outcome', (x) => x.outcome ?? '');
  out.push('');
  for (const n of r.notes) out.push(`- ${n}`);
  if (r.notes.length) out.push('');
  return out.join('\n');
}

const HEADER = `# cleanreg benchmark results

Run: \`npm run bench\` (50 repositories × 200 tags), \`npm run bench -- --repos 2 --tags 2000\`,
\`npm run bench -- --shape other\` (2 × 2000 and 500 × 8), \`npm run bench -- --help\` for the rest.

Written by \`npm run bench\` (bench/src/main.ts): a real \`docker-registry\` on 127.0.0.1 (storage on tmpfs when there
is room, so that other jobs' disk traffic does not blur the numbers), seeded (manifests over the API), then
cleanreg (\`node dist/cli.js -f repos.conf\` selecting \`**\` with keep 5, \`--output json\` to /dev/null, a fresh
\`--cache-dir\`): a cold dry-run plan, a warm dry-run plan on the same cache, an apply (\`-y\`). Requests are the
registry's own access log between markers. The floor of a run is its request count ÷ the rate at which the registry
serves the same request lines (wrk, one thread, \`-c\` = cleanreg's \`-w\`, lines shuffled, a few seconds); the apply's
mix is replayed on a copy of the storage taken before the apply. HEAD requests are replayed as GET (wrk waits for a
body after a HEAD; the registry does the same work for both). "Other CPU" is the machine's busy time during the run
minus the registry, cleanreg and the bench process: large values mean other jobs disturbed the numbers
(\`--repeat N\` runs the plans N times, each between two replays of its mix, as the machine's speed drifts: the
table shows the fastest run and the fastest replay, and each try against the replays around it; the time target is
then judged on the median of those paired ratios, leaving out, marked *, the tries during which other processes used
more than 15% of the time in CPU, in the run or in a replay around it).

"Allowed by the issue" is the request floor: cold, one manifest GET per tag, one GET per child manifest of an index
(needed to date it) and one config GET per distinct image, plus pages (ping, catalog pages, one tag list per
repository); warm, tags + pages; apply, a warm scan + one tag list per repository with deletions + one HEAD per tag
planned for deletion + one DELETE per image planned for deletion and per child manifest of a deleted index.
cleanreg also probes the OCI referrers API once per run (whether the registry lists signatures and SBOMs by
subject): like the ping, a request per run, named in the request target rather than counted per tag.
Each shape's section is replaced when that shape is run again.
`;

/** Replaces (or appends) the section of this shape in the results file; the header is rewritten. */
export function writeResults(path: string, key: string, section: string): void {
  const old = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const sections: [string, string][] = [];
  for (const m of old.matchAll(/<!-- bench:(\S+) -->\n([\s\S]*?)\n<!-- \/bench:\1 -->/g)) sections.push([m[1], m[2]]);
  const i = sections.findIndex(([k]) => k === key);
  if (i >= 0) sections[i] = [key, section];
  else sections.push([key, section]);
  writeFileSync(path, `${HEADER}\n${sections.map(([k, text]) => `<!-- bench:${k} -->\n${text}\n<!-- /bench:${k} -->\n`).join('\n')}`);
}

/**
 * Met, or by how many requests it is missed. The one OCI referrers probe of a run is a request per run, like the
 * ping: it is named, not counted against the per-tag floor.
 */
function requestTarget(x: RunResult, f: SeedFacts): string {
  const probes = Math.min(1, x.counted.byKind['referrers'] ?? 0);
  const over = x.counted.total - x.allowed;
  if (over <= 0) return 'met';
  if (over <= probes) return 'met, + 1 per run: the OCI referrers API probe';
  return `**missed: +${over}**${excess(x, f)}`;
}

/** What the requests beyond the issue's count are, where cleanreg makes them on purpose. */
function excess(x: RunResult, f: SeedFacts): string {
  const parts: string[] = [];
  const referrers = x.counted.byKind['referrers'] ?? 0;
  if (referrers) parts.push(`${referrers} OCI referrers API probe`);
  const keptHeads = (x.counted.byMethod['HEAD'] ?? 0) - f.tagsToDelete;
  if (x.name === 'apply' && keptHeads > 0) parts.push(`${keptHeads} HEAD of kept tags (re-verify checks every tag: a kept tag moved onto a doomed image saves it)`);
  return parts.length ? ` (${parts.join(', ')})` : '';
}
