import { spawn } from 'node:child_process';
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
  const env = { HOME: '/nonexistent-home', XDG_CACHE_HOME: '', PATH: process.env.PATH, ...opts.env };
  const code = await main(args, { stdout, stderr, stdin, env });
  await syncAllLogs();
  return { code, stdout: out, stderr: err };
}

export const CLI_PATH = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

/** Runs the built CLI (dist/cli.js) as a real process: exit codes, pipes and argv exactly as a user has them. */
export async function runBuiltCli(args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<CliResult> {
  const result = await new Promise<CliResult>((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_PATH, ...args], { env: { PATH: process.env.PATH, HOME: '/nonexistent-home', ...opts.env }, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
  await syncAllLogs();
  return result;
}
