import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { main } from '../../src/main.js';
import { syncAllLogs } from './registry.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The environment of one run: no docker config (HOME does not exist) and an empty digest cache of its own, so that
 * no run sees what an earlier one cached (as root, the cache would otherwise be created under that HOME and shared
 * by every run, test and day). Tests of the cache pass --cache-dir.
 */
async function isolated<T>(extra: NodeJS.ProcessEnv | undefined, run: (env: NodeJS.ProcessEnv) => Promise<T>): Promise<T> {
  const cacheHome = mkdtempSync(join(tmpdir(), 'cleanreg-test-cache-'));
  try {
    return await run({ HOME: '/nonexistent-home', XDG_CACHE_HOME: cacheHome, PATH: process.env.PATH, ...extra });
  } finally {
    rmSync(cacheHome, { recursive: true, force: true });
  }
}

/**
 * Runs cleanreg in-process with captured streams; no terminal, so deleting needs --yes. It returns once the test
 * registries' access logs hold every request the run made (they are read from pipes, asynchronously).
 */
export async function runCli(args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<CliResult> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c) => (out += c));
  stderr.on('data', (c) => (err += c));
  const stdin = Readable.from(opts.input !== undefined ? [opts.input] : []);
  const code = await isolated(opts.env, (env) => main(args, { stdout, stderr, stdin, env }));
  await syncAllLogs();
  return { code, stdout: out, stderr: err };
}

export const CLI_PATH = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

/** Runs the built CLI (dist/cli.js) as a real process: exit codes, pipes and argv exactly as a user has them. */
export async function runBuiltCli(args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; onSpawn?: (child: ChildProcessWithoutNullStreams) => void } = {}): Promise<CliResult> {
  const result = await isolated(opts.env, (env) => new Promise<CliResult>((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_PATH, ...args], { env, stdio: 'pipe' });
    opts.onSpawn?.(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  }));
  await syncAllLogs();
  return result;
}
