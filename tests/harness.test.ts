/** Proves the integration harness against real distribution 2.8 registries (docker-registry serve). */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { ImagePusher, MT } from './helpers/images.js';
import { startRegistry, stopAllRegistries, type TestRegistry } from './helpers/registry.js';
import { startTokenService, type TokenService } from './helpers/token-service.js';

afterAll(stopAllRegistries);

const json = (b: Buffer) => JSON.parse(b.toString('utf8'));
const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('plain registry', () => {
  let reg: TestRegistry;
  let p: ImagePusher;
  beforeAll(async () => {
    reg = await startRegistry();
    p = new ImagePusher({ url: reg.url });
  });
  afterAll(() => p.close());

  test('push, tags, resolve, pullable; seeds make digests', async () => {
    expect(reg.url).toBe(`http://127.0.0.1:${reg.port}`);
    const img = await p.pushImage('app', ['v1', 'latest'], { created: '2024-01-01T00:00:00Z', seed: 's1', layers: 2 });
    expect(img.mediaType).toBe(MT.dockerManifest);
    expect(img.layerDigests).toHaveLength(2);
    expect((await p.tags('app'))?.sort()).toEqual(['latest', 'v1']);
    expect(await p.resolve('app', 'v1')).toBe(img.digest);
    expect(await p.resolve('app', 'nope')).toBeNull();
    expect(await p.tags('no-such-repo')).toBeNull();
    expect(await p.isPullable('app', 'v1')).toBe(true);

    const config = json((await p.send('GET', `/v2/app/blobs/${img.configDigest}`)).body);
    expect(config).toMatchObject({ created: '2024-01-01T00:00:00Z', architecture: 'amd64', os: 'linux' });

    const same = await p.pushImage('other', ['x'], { created: '2024-01-01T00:00:00Z', seed: 's1', layers: 2 });
    expect(same.digest).toBe(img.digest);
    const differentSeed = await p.pushImage('other', ['y'], { created: '2024-01-01T00:00:00Z', seed: 's2', layers: 2 });
    expect(differentSeed.digest).not.toBe(img.digest);
    const undated = await p.pushImage('other', ['undated'], { created: null, kind: 'oci' });
    expect(undated.mediaType).toBe(MT.ociManifest);
    expect(json((await p.send('GET', `/v2/other/blobs/${undated.configDigest}`)).body)).not.toHaveProperty('created');

    await p.tag('app', 'stable', img.digest);
    expect(await p.resolve('app', 'stable')).toBe(img.digest);
  });

  test('OCI index with 2 children resolves to the index digest, not a child', async () => {
    const idx = await p.pushIndex('multi', ['1.0'], [
      { arch: 'amd64', created: '2024-02-01T00:00:00Z' },
      { arch: 'arm64', created: '2024-03-01T00:00:00Z' },
    ], { kind: 'oci' });
    expect(idx.mediaType).toBe(MT.ociIndex);
    expect(idx.children).toHaveLength(2);
    const resolved = await p.resolve('multi', '1.0');
    expect(resolved).toBe(idx.digest);
    expect(idx.children.map((c) => c.digest)).not.toContain(resolved);
    expect(await p.tags('multi')).toEqual(['1.0']); // children are pushed untagged
    expect(await p.isPullable('multi', '1.0')).toBe(true);

    // The Accept trap from DESIGN.md: v2 without lists → the amd64 child of a Docker manifest list.
    const list = await p.pushIndex('multi', ['docker-list'], [
      { arch: 'amd64', created: '2024-02-01T00:00:00Z' },
      { arch: 'arm64', created: '2024-02-01T00:00:00Z' },
    ], { kind: 'docker' });
    expect(list.mediaType).toBe(MT.dockerList);
    expect(await p.resolve('multi', 'docker-list')).toBe(list.digest);
    const narrow = await p.send('HEAD', '/v2/multi/manifests/docker-list', { headers: { accept: MT.dockerManifest } });
    expect(narrow.headers['docker-content-digest']).toBe(list.children[0].digest);
  });

  test('cosign-style artifact with subject', async () => {
    const img = await p.pushImage('signed', ['v1']);
    const sigTag = `sha256-${img.digest.slice('sha256:'.length)}.sig`;
    const art = await p.pushArtifact('signed', img.digest, [sigTag]);
    expect(await p.resolve('signed', sigTag)).toBe(art.digest);
    expect(await p.isPullable('signed', sigTag)).toBe(true);
    const m = json((await p.send('GET', `/v2/signed/manifests/${sigTag}`, { headers: { accept: MT.ociManifest } })).body);
    expect(m.subject).toEqual({ mediaType: MT.dockerManifest, digest: img.digest, size: img.size });
    // distribution 2.8 has no referrers API.
    expect((await p.send('GET', `/v2/signed/referrers/${img.digest}`)).status).toBe(404);
  });

  test('DELETE: by tag 400, by digest 202 and every tag goes', async () => {
    const img = await p.pushImage('del', ['a', 'b']);
    expect((await p.send('DELETE', '/v2/del/manifests/a')).status).toBe(400);
    expect((await p.send('DELETE', `/v2/del/manifests/${img.digest}`)).status).toBe(202);
    expect(await p.resolve('del', 'a')).toBeNull();
    expect(await p.resolve('del', 'b')).toBeNull();
    expect(await p.tags('del')).toBeNull(); // the repo stays, with "tags": null
  });

  test('accessLog shows the requests, one line each', async () => {
    // The log is read from a pipe: the previous test's last lines may still be on their way.
    await reg.syncLog();
    reg.clearAccessLog();
    const before = p.requests;
    await p.resolve('app', 'v1');
    await p.tags('app');
    const log = await reg.syncLog();
    expect(log).toEqual(['HEAD /v2/app/manifests/v1', 'GET /v2/app/tags/list']);
    expect(p.requests - before).toBe(2);
    expect(reg.accessEntries().map((e) => e.status)).toEqual([200, 200]);
  });
});

describe('TLS + htpasswd', () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startRegistry({ tls: true, htpasswd: { user: 'alice', password: 's3cret' } });
  });

  test('wrong password 401, right one works, the CA is needed', async () => {
    expect(reg.url).toBe(`https://127.0.0.1:${reg.port}`);
    expect(reg.caPem).toContain('BEGIN CERTIFICATE');

    const wrong = new ImagePusher({ url: reg.url, ca: reg.caPem, basic: { user: 'alice', password: 'nope' } });
    const res = await wrong.send('GET', '/v2/');
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Basic realm="cleanreg-test"/);
    wrong.close();

    const noCa = new ImagePusher({ url: reg.url, basic: { user: 'alice', password: 's3cret' } });
    await expect(noCa.send('GET', '/v2/')).rejects.toThrow(/certificate/i);
    noCa.close();

    const right = new ImagePusher({ url: reg.url, ca: reg.caPem, basic: { user: 'alice', password: 's3cret' } });
    const img = await right.pushImage('secure/app', ['v1']);
    expect(await right.resolve('secure/app', 'v1')).toBe(img.digest);
    expect(await right.isPullable('secure/app', 'v1')).toBe(true);
    right.close();

    // The certificate also names localhost.
    const byName = new ImagePusher({ url: `https://localhost:${reg.port}`, ca: reg.caPem, basic: { user: 'alice', password: 's3cret' } });
    expect((await byName.send('GET', '/v2/')).status).toBe(200);
    byName.close();
  });
});

describe('registry options', () => {
  test('delete disabled: DELETE by digest → 405 UNSUPPORTED', async () => {
    const reg = await startRegistry({ deleteEnabled: false });
    const p = new ImagePusher({ url: reg.url });
    const img = await p.pushImage('keep', ['v1']);
    const res = await p.send('DELETE', `/v2/keep/manifests/${img.digest}`);
    expect(res.status).toBe(405);
    expect(json(res.body).errors[0].code).toBe('UNSUPPORTED');
    expect(await p.resolve('keep', 'v1')).toBe(img.digest);
    p.close();
    await reg.stop();
  });

  test('catalog.maxentries 2: n above it → 400, default page = maxentries with a relative Link', async () => {
    const reg = await startRegistry({ catalogMaxEntries: 2 });
    const p = new ImagePusher({ url: reg.url });
    for (const repo of ['a', 'b', 'c']) await p.pushImage(repo, ['v1'], { seed: 'same' });

    // distribution 2.8.2: n > maxentries is refused outright (no clamping).
    const tooMany = await p.send('GET', '/v2/_catalog?n=5');
    expect(tooMany.status).toBe(400);
    expect(json(tooMany.body).errors[0].code).toBe('PAGINATION_NUMBER_INVALID');

    // Without n it pages by maxentries; Link is relative and carries last + n.
    const first = await p.send('GET', '/v2/_catalog');
    expect(json(first.body).repositories).toEqual(['a', 'b']);
    expect(first.headers.link).toBe('</v2/_catalog?last=b&n=2>; rel="next"');
    const second = await p.send('GET', '/v2/_catalog?last=b&n=2');
    expect(json(second.body).repositories).toEqual(['c']);
    expect(second.headers.link).toBeUndefined();
    p.close();
    await reg.stop();
  });
});

describe('auth: token', () => {
  let ts: TokenService;
  let reg: TestRegistry;
  beforeAll(async () => {
    ts = await startTokenService({ users: { bob: 'pw' } });
    reg = await startRegistry({ token: ts });
  });
  afterAll(() => ts.stop());

  test('anonymous → 401 Bearer challenge; with a token push works', async () => {
    const anon = new ImagePusher({ url: reg.url });
    const ping = await anon.send('GET', '/v2/');
    expect(ping.status).toBe(401);
    expect(ping.headers['www-authenticate']).toBe(`Bearer realm="${ts.realm}",service="${ts.service}"`);
    const challenge = await anon.send('GET', '/v2/app/tags/list');
    expect(challenge.headers['www-authenticate']).toContain('scope="repository:app:pull"');
    anon.close();

    // Anonymous gets a token with no access: the registry still says 401.
    const anonToken = new ImagePusher({ url: reg.url, bearer: ts.bearer() });
    await expect(anonToken.pushImage('app', ['v1'])).rejects.toThrow(/HTTP 401/);
    anonToken.close();

    const bob = new ImagePusher({ url: reg.url, bearer: ts.bearer({ user: 'bob', password: 'pw' }) });
    const img = await bob.pushImage('app', ['v1']);
    expect(await bob.resolve('app', 'v1')).toBe(img.digest);
    expect(await bob.isPullable('app', 'v1')).toBe(true);
    // 2.8 builds the challenge's action list from a Go map: "pull,push" or "push,pull", at random.
    const pushScopes = ts.requests.filter((r) => r.user === 'bob' && r.status === 200 && r.service === ts.service)
      .flatMap((r) => r.scope).filter((s) => /^repository:app:(pull,push|push,pull)$/.test(s));
    expect(pushScopes.length).toBeGreaterThan(0);

    const catalog = await bob.send('GET', '/v2/_catalog');
    expect(catalog.status).toBe(200);
    expect(json(catalog.body).repositories).toEqual(['app']);
    expect(ts.requests.at(-1)?.scope).toEqual(['registry:catalog:*']);

    await expect(ts.bearer({ user: 'bob', password: 'wrong' })('repository:app:pull')).rejects.toThrow(/HTTP 401/);
    bob.close();
  });

  test('tokens: expired → 401; "*" grants delete; rejectDeleteScope refuses delete', async () => {
    const raw = new ImagePusher({ url: reg.url });
    const expired = ts.mint([{ type: 'repository', name: 'app', actions: ['pull'] }], { expiresIn: -120 });
    expect((await raw.send('GET', '/v2/app/tags/list', { headers: { authorization: `Bearer ${expired}` } })).status).toBe(401);
    const valid = ts.mint([{ type: 'repository', name: 'app', actions: ['pull'] }]);
    expect((await raw.send('GET', '/v2/app/tags/list', { headers: { authorization: `Bearer ${valid}` } })).status).toBe(200);

    const digest = await new ImagePusher({ url: reg.url, bearer: ts.bearer({ user: 'bob', password: 'pw' }) }).resolve('app', 'v1');
    const star = ts.mint([{ type: 'repository', name: 'app', actions: ['*'] }]);
    expect((await raw.send('DELETE', `/v2/app/manifests/${digest}`, { headers: { authorization: `Bearer ${star}` } })).status).toBe(202);
    raw.close();

    const strict = await startTokenService({ users: { bob: 'pw' }, rejectDeleteScope: true, field: 'access_token' });
    const fetch = strict.bearer({ user: 'bob', password: 'pw' });
    await expect(fetch('repository:app:pull,delete')).rejects.toThrow(/HTTP 401/);
    expect(await fetch('repository:app:*')).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(strict.requests.map((r) => r.status)).toEqual([401, 200]);
    await strict.stop();
  });
});

describe('garbage collection and restart', () => {
  test('garbageCollect after stop frees blobs; restart and dataDir reuse keep storage', async () => {
    const reg = await startRegistry();
    const p = new ImagePusher({ url: reg.url });
    const doomed = await p.pushImage('gc', ['old']);
    const kept = await p.pushImage('gc', ['new']);
    const idx = await p.pushIndex('gc', ['multi'], [{ arch: 'amd64', created: null }, { arch: 'arm64', created: null }]);
    expect((await p.send('DELETE', `/v2/gc/manifests/${doomed.digest}`)).status).toBe(202);
    const pid = reg.pid()!;
    p.close();

    await expect(reg.garbageCollect()).rejects.toThrow(/stop\(\) the registry first/);
    await reg.stop();
    expect(reg.running()).toBe(false);
    expect(isAlive(pid)).toBe(false);

    const out = await reg.garbageCollect();
    expect(out).toContain(`blob eligible for deletion: ${doomed.layerDigests[0]}`);
    expect(out).not.toContain(`blob eligible for deletion: ${kept.layerDigests[0]}`);

    await reg.restart();
    const q = new ImagePusher({ url: reg.url });
    expect(await q.isPullable('gc', 'new')).toBe(true);
    expect((await q.send('GET', `/v2/gc/blobs/${doomed.layerDigests[0]}`)).status).toBe(404);
    expect(await q.isPullable('gc', 'multi')).toBe(true);
    q.close();
    await reg.stop();

    // distribution issue 3178: --delete-untagged also removes the children of a kept (tagged) index.
    const untagged = await reg.garbageCollect({ deleteUntagged: true });
    expect(untagged).toContain(`manifest eligible for deletion`);
    const again = await startRegistry({ dataDir: reg.dataDir });
    const r = new ImagePusher({ url: again.url });
    expect(await r.resolve('gc', 'multi')).toBe(idx.digest);
    expect(await r.isPullable('gc', 'multi')).toBe(false);
    expect(await r.isPullable('gc', 'new')).toBe(true);
    r.close();
    await again.stop();
  });
});
