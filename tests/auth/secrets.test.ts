/**
 * Secrets never reach the output. Real scenarios at -vvv, each run as a real process (dist/cli.js: a fresh
 * process knows no secret from an earlier run), then ALL stdout + stderr (and the plan file) are searched for the
 * password, its URL-encoded and base64 `user:password` forms, the Authorization header values and every token the
 * token service issued (captured by a realm in front of it).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { runBuiltCli, runCli, type CliResult } from '../helpers/cli.js';
import { ImagePusher } from '../helpers/images.js';
import { startRegistry, stopAllRegistries, type TestRegistry } from '../helpers/registry.js';
import { startTokenService, type TokenService } from '../helpers/token-service.js';
import { failFirst, startFakeRegistry, type FakeRegistry } from './fake-registry.js';
import { leaked, passwordForms, startTokenFront, tempDirs, tokenForms, type TokenFront } from './servers.js';

const USER = 'admin';
const PASSWORD = 'Sup3r-Secret-Pa55-' + randomBytes(4).toString('hex');
const TOKEN_USER = 'robot';
const TOKEN_PASSWORD = 'R0bot-Token-Pa55-' + randomBytes(4).toString('hex');
const day = (n: number) => new Date(Date.UTC(2024, 0, 1 + n)).toISOString();
const tmp = tempDirs('cleanreg-auth-secrets-');

/** Everything a run printed (and any files it wrote) holds none of these secrets. */
function expectNoSecrets(r: CliResult, secrets: string[], files: string[] = []): void {
  const text = [r.stdout, r.stderr, ...files.map((f) => readFileSync(f, 'utf8'))].join('\n');
  expect(text.length).toBeGreaterThan(0);
  expect(leaked(text, secrets)).toEqual([]);
}

afterAll(async () => {
  await stopAllRegistries();
  tmp.cleanup();
});

describe('basic auth on a TLS registry', () => {
  let reg: TestRegistry;
  let p: ImagePusher;
  const secrets = passwordForms(USER, PASSWORD);
  beforeAll(async () => {
    reg = await startRegistry({ tls: true, htpasswd: { user: USER, password: PASSWORD } });
    p = new ImagePusher({ url: reg.url, ca: reg.caPem, basic: { user: USER, password: PASSWORD } });
  });
  afterAll(() => p.close());
  beforeEach(async () => {
    await p.pushImage('sec/app', ['old'], { created: day(1), seed: 'sec-old' });
    await p.pushImage('sec/app', ['new'], { created: day(2), seed: 'sec-new' });
  });
  const base = () => ['-r', reg.url, '-c', reg.caFile!, '-n', 'sec/app', '-k', '1', '--no-cache', '-vvv'];

  test('-u/-pw, deleting, at -vvv', async () => {
    const r = await runBuiltCli([...base(), '-y', '-u', USER, '-pw', PASSWORD]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/> DELETE https:/); // -vvv traces every request
    expect(await p.tags('sec/app')).toEqual(['new']);
    expectNoSecrets(r, secrets);
  });

  test('CLEANREG_PASSWORD and --output json', async () => {
    const r = await runBuiltCli([...base(), '-y', '--output', 'json'], { env: { CLEANREG_USERNAME: USER, CLEANREG_PASSWORD: PASSWORD } });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).summary.deleted).toBe(1);
    expectNoSecrets(r, secrets);
  });

  test('--password-stdin, --dry-run --plan-out FILE: neither output nor the plan file', async () => {
    const plan = join(tmp.make(), 'plan.json');
    const r = await runBuiltCli([...base(), '--dry-run', '--plan-out', plan, '-u', USER, '--password-stdin'], { input: PASSWORD + '\n' });
    expect(r.code).toBe(0);
    const doc = JSON.parse(readFileSync(plan, 'utf8'));
    expect(doc.registry).toBe(reg.url);
    expect(doc.repositories[0].images.length).toBe(2);
    expectNoSecrets(r, secrets, [plan]);
  });

  test('credentials from docker config.json', async () => {
    const dir = tmp.make();
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ auths: { [new URL(reg.url).host]: { auth: Buffer.from(`${USER}:${PASSWORD}`).toString('base64') } } }));
    const r = await runBuiltCli([...base(), '-y'], { env: { DOCKER_CONFIG: dir } });
    expect(r.code).toBe(0);
    expectNoSecrets(r, secrets);
  });

  test('a docker config.json that is not valid JSON is ignored without quoting it (the fault may sit in a password)', async () => {
    for (const entry of [`"password":${PASSWORD}`, `"auth":${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`]) {
      const dir = tmp.make();
      writeFileSync(join(dir, 'config.json'), `{"auths":{"${new URL(reg.url).host}":{"username":"${USER}",${entry}}}}`);
      const r = await runBuiltCli([...base(), '--dry-run'], { env: { DOCKER_CONFIG: dir } });
      expect(r.stderr).toContain(`ignoring ${join(dir, 'config.json')}: it is not valid JSON`);
      expectNoSecrets(r, [...passwordForms(USER, PASSWORD), PASSWORD.slice(0, 6), Buffer.from(`${USER}:${PASSWORD}`).toString('base64').slice(0, 8)]);
    }
  });

  test('a wrong password', async () => {
    const wrong = 'Wr0ng-Secret-' + randomBytes(4).toString('hex');
    const r = await runBuiltCli([...base(), '-y', '-u', USER, '-pw', wrong]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/rejected the credentials/);
    expectNoSecrets(r, passwordForms(USER, wrong));
  });

  test('apply of a saved plan, at -vvv', async () => {
    const plan = join(tmp.make(), 'plan.json');
    const made = await runBuiltCli([...base(), '--dry-run', '--plan-out', plan], { env: { CLEANREG_USERNAME: USER, CLEANREG_PASSWORD: PASSWORD } });
    expect(made.code).toBe(0);
    const r = await runBuiltCli(['apply', plan, '-c', reg.caFile!, '-y', '-vvv', '-u', USER, '-pw', PASSWORD]);
    expect(r.code).toBe(0);
    expect(await p.tags('sec/app')).toEqual(['new']);
    expectNoSecrets(made, secrets, [plan]);
    expectNoSecrets(r, secrets);
  });

  describe('a password in the registry URL is refused without echoing it', () => {
    // Some of these parse as URLs (and must be refused), some do not (and must not be shown as given).
    // In-process runs are fine here: these passwords are never handed to cleanreg as secrets, so nothing learnt
    // by an earlier run in this process can hide them.
    const cases: [string, string][] = [
      ['plain', 'Url-Secret-Pa55'],
      ['with a slash', 'Url/Secret-Pa55'],
      ['with a #', 'Url#Secret-Pa55'],
      ['with a ?', 'Url?Secret-Pa55'],
      ['with a space', 'Url Secret-Pa55'],
      ['percent-encoded', 'Url%2FSecret-Pa55'],
    ];
    test.each(cases)('%s', async (_, password) => {
      const host = new URL(reg.url).host;
      const secretsHere = [password, encodeURIComponent(password), decodeURIComponent(password.replace(/%(?![0-9A-F]{2})/g, '%25'))];
      for (const url of [`https://${USER}:${password}@${host}`, `${USER}:${password}@${host}`]) {
        const r = await runCli(['-r', url, '-c', reg.caFile!, '-n', 'sec/app', '-k', '1', '-y', '-vvv', '--output', 'json']);
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(/registry URL/);
        expectNoSecrets(r, secretsHere);
        const e = await runCli(['-n', 'sec/app', '-k', '1', '-y', '-vvv', '-c', reg.caFile!], { env: { CLEANREG_REGISTRY: url } });
        expect(e.code).toBe(2);
        expectNoSecrets(e, secretsHere);
      }
      expect((await p.tags('sec/app'))?.sort()).toEqual(['new', 'old']);
    });

    test('apply with -r carrying a password', async () => {
      const plan = join(tmp.make(), 'plan.json');
      const made = await runBuiltCli([...base(), '--dry-run', '--plan-out', plan, '-u', USER, '-pw', PASSWORD]);
      expect(made.code).toBe(0);
      const host = new URL(reg.url).host;
      for (const password of ['Apply-Secret-Pa55', 'Apply/Secret-Pa55']) {
        const r = await runCli(['apply', plan, '-r', `https://${USER}:${password}@${host}`, '-c', reg.caFile!, '-y', '-vvv']);
        expect(r.code).toBe(2);
        expectNoSecrets(r, [password, encodeURIComponent(password)]);
      }
      expect((await p.tags('sec/app'))?.sort()).toEqual(['new', 'old']);
    });
  });
});

describe('passwords on the command line that yargs would have split or echoed', () => {
  // Starts with "-" and holds an "h": yargs read `-pw -dash...` as the flags -d -a -s -h ..., showed the help and
  // exited 0; other such passwords came back letter by letter as "Unknown arguments".
  const DASHED = '-dashPa55h-' + randomBytes(4).toString('hex');
  let reg: TestRegistry;
  let p: ImagePusher;
  beforeAll(async () => {
    reg = await startRegistry({ htpasswd: { user: USER, password: DASHED } });
    p = new ImagePusher({ url: reg.url, basic: { user: USER, password: DASHED } });
    await p.pushImage('dash/app', ['old'], { created: day(1), seed: 'dash-old' });
    await p.pushImage('dash/app', ['new'], { created: day(2), seed: 'dash-new' });
  });
  afterAll(() => p.close());
  const base = () => ['-r', reg.url, '-n', 'dash/app', '-k', '1', '--no-cache', '--dry-run', '--output', 'json', '-u', USER];

  test('a password starting with "-" after -pw or --basicauth-pw is the password', async () => {
    for (const flag of ['-pw', '--basicauth-pw']) {
      const r = await runBuiltCli([...base(), flag, DASHED]);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout).repositories[0].delete.map((i: { tags: string[] }) => i.tags)).toEqual([['old']]);
      expectNoSecrets(r, passwordForms(USER, DASHED));
    }
  });

  test('a password after the wrong option (-p is --proxy) is not echoed as an unknown argument: exit 2', async () => {
    // In any locale: yargs would otherwise answer in German ("Unbekanntes Argument: ...") and name the word.
    for (const LANG of ['C.UTF-8', 'de_DE.UTF-8']) {
      const r = await runBuiltCli([...base(), '-p', PASSWORD], { env: { LANG } });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/1 unexpected word \(not shown, as a word may be a password; the password goes after -pw\/--basicauth-pw\)/);
      expectNoSecrets(r, [PASSWORD]);
    }
  });

  test('nor as the value of an option with choices (--order): exit 2, the choices named', async () => {
    for (const words of [['--order', PASSWORD], ['--order', 'x', '--order', PASSWORD], ['--order', `pa"${PASSWORD}`], ['--order', `a", Choices: ${PASSWORD}`]]) {
      const r = await runBuiltCli([...base(), ...words]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("error: --order must be one of created, semver, name");
      expectNoSecrets(r, [PASSWORD]);
    }
  });

  test('nor by delete, where it would be a reference, nor by apply, where it would be the plan file: exit 2', async () => {
    const asRef = await runBuiltCli(['delete', '-r', reg.url, '-u', USER, '-p', PASSWORD, 'dash/app:old', '--dry-run']);
    expect(asRef.code).toBe(2);
    expect(asRef.stderr).toMatch(/reference 1 names no tag: write repo:tag or repo@sha256:… \(the word is not shown/);
    expectNoSecrets(asRef, [PASSWORD]);
    const asFile = await runBuiltCli(['apply', '-r', reg.url, '-u', USER, '-p', PASSWORD]);
    expect(asFile.code).toBe(2);
    expect(asFile.stderr).toMatch(/cannot read the plan: no such file \(the path given is not shown/);
    expectNoSecrets(asFile, [PASSWORD]);
  });

  test('nor in an error about another option that was given the same word (the password is known from the start)', async () => {
    const base = ['-r', reg.url, '-u', USER, '--no-cache', '--dry-run'];
    for (const [words, env, said] of [
      [['-f', PASSWORD, '-pw', PASSWORD], {}, /cannot read repos file \[REDACTED\]/],
      [['-n', 'dash/app', '-k', '1', '--older-than', PASSWORD], { CLEANREG_PASSWORD: PASSWORD }, /--older-than: invalid age "\[REDACTED\]"/],
    ] as const) {
      const r = await runBuiltCli([...base, ...words], { env });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(said);
      expectNoSecrets(r, [PASSWORD]);
    }
  });

  test('an unknown --no-option is named as it was typed, and a password beside it is still not shown', async () => {
    const r = await runBuiltCli(['apply', join(tmpdir(), 'no-such-plan.json'), '--no-cache', '-p', DASHED.slice(1)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown argument: no-cache; 1 unexpected word \(not shown/);
    expectNoSecrets(r, [DASHED.slice(1)]);
  });

  test('nor are the letters of an unknown -xyz group, while unknown options are still named', async () => {
    const r = await runBuiltCli([...base(), '-pw', DASHED, '-Qz9Kq', '--frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown argument: frobnicate; 4 unexpected words \(not shown/);
    expect(r.stderr).not.toMatch(/Q|K|z/);
    expectNoSecrets(r, passwordForms(USER, DASHED));
  });
});

describe('token auth', () => {
  let ts: TokenService;
  let front: TokenFront;
  let reg: TestRegistry;
  let p: ImagePusher;
  beforeAll(async () => {
    ts = await startTokenService({ users: { [TOKEN_USER]: TOKEN_PASSWORD } });
    front = await startTokenFront(ts);
    reg = await startRegistry({ token: { realm: front.realm, service: ts.service, issuer: ts.issuer, rootCertBundle: ts.rootCertBundle } });
    p = new ImagePusher({ url: reg.url, bearer: ts.bearer({ user: TOKEN_USER, password: TOKEN_PASSWORD }) });
  });
  afterAll(async () => {
    p.close();
    await reg.stop();
    await front.stop();
    await ts.stop();
  });
  beforeEach(async () => {
    await p.pushImage('tsec/app', ['old'], { created: day(1), seed: 'tsec-old' });
    await p.pushImage('tsec/app', ['new'], { created: day(2), seed: 'tsec-new' });
    front.issued.splice(0);
  });
  const base = () => ['-r', reg.url, '-n', 'tsec/app', '-k', '1', '--no-cache', '-vvv'];
  const secrets = () => [...passwordForms(TOKEN_USER, TOKEN_PASSWORD), ...front.issued.flatMap(tokenForms)];

  test('deleting at -vvv: neither the password nor any issued token', async () => {
    const r = await runBuiltCli([...base(), '-y', '-u', TOKEN_USER, '-pw', TOKEN_PASSWORD]);
    expect(r.code).toBe(0);
    expect(await p.tags('tsec/app')).toEqual(['new']);
    expect(front.issued.length).toBeGreaterThanOrEqual(3); // no scope, pull, pull,delete
    expectNoSecrets(r, secrets());
  });

  test('--output json with --plan-out', async () => {
    const plan = join(tmp.make(), 'plan.json');
    const r = await runBuiltCli([...base(), '--dry-run', '--output', 'json', '--plan-out', plan], { env: { CLEANREG_USERNAME: TOKEN_USER, CLEANREG_PASSWORD: TOKEN_PASSWORD } });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).repositories[0].delete).toHaveLength(1);
    expect(front.issued.length).toBeGreaterThanOrEqual(2);
    expectNoSecrets(r, secrets(), [plan]);
  });

  test('a wrong password at the token service', async () => {
    const wrong = 'Wr0ng-Token-' + randomBytes(4).toString('hex');
    const r = await runBuiltCli([...base(), '-y', '-u', TOKEN_USER, '-pw', wrong]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/token service/);
    expectNoSecrets(r, [...passwordForms(TOKEN_USER, wrong), ...secrets()]);
  });

  test('a registry that refuses the tokens (401 after the token was issued)', async () => {
    front.mode = 'always-expired';
    try {
      const r = await runBuiltCli([...base(), '-y', '-u', TOKEN_USER, '-pw', TOKEN_PASSWORD]);
      expect(r.code).toBe(1);
      expect(front.issued.length).toBeGreaterThanOrEqual(2);
      expectNoSecrets(r, secrets());
    } finally {
      front.mode = 'pass';
    }
  });
});

describe('failing requests whose error bodies echo the credentials', () => {
  const fakes: FakeRegistry[] = [];
  afterAll(async () => {
    for (const f of fakes) await f.stop();
  });

  test('basic auth: a 500 echoing the Authorization header', async () => {
    const header = 'Basic ' + Buffer.from(`${USER}:${PASSWORD}`).toString('base64');
    const fake = await startFakeRegistry({ requireAuthorization: header });
    fakes.push(fake);
    const echo = JSON.stringify({ errors: [{ code: 'INTERNAL', message: `backend failed for Authorization: ${header} (${PASSWORD})`, detail: { authorization: header, password: PASSWORD } }] });
    fake.fault = failFirst((q) => q.path.endsWith('/tags/list'), [{ status: 500, body: echo }]);
    const r = await runBuiltCli(['-r', fake.url, '-n', 'app', '-k', '1', '-y', '--no-cache', '-vvv', '--retries', '0', '-u', USER, '-pw', PASSWORD]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/HTTP 500/);
    expect(fake.seen.some((q) => q.authorization === header)).toBe(true);
    expectNoSecrets(r, passwordForms(USER, PASSWORD));
  });

  test('bearer auth with an opaque (non-JWT) token: a 500 echoing it', async () => {
    const token = 'op4que' + randomBytes(16).toString('hex');
    const fake = await startFakeRegistry({ requireAuthorization: `Bearer ${token}`, challenge: (url) => `Bearer realm="${url}/token",service="fake"` });
    fakes.push(fake);
    let issued = 0;
    fake.extra = (req, res) => {
      if (!req.url?.startsWith('/token')) return false;
      issued++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, expires_in: 300 }));
      return true;
    };
    fake.fault = failFirst((q) => q.path.endsWith('/manifests/old'), [{ status: 500, body: JSON.stringify({ errors: [{ code: 'INTERNAL', message: `token ${token} is fine, the backend is not` }] }) }]);
    const r = await runBuiltCli(['-r', fake.url, '-n', 'app', '-k', '1', '-y', '--no-cache', '-vvv', '--retries', '0', '-u', USER, '-pw', PASSWORD]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/HTTP 500/);
    expect(issued).toBeGreaterThan(0);
    expect(fake.seen.some((q) => q.authorization === `Bearer ${token}`)).toBe(true);
    expectNoSecrets(r, [...passwordForms(USER, PASSWORD), ...tokenForms(token)]);
  });

  test('a blob redirected to storage on another host: no Authorization goes there, the signed URL is not printed', async () => {
    const header = 'Basic ' + Buffer.from(`${USER}:${PASSWORD}`).toString('base64');
    const fake = await startFakeRegistry({ requireAuthorization: header });
    fakes.push(fake);
    const signature = 'S1gnature' + randomBytes(16).toString('hex');
    const sessionToken = 'Sess10nToken' + randomBytes(16).toString('hex');
    const storageAuth: (string | undefined)[] = [];
    const storage = http.createServer((req, res) => {
      storageAuth.push(req.headers.authorization);
      const digest = new URL(req.url ?? '/', 'http://x').searchParams.get('blob');
      const image = fake.images.find((i) => i.configDigest === digest);
      if (!image) res.writeHead(404).end();
      else res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(image.config);
    });
    await new Promise<void>((resolve) => storage.listen(0, '127.0.0.1', resolve));
    try {
      const storageUrl = `http://127.0.0.1:${(storage.address() as net.AddressInfo).port}`;
      // As distribution does with S3 storage: a 307 to a pre-signed URL (the signature is a credential).
      fake.fault = (q) => {
        if (!q.path.includes('/blobs/')) return undefined;
        const query = `blob=${q.path.slice(q.path.lastIndexOf('/') + 1)}&X-Amz-Security-Token=${sessionToken}&X-Amz-Signature=${signature}`;
        return { status: 307, headers: { location: `${storageUrl}/bucket/data?${query}` }, body: '' };
      };
      const r = await runBuiltCli(['-r', fake.url, '-n', 'app', '-k', '1', '-y', '--no-cache', '-vvv', '-u', USER, '-pw', PASSWORD]);
      expect(r.code).toBe(0);
      expect(fake.tags()).toEqual(['new']);
      expect(storageAuth.length).toBe(2);
      expect(storageAuth).toEqual([undefined, undefined]);
      expectNoSecrets(r, [...passwordForms(USER, PASSWORD), signature, sessionToken]);
    } finally {
      storage.closeAllConnections();
      await new Promise((resolve) => storage.close(resolve));
    }
  });
});
