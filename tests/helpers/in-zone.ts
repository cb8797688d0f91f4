import { execFileSync } from 'node:child_process';

const DIST = new URL('../../dist/', import.meta.url).href;

/**
 * Runs `body` (the inside of an async ESM function, which may `await import(DIST + 'x.js')` from the build) in a node
 * process whose time zone is `tz`, and returns what it returns (through JSON). Setting process.env.TZ inside a jest
 * test does not move the zone: jest's process.env is a copy.
 */
export function inZone<T>(tz: string, body: string): T {
  const script = `const DIST = ${JSON.stringify(DIST)};\nprocess.stdout.write(JSON.stringify(await (async () => {\n${body}\n})()));`;
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, TZ: tz }, encoding: 'utf8' })) as T;
}
