/**
 * Bearer token auth against real distribution 2.8 registries (`auth: token`) and the test token service:
 * scopes, the catalog scope for globs, refusals, the `*` fallback, `access_token`, expiry and the per-scope cache.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { runBuiltCli, runCli } from '../helpers/cli.js';
import { ImagePusher } from '../helpers/images.js';
import { startRegistry, stopAllRegistries, type TestRegistry } from '../helpers/registry.js';
import { startTokenService, type TokenService, type TokenServiceOptions } from '../helpers/token-service.js';
import { leaked, startReverseProxy, startTokenFront, tempDirs, type TokenFront } from './servers.js';

const USER = 'alice';
const PASSWORD = 'T0ken-Alice-Pa55';
const day = (n: number) => new Date(Date.UTC(2024, 0, 1 + n)).toISOString();
const tmp = tempDirs('cleanreg-auth-token-');
const auth = ['-u', USER, '-pw', PASSWORD];

afterAll(async () => {
  await stopAllRegistries();
  tmp.cleanup();
});

interface Setup {
  ts: TokenService;
  reg: TestRegistry;
  p: ImagePusher;
  stop(): Promise<void>;
}

/** A token service and a registry that trusts it (realm: the service, or `realm` when given). */
async function tokenRegistry(opts: TokenServiceOptions = {}, realm?: (ts: TokenService) => Promise<string>): Promise<Setup> {
  const ts = await startTokenService({ users: { [USER]: PASSWORD }, ...opts });
  const reg = await startRegistry({ token: { realm: realm ? await realm(ts) : ts.realm, service: ts.service, issuer: ts.issuer, rootCertBundle: ts.rootCertBundle } });
  const p = new ImagePusher({ url: reg.url, bearer: ts.bearer({ user: USER, password: PASSWORD }) });
  return {
    ts, reg, p,
    async stop() {
      p.close();
      await reg.stop();
      await ts.stop();
    },
  };
}

/** Two images, `old` (day 1) and `new` (day 2). */
async function seed(p: ImagePusher, repo: string): Promise<void> {
  await p.pushImage(repo, ['old'], { created: day(1), seed: `${repo}/old` });
  await p.pushImage(repo, ['new'], { created: day(2), seed: `${repo}/new` });
}

const deletes = (reg: TestRegistry) => reg.accessEntries().filter((e) => e.method === 'DELETE' && e.status < 300);
const scopeCounts = (ts: TokenService) => {
  const counts: Record<string, number> = {};
  for (const r of ts.requests) {
    const key = r.scope.join(' ');
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
};

describe('a registry with `auth: token`', () => {
  let s: Setup;
  beforeAll(async () => {
    s = await tokenRegistry();
  });
  afterAll(() => s.stop());

  test('keep-N in one repository: pull, then pull,delete tokens for it; deletes', async () => {
    await seed(s.p, 'tok/app');
    await s.p.pushImage('tok/app', ['older'], { created: day(0), seed: 'tok/app/older' });
    s.ts.requests.splice(0);
    const r = await runCli(['-r', s.reg.url, '-n', 'tok/app', '-k', '1', '-y', '--no-cache', ...auth]);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(await s.p.tags('tok/app')).toEqual(['new']);
    expect(r.stdout).toMatch(/Deleted 2 images/);
    const scopes = s.ts.requests.map((q) => q.scope.join(' '));
    expect(scopes).toEqual(expect.arrayContaining(['repository:tok/app:pull', 'repository:tok/app:pull,delete']));
    for (const q of s.ts.requests) {
      expect(q.user).toBe(USER);
      expect(q.service).toBe(s.ts.service);
      expect(q.status).toBe(200);
    }
  });

  test('a repos file with a glob uses the catalog scope and cleans only the matching repositories', async () => {
    await seed(s.p, 'team/one');
    await seed(s.p, 'team/two');
    await seed(s.p, 'other/three');
    const file = join(tmp.make(), 'repos.conf');
    writeFileSync(file, 'team/* 1\n');
    s.ts.requests.splice(0);
    const r = await runCli(['-r', s.reg.url, '-f', file, '-y', '--no-cache', ...auth]);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(await s.p.tags('team/one')).toEqual(['new']);
    expect(await s.p.tags('team/two')).toEqual(['new']);
    expect((await s.p.tags('other/three'))?.sort()).toEqual(['new', 'old']);
    expect(scopeCounts(s.ts)['registry:catalog:*']).toBe(1);
    expect(s.ts.requests.some((q) => q.scope.some((sc) => sc.includes('other/three')))).toBe(false);
  });

  test('a wrong password: exit 1, the token service and what it refused are named, nothing deleted', async () => {
    await seed(s.p, 'tok/wrong');
    const before = deletes(s.reg).length;
    const r = await runCli(['-r', s.reg.url, '-n', 'tok/wrong', '-k', '1', '-y', '--no-cache', '-u', USER, '-pw', 'not-the-password']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`token service ${s.ts.url}`);
    expect(r.stderr).toMatch(/refused the credentials of user "alice"/);
    expect(r.stderr).toMatch(/hint: check the user name and password/);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.stderr + r.stdout).not.toContain('not-the-password');
    expect(deletes(s.reg).length).toBe(before);
    expect((await s.p.tags('tok/wrong'))?.sort()).toEqual(['new', 'old']);
  });

  test('a stale docker login (a wrong password in config.json): the token service\'s refusal names the file and says to log in again', async () => {
    await seed(s.p, 'tok/stale');
    const dir = tmp.dockerConfig({ auths: { [new URL(s.reg.url).host]: { auth: Buffer.from(`${USER}:stale-password`).toString('base64') } } });
    const r = await runCli(['-r', s.reg.url, '-n', 'tok/stale', '-k', '1', '-y', '--no-cache'], { env: { DOCKER_CONFIG: dir } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`refused the credentials of user "alice" (from ${join(dir, 'config.json')})`);
    expect(r.stderr).toMatch(/hint: run docker login again/);
    expect(r.stderr + r.stdout).not.toContain('stale-password');
    expect((await s.p.tags('tok/stale'))?.sort()).toEqual(['new', 'old']);
  });

  test('anonymous: a clear credentials error with the flags to pass, nothing deleted', async () => {
    await seed(s.p, 'tok/anon');
    const before = deletes(s.reg).length;
    const r = await runCli(['-r', s.reg.url, '-n', 'tok/anon', '-k', '1', '-y', '--no-cache']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/requires credentials/);
    expect(r.stderr).toMatch(/-u USER/);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(deletes(s.reg).length).toBe(before);
    expect((await s.p.tags('tok/anon'))?.sort()).toEqual(['new', 'old']);
  });

  test('tokens are cached per scope: one token request per scope, however many requests use it', async () => {
    const repos = ['cache/a', 'cache/b', 'cache/c'];
    for (const repo of repos) {
      await seed(s.p, repo);
      await s.p.pushImage(repo, ['oldest'], { created: day(0), seed: `${repo}/oldest` });
    }
    const file = join(tmp.make(), 'repos.conf');
    writeFileSync(file, repos.map((r) => `${r} 1`).join('\n') + '\n');
    s.ts.requests.splice(0);
    s.reg.clearAccessLog();
    const r = await runCli(['-r', s.reg.url, '-f', file, '-y', '--no-cache', ...auth]);
    expect(r.code).toBe(0);
    for (const repo of repos) expect(await s.p.tags(repo)).toEqual(['new']);

    const expected: Record<string, number> = { '': 1 }; // the /v2/ check
    for (const repo of repos) {
      expected[`repository:${repo}:pull`] = 1;
      expected[`repository:${repo}:pull,delete`] = 1;
    }
    expect(scopeCounts(s.ts)).toEqual(expected);
    // ...while the registry saw many requests with those few tokens (tags, manifests, configs, HEADs, DELETEs).
    const authorized = s.reg.accessEntries().filter((e) => e.status !== 401);
    expect(authorized.length).toBeGreaterThan(5 * repos.length);
  });
});

describe('a token service that refuses `delete` in a scope', () => {
  let s: Setup;
  beforeAll(async () => {
    s = await tokenRegistry({ rejectDeleteScope: true });
  });
  afterAll(() => s.stop());

  test('falls back to repository:NAME:* once and deletes', async () => {
    await seed(s.p, 'star/app');
    await s.p.pushImage('star/app', ['oldest'], { created: day(0), seed: 'star/app/oldest' });
    s.ts.requests.splice(0);
    const r = await runCli(['-r', s.reg.url, '-n', 'star/app', '-k', '1', '-y', '--no-cache', ...auth]);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(await s.p.tags('star/app')).toEqual(['new']);
    const asked = s.ts.requests.map((q) => `${q.scope.join(' ')} ${q.status}`);
    expect(asked.filter((a) => a === 'repository:star/app:pull,delete 401')).toHaveLength(1);
    expect(asked.filter((a) => a === 'repository:star/app:* 200')).toHaveLength(1);
  });

  test('the fallback is reported at -v', async () => {
    await seed(s.p, 'star/verbose');
    const r = await runCli(['-r', s.reg.url, '-n', 'star/verbose', '-k', '1', '-y', '--no-cache', '-v', ...auth]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/refused scope "repository:star\/verbose:pull,delete"; trying "repository:star\/verbose:\*"/);
  });
});

describe('a token service answering with `access_token`', () => {
  let s: Setup;
  beforeAll(async () => {
    s = await tokenRegistry({ field: 'access_token' });
  });
  afterAll(() => s.stop());

  test('the access_token is used', async () => {
    await seed(s.p, 'oauth/app');
    const r = await runCli(['-r', s.reg.url, '-n', 'oauth/app', '-k', '1', '-y', '--no-cache', ...auth]);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(await s.p.tags('oauth/app')).toEqual(['new']);
  });
});

describe('short-lived tokens', () => {
  let s: Setup;
  let slow: { url: string; stop(): Promise<void> };
  beforeAll(async () => {
    s = await tokenRegistry({ expiresIn: 2 });
    // Every DELETE is held back 2.5 s: the run outlasts the 2 s tokens it got at its start.
    slow = await startReverseProxy(s.reg.url, { delayMs: (method) => (method === 'DELETE' ? 2500 : 0) });
  });
  afterAll(async () => {
    await slow.stop();
    await s.stop();
  });

  test('a run that outlasts its tokens renews them (and still deletes)', async () => {
    await seed(s.p, 'short/app');
    await s.p.pushImage('short/app', ['oldest'], { created: day(0), seed: 'short/app/oldest' });
    s.ts.requests.splice(0);
    const r = await runCli(['-r', slow.url, '-n', 'short/app', '-k', '1', '-y', '--no-cache', ...auth]);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(await s.p.tags('short/app')).toEqual(['new']);
    const counts = scopeCounts(s.ts);
    // The second DELETE starts 2.5 s after the first (which goes alone) and needs a fresh pull,delete token.
    expect(counts['repository:short/app:pull']).toBeGreaterThanOrEqual(1);
    expect(counts['repository:short/app:pull,delete']).toBeGreaterThanOrEqual(2);
    expect(s.ts.requests.every((q) => q.status === 200)).toBe(true);
  });
});

describe('tokens the registry refuses, and a broken token service', () => {
  let s: Setup;
  let front: TokenFront;
  beforeAll(async () => {
    s = await tokenRegistry({}, async (ts) => {
      front = await startTokenFront(ts);
      return front.realm;
    });
  });
  afterAll(async () => {
    await front.stop();
    await s.stop();
  });

  const reset = (mode: TokenFront['mode']) => {
    front.mode = mode;
    front.requests.splice(0);
  };
  const frontCounts = () => {
    const counts: Record<string, number> = {};
    for (const q of front.requests) counts[q.scope] = (counts[q.scope] ?? 0) + 1;
    return counts;
  };

  test('a cached token refused by the registry (401) is renewed once and the run goes on', async () => {
    await seed(s.p, 'renew/app');
    reset('expired-once');
    const r = await runCli(['-r', s.reg.url, '-n', 'renew/app', '-k', '1', '-y', '--no-cache', ...auth]);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(await s.p.tags('renew/app')).toEqual(['new']);
    const counts = frontCounts();
    expect(counts['repository:renew/app:pull']).toBe(2);
    // Renewed as the same scope, or as the `*` fallback: either way one more token, not a loop.
    expect((counts['repository:renew/app:pull,delete'] ?? 0) + (counts['repository:renew/app:*'] ?? 0)).toBe(2);
  });

  test('a registry that refuses every token: exit 1, the token named as refused (not the password), no endless token loop', async () => {
    await seed(s.p, 'renew/never');
    reset('always-expired');
    const r = await runCli(['-r', s.reg.url, '-n', 'renew/never', '-k', '1', '-y', '--no-cache', ...auth]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/the registry refused the token service's token \(401 invalid_token/);
    expect(r.stderr).toMatch(/hint: check that the registry trusts the token service .* clocks agree/);
    expect(r.stderr).toMatch(/repository:renew\/never:pull/);
    expect(front.requests.length).toBeLessThanOrEqual(4);
    expect((await s.p.tags('renew/never'))?.sort()).toEqual(['new', 'old']);
  });

  test('a token service answering 500: exit 1, a registry error naming the token service, not an internal error', async () => {
    await seed(s.p, 'broken/five');
    reset('error500');
    const r = await runCli(['-r', s.reg.url, '-n', 'broken/five', '-k', '1', '-y', '--no-cache', '--retries', '0', ...auth]);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.stderr).toMatch(/^error: .*token.*500/m);
    expect(r.stderr).toContain(new URL(front.realm).origin);
    expect(r.code).toBe(1);
  });

  test('a token service that drops the connection: exit 1, a connection error naming it, not an internal error', async () => {
    await seed(s.p, 'broken/drop');
    reset('drop');
    const r = await runCli(['-r', s.reg.url, '-n', 'broken/drop', '-k', '1', '-y', '--no-cache', '--retries', '0', ...auth]);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.stderr).toMatch(/^error: .*token/m);
    expect(r.stderr).toContain(new URL(front.realm).origin);
    expect(r.code).toBe(1);
  });
});

describe('a user the token service lets pull but not delete', () => {
  const READER = 'reader';
  const READER_PASSWORD = 'Reader-Pa55-only';
  let s: Setup;
  beforeAll(async () => {
    s = await tokenRegistry({ users: { [USER]: PASSWORD, [READER]: READER_PASSWORD }, grant: (user, scope) => (user === READER ? scope.actions.filter((a) => a === 'pull') : scope.actions) });
  });
  afterAll(() => s.stop());

  test('a refused DELETE says the token does not allow it, once with the permission hint, and ends the repository: not "check the password"', async () => {
    await seed(s.p, 'ro/app');
    await s.p.pushImage('ro/app', ['older'], { created: day(0), seed: 'ro/app/older' });
    await s.reg.syncLog();
    s.reg.clearAccessLog();
    const r = await runCli(['-r', s.reg.url, '-n', 'ro/app', '-k', '1', '-y', '--no-cache', '-u', READER, '-pw', READER_PASSWORD]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/the token service's token does not allow this \(401 insufficient_scope for scope "repository:ro\/app:/);
    expect(r.stderr.match(/^hint: the user needs delete permission on this repository \(the token service grants what the user may do\)$/gm)).toHaveLength(1);
    expect(r.stderr).not.toMatch(/check the user name and password/);
    expect((await s.p.tags('ro/app'))?.sort()).toEqual(['new', 'old', 'older']);
    // One image's DELETE is refused; the other's is not sent, and says why.
    await s.reg.syncLog();
    const refused = new Set(s.reg.accessEntries().filter((e) => e.method === 'DELETE').map((e) => e.uri));
    expect(refused.size).toBe(1);
    expect(r.stdout).toMatch(/^ro\/app: (old|older): failed \(delete ro\/app@sha256:\w+: the token service's token does not allow this/m);
    expect(r.stdout).toMatch(/^ro\/app: (old|older): not attempted \(the token service's token does not allow this \(401 insufficient_scope/m);
  });
});

describe('a token service that cannot be reached', () => {
  test('is named, with a hint about the token service, not about -r: exit 1, nothing deleted', async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const s = await tokenRegistry({}, async () => `http://127.0.0.1:${port}/token`);
    try {
      await seed(s.p, 'gone/app');
      const r = await runCli(['-r', s.reg.url, '-n', 'gone/app', '-k', '1', '-y', '--no-cache', '--retries', '0', ...auth]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`error: get a token from the token service http://127.0.0.1:${port}: could not connect (connection refused)`);
      expect(r.stderr).toContain('hint: the registry sends clients to this token service (the realm of its WWW-Authenticate header)');
      expect(r.stderr).not.toContain('-r/--registry');
      expect((await s.p.tags('gone/app'))?.sort()).toEqual(['new', 'old']);
    } finally {
      await s.stop();
    }
  });
});

describe('a token service on HTTPS with a CA of its own', () => {
  test('-c naming the registry\'s CA only: the hint says to add the token service\'s CA to that file (not "pass -c"); with both in it, the run deletes', async () => {
    const ts = await startTokenService({ users: { [USER]: PASSWORD }, tls: true });
    const reg = await startRegistry({ tls: true, token: { realm: ts.realm, service: ts.service, issuer: ts.issuer, rootCertBundle: ts.rootCertBundle } });
    const p = new ImagePusher({ url: reg.url, ca: reg.caPem, bearer: ts.bearer({ user: USER, password: PASSWORD }) });
    try {
      await seed(p, 'tls/app');
      const refused = await runCli(['-r', reg.url, '-c', reg.caFile!, '-n', 'tls/app', '-k', '1', '-y', '--no-cache', ...auth]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(`error: get a token from the token service ${ts.url}: the TLS certificate of ${ts.url} is not trusted`);
      expect(refused.stderr).toContain(`hint: the CA in ${reg.caFile} (-c/--cacert) did not sign it: add the token service's CA to that file`);
      expect((await p.tags('tls/app'))?.sort()).toEqual(['new', 'old']);

      const both = join(tmp.make(), 'both-ca.pem');
      writeFileSync(both, reg.caPem! + readFileSync(ts.caFile!, 'utf8'));
      const r = await runCli(['-r', reg.url, '-c', both, '-n', 'tls/app', '-k', '1', '-y', '--no-cache', ...auth]);
      expect(r.code).toBe(0);
      expect(await p.tags('tls/app')).toEqual(['new']);
    } finally {
      p.close();
      await reg.stop();
      await ts.stop();
    }
  });
});

describe("docker login's identity token (an OAuth2 refresh token in config.json)", () => {
  // What `az acr login` and OIDC-backed logins leave: a placeholder user, no password, and an identity token.
  const REFRESH = 'refresh-7f3c9a1e-identity-token';
  const PLACEHOLDER = Buffer.from('00000000-0000-0000-0000-000000000000:').toString('base64');
  let s: Setup;
  let host: string;
  beforeAll(async () => {
    s = await tokenRegistry({ refreshTokens: { [REFRESH]: USER } });
    host = new URL(s.reg.url).host;
  });
  afterAll(() => s.stop());

  const dockerConfig = tmp.dockerConfig;

  test('is exchanged for bearer tokens by a POST refresh-token grant, per scope; the run deletes and never shows it', async () => {
    await seed(s.p, 'idt/app');
    s.ts.requests.splice(0);
    const DOCKER_CONFIG = dockerConfig({ auths: { [host]: { auth: PLACEHOLDER, identitytoken: REFRESH } } });
    const r = await runCli(['-r', s.reg.url, '-n', 'idt/app', '-k', '1', '-y', '--no-cache', '-vvv'], { env: { DOCKER_CONFIG } });
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(await s.p.tags('idt/app')).toEqual(['new']);
    expect(s.ts.requests.map((q) => [q.grant, q.user, q.status, q.scope.join(' ')])).toEqual([
      ['refresh_token', USER, 200, ''], // the ping: GET /v2/ needs a token of no scope
      ['refresh_token', USER, 200, 'repository:idt/app:pull'],
      ['refresh_token', USER, 200, 'repository:idt/app:pull,delete'],
    ]);
    expect(leaked(r.stdout + r.stderr, [REFRESH])).toEqual([]);
  });

  test('a credential helper answering the user "<token>" hands over an identity token (this one exits without reading the host)', async () => {
    await seed(s.p, 'idt/helper');
    const bin = tmp.make();
    writeFileSync(join(bin, 'docker-credential-idt'), `#!/bin/sh\nprintf '{"ServerURL":"x","Username":"<token>","Secret":"${REFRESH}"}\\n'\n`);
    chmodSync(join(bin, 'docker-credential-idt'), 0o755);
    s.ts.requests.splice(0);
    const env = { DOCKER_CONFIG: dockerConfig({ credHelpers: { [host]: 'idt' } }), PATH: `${bin}:${process.env.PATH}` };
    const r = await runBuiltCli(['-r', s.reg.url, '-n', 'idt/helper', '-k', '1', '-y', '--no-cache'], { env });
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(await s.p.tags('idt/helper')).toEqual(['new']);
    expect(s.ts.requests.length).toBeGreaterThan(0);
    expect(s.ts.requests.every((q) => q.grant === 'refresh_token' && q.user === USER)).toBe(true);
  });

  test('a refused identity token: exit 1, says to log in again, names no secret, deletes nothing', async () => {
    await seed(s.p, 'idt/expired');
    const DOCKER_CONFIG = dockerConfig({ auths: { [host]: { auth: PLACEHOLDER, identitytoken: 'refresh-expired-long-ago-0001' } } });
    const r = await runCli(['-r', s.reg.url, '-n', 'idt/expired', '-k', '1', '-y', '--no-cache', '-vvv'], { env: { DOCKER_CONFIG } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/refused the identity token.*\(HTTP 400: invalid_grant, refresh token expired or revoked\)/);
    expect(r.stderr).toMatch(/docker login/);
    expect(leaked(r.stdout + r.stderr, ['refresh-expired-long-ago-0001'])).toEqual([]);
    expect((await s.p.tags('idt/expired'))?.sort()).toEqual(['new', 'old']);
  });

  test('a token service that rotates refresh tokens (each good once): every grant uses the newest, one at a time', async () => {
    const ROTATING = 'refresh-rotating-first';
    const rotating = await tokenRegistry({ refreshTokens: { [ROTATING]: USER }, rotateRefreshTokens: true });
    try {
      await seed(rotating.p, 'idt/rotating');
      const DOCKER_CONFIG = dockerConfig({ auths: { [new URL(rotating.reg.url).host]: { auth: PLACEHOLDER, identitytoken: ROTATING } } });
      rotating.ts.requests.splice(0);
      const r = await runCli(['-r', rotating.reg.url, '-n', 'idt/rotating', '-k', '1', '-y', '--no-cache', '-vvv'], { env: { DOCKER_CONFIG } });
      expect(r.stderr).not.toMatch(/error/);
      expect(r.code).toBe(0);
      expect(await rotating.p.tags('idt/rotating')).toEqual(['new']);
      expect(rotating.ts.requests.length).toBeGreaterThanOrEqual(3);
      expect(rotating.ts.requests.every((q) => q.grant === 'refresh_token' && q.status === 200)).toBe(true);
    } finally {
      await rotating.stop();
    }
  });
});
