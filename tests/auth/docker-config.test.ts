/**
 * Where credentials come from, on a real TLS + htpasswd registry: docker's config.json (`auths` with `auth` or
 * username/password, keys with a scheme), credential helpers (`credHelpers`, `credsStore`), --password-stdin,
 * and the order flags > CLEANREG_* > --password-stdin > config.json.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runBuiltCli, runCli, type CliResult } from '../helpers/cli.js';
import { ImagePusher } from '../helpers/images.js';
import { startRegistry, stopAllRegistries, type TestRegistry } from '../helpers/registry.js';
import { tempDirs } from './servers.js';

// A colon in the password: `auth` is base64 of user:password, split at the first colon only.
const USER = 'dockeruser';
const PASSWORD = 'D0cker:Pa55-word';
const REPO = 'cfg/app';
const day = (n: number) => new Date(Date.UTC(2024, 0, 1 + n)).toISOString();
const b64 = (s: string) => Buffer.from(s).toString('base64');
const tmp = tempDirs('cleanreg-auth-config-');

let reg: TestRegistry;
let p: ImagePusher;
let host: string; // 127.0.0.1:PORT, as docker keys it

beforeAll(async () => {
  reg = await startRegistry({ tls: true, htpasswd: { user: USER, password: PASSWORD } });
  p = new ImagePusher({ url: reg.url, ca: reg.caPem, basic: { user: USER, password: PASSWORD } });
  host = new URL(reg.url).host;
});
afterAll(async () => {
  p.close();
  await stopAllRegistries();
  tmp.cleanup();
});

// Each test starts from `old` + `new`; a run that authenticates deletes `old`.
beforeEach(async () => {
  await p.pushImage(REPO, ['old'], { created: day(1), seed: 'cfg-old' });
  await p.pushImage(REPO, ['new'], { created: day(2), seed: 'cfg-new' });
});

const args = () => ['-r', reg.url, '-c', reg.caFile!, '-n', REPO, '-k', '1', '-y', '--no-cache'];

const dockerConfig = tmp.dockerConfig;

async function expectDeleted(r: CliResult): Promise<void> {
  expect(r.stderr).not.toMatch(/error/);
  expect(r.code).toBe(0);
  expect(await p.tags(REPO)).toEqual(['new']);
}

async function expectRejected(r: CliResult, message: RegExp): Promise<void> {
  expect(r.stderr).toMatch(message);
  expect(r.code).toBe(1);
  expect((await p.tags(REPO))?.sort()).toEqual(['new', 'old']);
}

describe('docker config.json', () => {
  test('auths with `auth` (base64 of user:password, the password holding a colon)', async () => {
    const DOCKER_CONFIG = dockerConfig({ auths: { [host]: { auth: b64(`${USER}:${PASSWORD}`) } } });
    await expectDeleted(await runCli(args(), { env: { DOCKER_CONFIG } }));
  });

  test('auths with username and password fields', async () => {
    const DOCKER_CONFIG = dockerConfig({ auths: { [host]: { username: USER, password: PASSWORD } } });
    await expectDeleted(await runCli(args(), { env: { DOCKER_CONFIG } }));
  });

  test('a key with the https:// scheme (and a path, as `docker login` wrote for v1)', async () => {
    const DOCKER_CONFIG = dockerConfig({ auths: { [`https://${host}`]: { auth: b64(`${USER}:${PASSWORD}`) } } });
    await expectDeleted(await runCli(args(), { env: { DOCKER_CONFIG } }));
    await p.pushImage(REPO, ['old'], { created: day(1), seed: 'cfg-old' });
    const withPath = dockerConfig({ auths: { [`https://${host}/v1/`]: { auth: b64(`${USER}:${PASSWORD}`) } } });
    await expectDeleted(await runCli(args(), { env: { DOCKER_CONFIG: withPath } }));
  });

  test('the entry for another port of the same host is not used', async () => {
    const DOCKER_CONFIG = dockerConfig({ auths: { '127.0.0.1:1': { auth: b64(`${USER}:${PASSWORD}`) } } });
    await expectRejected(await runCli(args(), { env: { DOCKER_CONFIG } }), /requires credentials/);
  });

  test('without DOCKER_CONFIG: ~/.docker/config.json', async () => {
    const home = tmp.make();
    mkdirSync(join(home, '.docker'));
    writeFileSync(join(home, '.docker', 'config.json'), JSON.stringify({ auths: { [host]: { auth: b64(`${USER}:${PASSWORD}`) } } }));
    await expectDeleted(await runCli(args(), { env: { HOME: home } }));
  });

  test('a wrong password in config.json is a credentials error naming no secret', async () => {
    const DOCKER_CONFIG = dockerConfig({ auths: { [host]: { auth: b64(`${USER}:wrong-config-pw`) } } });
    const r = await runCli(args(), { env: { DOCKER_CONFIG } });
    await expectRejected(r, /rejected the credentials/);
    expect(r.stdout + r.stderr).not.toContain('wrong-config-pw');
    expect(r.stdout + r.stderr).not.toContain(b64(`${USER}:wrong-config-pw`));
  });

  test('an identity token for a registry with Basic auth: said to work only with a token service, never sent', async () => {
    const DOCKER_CONFIG = dockerConfig({ auths: { [host]: { auth: b64('00000000-0000-0000-0000-000000000000:'), identitytoken: 'idtok-basic-registry-0001' } } });
    const r = await runCli([...args(), '-vvv'], { env: { DOCKER_CONFIG } });
    await expectRejected(r, /identity token works only with a registry's token service/);
    expect(r.stdout + r.stderr).not.toContain('idtok-basic-registry-0001');
  });
});

describe('credential helpers', () => {
  let bin: string;
  let log: string;

  /**
   * docker-credential-fake: `get` reads the server on stdin and prints {"ServerURL","Username","Secret"}; with
   * FAKE_HELPER_MODE=none it says "credentials not found in native keychain" and exits 1, as real helpers do.
   */
  beforeAll(() => {
    bin = tmp.make();
    log = join(bin, 'calls.log');
    const script = `#!/bin/sh
[ "$1" = get ] || { echo "unsupported: $1" >&2; exit 2; }
IFS= read -r server || true
printf '%s %s\\n' "$1" "$server" >> "${log}"
if [ "$FAKE_HELPER_MODE" = none ]; then echo "credentials not found in native keychain"; exit 1; fi
printf '{"ServerURL":"%s","Username":"%s","Secret":"%s"}\\n' "$server" "${USER}" "${PASSWORD}"
`;
    writeFileSync(join(bin, 'docker-credential-fake'), script);
    chmodSync(join(bin, 'docker-credential-fake'), 0o755);
  });
  beforeEach(() => writeFileSync(log, ''));

  const env = (config: object, extra: NodeJS.ProcessEnv = {}) => ({ DOCKER_CONFIG: dockerConfig(config), PATH: `${bin}:${process.env.PATH}`, ...extra });
  const calls = () => readFileSync(log, 'utf8').trim().split('\n').filter(Boolean);

  test('credHelpers: `docker-credential-fake get`, the registry host on stdin', async () => {
    await expectDeleted(await runBuiltCli(args(), { env: env({ credHelpers: { [host]: 'fake' } }) }));
    expect(calls()).toEqual([`get ${host}`]);
  });

  test('credsStore: the same helper for every registry', async () => {
    await expectDeleted(await runBuiltCli(args(), { env: env({ auths: { [host]: {} }, credsStore: 'fake' }) }));
    expect(calls()).toEqual([`get ${host}`]);
  });

  test('credHelpers wins over an auths entry for the same host', async () => {
    const config = { auths: { [host]: { auth: b64(`${USER}:stale-pw`) } }, credHelpers: { [host]: 'fake' } };
    await expectDeleted(await runBuiltCli(args(), { env: env(config) }));
  });

  test('a helper that has nothing (exit 1, "credentials not found") means no credentials', async () => {
    const r = await runBuiltCli(args(), { env: env({ credsStore: 'fake' }, { FAKE_HELPER_MODE: 'none' }) });
    await expectRejected(r, /requires credentials/);
    expect(r.stderr).toMatch(/-u USER/);
    expect(calls()).toEqual([`get ${host}`]);
  });

  test('a helper that is not installed: a warning naming it, then on without its credentials', async () => {
    const r = await runBuiltCli(args(), { env: env({ credHelpers: { [host]: 'missing' } }) });
    expect(r.stderr).toMatch(/^warning: .*docker-credential-missing is not on the PATH/m);
    await expectRejected(r, /requires credentials/);
  });

  test('flags and CLEANREG_* win: the helper is not even asked', async () => {
    await expectDeleted(await runBuiltCli(args(), { env: env({ credsStore: 'fake' }, { CLEANREG_USERNAME: USER, CLEANREG_PASSWORD: PASSWORD }) }));
    expect(calls()).toEqual([]);
  });

  test('in-process runs find the helper on the PATH of the environment they were given', async () => {
    // main(argv, io) reads DOCKER_CONFIG from io.env; the helper must be looked up on io.env's PATH too.
    await expectDeleted(await runCli(args(), { env: env({ credHelpers: { [host]: 'fake' } }) }));
    expect(calls()).toEqual([`get ${host}`]);
  });
});

describe('--password-stdin and the order of the sources', () => {
  const wrongConfig = () => dockerConfig({ auths: { [host]: { auth: b64(`${USER}:config-wrong`) } } });
  const rightConfig = () => dockerConfig({ auths: { [host]: { auth: b64(`${USER}:${PASSWORD}`) } } });

  test('credentials from config.json that the registry rejects: the error names the file and says to log in again', async () => {
    const dir = wrongConfig();
    const r = await runCli(args(), { env: { DOCKER_CONFIG: dir } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`the registry rejected the credentials from ${join(dir, 'config.json')} (401`);
    expect(r.stderr).toMatch(/hint: run docker login again, or pass -u USER and -pw PASSWORD/);
    expect(r.stderr).not.toContain('config-wrong');
  });

  test('--password-stdin with -u (a trailing newline is not part of the password)', async () => {
    await expectDeleted(await runCli([...args(), '-u', USER, '--password-stdin'], { input: `${PASSWORD}\n` }));
  });

  test('--password-stdin beats config.json', async () => {
    await expectDeleted(await runCli([...args(), '-u', USER, '--password-stdin'], { input: PASSWORD, env: { DOCKER_CONFIG: wrongConfig() } }));
  });

  test('--password-stdin wins over CLEANREG_PASSWORD, as a flag does; with -pw as well it is a usage error', async () => {
    await expectDeleted(await runCli([...args(), '-u', USER, '--password-stdin'], { input: PASSWORD, env: { CLEANREG_PASSWORD: 'env-wrong' } }));
    const r = await runCli([...args(), '-u', USER, '-pw', PASSWORD, '--password-stdin'], { input: PASSWORD });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--password-stdin given, but -pw\/--basicauth-pw gives a password too/);
  });

  test('empty standard input with --password-stdin is a usage error', async () => {
    const r = await runCli([...args(), '-u', USER, '--password-stdin'], { input: '' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/standard input was empty/);
  });

  test('flags win over the environment', async () => {
    await expectDeleted(await runCli([...args(), '-u', USER, '-pw', PASSWORD], { env: { CLEANREG_USERNAME: 'someone-else', CLEANREG_PASSWORD: 'env-wrong' } }));
  });

  test('...so wrong flags fail even with right environment variables', async () => {
    await expectRejected(await runCli([...args(), '-u', USER, '-pw', 'flag-wrong'], { env: { CLEANREG_USERNAME: USER, CLEANREG_PASSWORD: PASSWORD } }), /rejected the credentials/);
  });

  test('-u with CLEANREG_PASSWORD: the two combine', async () => {
    await expectDeleted(await runCli([...args(), '-u', USER], { env: { CLEANREG_PASSWORD: PASSWORD } }));
  });

  test('the environment wins over config.json', async () => {
    await expectDeleted(await runCli(args(), { env: { CLEANREG_USERNAME: USER, CLEANREG_PASSWORD: PASSWORD, DOCKER_CONFIG: wrongConfig() } }));
  });

  test('...so a wrong environment fails even with a right config.json', async () => {
    await expectRejected(await runCli(args(), { env: { CLEANREG_USERNAME: USER, CLEANREG_PASSWORD: 'env-wrong', DOCKER_CONFIG: rightConfig() } }), /rejected the credentials/);
  });
});
