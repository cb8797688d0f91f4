/** Runs cleanreg under GNU time and wrk against the registry, and reads CPU counters from /proc. */
import { execFile, spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync, writeFileSync } from 'node:fs';
import { MANIFEST_ACCEPT } from '../../src/registry/media-types.js';

export interface ProcessCost {
  exitCode: number;
  wallSeconds: number;
  userSeconds: number;
  systemSeconds: number;
  maxRssKb: number;
  stderrTail: string;
  /** Lines of cleanreg's -v log that report a retried request. */
  retries: number;
}

/** `/usr/bin/time -f` the command; stdout goes to a file (or /dev/null), stderr is kept (its tail). */
export function timed(cmd: string, args: string[], opts: { stdoutFile?: string; env: NodeJS.ProcessEnv; timeFile: string }): Promise<ProcessCost> {
  return new Promise((resolve, reject) => {
    const out = openSync(opts.stdoutFile ?? '/dev/null', 'w');
    const child = spawn('/usr/bin/time', ['-f', '%e %U %S %M', '-o', opts.timeFile, cmd, ...args], { stdio: ['ignore', out, 'pipe'], env: opts.env });
    let stderr = '';
    let retries = 0;
    let partial = '';
    child.stderr!.setEncoding('utf8').on('data', (c: string) => {
      stderr = (stderr + c).slice(-8000);
      const lines = (partial + c).split('\n');
      partial = lines.pop()!;
      for (const line of lines) if (/\bretry \d+\/\d+/.test(line)) retries++;
    });
    child.on('error', (e) => {
      closeSync(out);
      reject(e);
    });
    child.on('close', (code) => {
      closeSync(out);
      const [wall, user, sys, rss] = readFileSync(opts.timeFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
      resolve({ exitCode: code ?? -1, wallSeconds: wall, userSeconds: user, systemSeconds: sys, maxRssKb: rss, stderrTail: stderr, retries });
    });
  });
}

const TICK = 100; // USER_HZ on Linux

/** CPU seconds (user + system) of a process so far, from /proc/PID/stat. */
export function processCpu(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICK; // utime, stime (fields 14 and 15)
  } catch {
    return 0;
  }
}

/** Busy CPU seconds of the whole machine so far (all cores), from /proc/stat. */
export function machineBusy(): number {
  const [, ...v] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const n = v.map(Number);
  const idle = n[3] + (n[4] ?? 0);
  const total = n.slice(0, 8).reduce((a, b) => a + b, 0);
  return (total - idle) / TICK;
}

export interface CpuWindow {
  stop(): { machine: number; registry: number; bench: number; wallSeconds: number };
}

/** CPU used meanwhile by the machine, the registry and this process (the rest is the measured client or others). */
export function cpuWindow(registryPid: number | undefined): CpuWindow {
  const t0 = Date.now();
  const m0 = machineBusy();
  const r0 = processCpu(registryPid);
  const b0 = process.cpuUsage();
  return {
    stop() {
      const b = process.cpuUsage(b0);
      return { machine: machineBusy() - m0, registry: processCpu(registryPid) - r0, bench: (b.user + b.system) / 1e6, wallSeconds: (Date.now() - t0) / 1000 };
    },
  };
}

/**
 * Replays request lines in a fixed order, round robin, one prebuilt request each: the cost per request on the
 * client side is next to nothing. Manifest requests carry the full Accept list, as cleanreg sends it.
 */
const REPLAY_LUA = `
local ACCEPT = "${MANIFEST_ACCEPT}"
local reqs = {}
local n = 0
local i = 0
function init(args)
  for line in io.lines(args[1]) do
    local method, path = line:match("^(%S+) (%S+)$")
    -- wrk waits for a body after a HEAD (Content-Length is set): the registry does the same work for a GET.
    if method == "HEAD" then method = "GET" end
    local headers = {}
    if path:find("/manifests/", 1, true) or path:find("/referrers/", 1, true) then headers["Accept"] = ACCEPT end
    n = n + 1
    reqs[n] = wrk.format(method, path, headers)
  end
end
function request()
  i = i + 1
  if i > n then i = 1 end
  return reqs[i]
end
`;

export interface WrkResult {
  requestsPerSecond: number;
  requests: number;
  seconds: number;
  non2xx: number;
  errors: string;
  raw: string;
}

/** Deterministic shuffle, so any few seconds of the replay carry the whole mix. */
export function shuffled<T>(items: T[], seed = 42): T[] {
  const a = [...items];
  let s = seed >>> 0;
  for (let i = a.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

export async function wrkReplay(url: string, lines: string[], opts: { connections: number; seconds: number; dir: string; name: string }): Promise<WrkResult> {
  const script = `${opts.dir}/replay.lua`;
  const list = `${opts.dir}/${opts.name}.requests`;
  writeFileSync(script, REPLAY_LUA);
  writeFileSync(list, lines.join('\n') + '\n');
  const args = ['-t', '1', '-c', String(opts.connections), '-d', `${opts.seconds}s`, '--timeout', '30s', '-s', script, url, '--', list];
  const raw = await new Promise<string>((resolve, reject) =>
    execFile('wrk', args, { maxBuffer: 1 << 20 }, (err, stdout, stderr) => (err ? reject(new Error(`wrk failed: ${err.message}\n${stderr}`)) : resolve(stdout + stderr))),
  );
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(raw);
  const total = /(\d+) requests in ([\d.]+)(\w+),/.exec(raw);
  if (!rps || !total) throw new Error(`cannot read the wrk output:\n${raw}`);
  const unit = total[3] === 'ms' ? 1e-3 : total[3] === 'm' ? 60 : 1;
  return {
    requestsPerSecond: Number(rps[1]),
    requests: Number(total[1]),
    seconds: Number(total[2]) * unit,
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(raw)?.[1] ?? 0),
    errors: /Socket errors:.*$/m.exec(raw)?.[0] ?? '',
    raw,
  };
}
