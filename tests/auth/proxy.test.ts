/**
 * -p/--proxy: HTTP_PROXY for http:// registries, HTTPS_PROXY for https:// ones, NO_PROXY honoured, no proxy without
 * -p. A forward proxy in the test code counts what it forwarded (absolute-URI requests) and tunnelled (CONNECT).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { runCli } from '../helpers/cli.js';
import { ImagePusher } from '../helpers/images.js';
import { freePort, startRegistry, stopAllRegistries, type TestRegistry } from '../helpers/registry.js';
import { startForwardProxy, type ForwardProxy } from './servers.js';

const day = (n: number) => new Date(Date.UTC(2024, 0, 1 + n)).toISOString();
const PROXY_USER = 'proxyuser';
const PROXY_PASSWORD = 'Pr0xy-Secret-77';

let plain: TestRegistry;
let tls: TestRegistry;
let pPlain: ImagePusher;
let pTls: ImagePusher;
let proxy: ForwardProxy;
const extraProxies: ForwardProxy[] = [];

beforeAll(async () => {
  plain = await startRegistry();
  tls = await startRegistry({ tls: true });
  pPlain = new ImagePusher({ url: plain.url });
  pTls = new ImagePusher({ url: tls.url, ca: tls.caPem });
  proxy = await startForwardProxy();
});
afterAll(async () => {
  pPlain.close();
  pTls.close();
  await proxy.stop();
  for (const p of extraProxies) await p.stop();
  await stopAllRegistries();
});

beforeEach(async () => {
  for (const p of [pPlain, pTls]) {
    await p.pushImage('px/app', ['old'], { created: day(1), seed: 'px-old' });
    await p.pushImage('px/app', ['new'], { created: day(2), seed: 'px-new' });
  }
  proxy.forwarded.splice(0);
  proxy.tunnels.splice(0);
  await plain.syncLog(); // the pushes' lines are in before the log is cleared
  plain.clearAccessLog();
});

const authority = (reg: TestRegistry) => new URL(reg.url).host;
const plainArgs = () => ['-r', plain.url, '-n', 'px/app', '-k', '1', '-y', '--no-cache'];
const tlsArgs = () => ['-r', tls.url, '-c', tls.caFile!, '-n', 'px/app', '-k', '1', '-y', '--no-cache'];
/** Everything the proxy carried for this registry: forwarded requests and tunnels. */
const carried = (p: ForwardProxy, reg: TestRegistry) => [
  ...p.forwarded.filter((f) => f.includes(`//${authority(reg)}/`)),
  ...p.tunnels.filter((t) => t === authority(reg)),
];

describe('with -p', () => {
  test('HTTP_PROXY: a plain registry is reached through the proxy', async () => {
    const r = await runCli(['-p', ...plainArgs()], { env: { HTTP_PROXY: proxy.url } });
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(await pPlain.tags('px/app')).toEqual(['new']);
    expect(carried(proxy, plain).length).toBeGreaterThan(0);
  });

  test('plain http:// requests go to the proxy as absolute-URI requests, one per request (CONNECT is for TLS)', async () => {
    // Like Squid's default `http_access deny CONNECT !SSL_ports`: this proxy tunnels only to port 443.
    const strict = await startForwardProxy({ connectPorts: [443] });
    extraProxies.push(strict);
    const r = await runCli(['-p', ...plainArgs()], { env: { HTTP_PROXY: strict.url } });
    // Every request the registry served came through the proxy, as "METHOD http://host:port/path".
    const served = (await plain.syncLog()).map((l) => l.replace(' ', ` http://${authority(plain)}`));
    expect(strict.refused).toEqual([]);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(await pPlain.tags('px/app')).toEqual(['new']);
    expect(served.length).toBeGreaterThan(5);
    expect([...strict.forwarded].sort()).toEqual(served.sort());
  });

  test('HTTPS_PROXY: a TLS registry is reached through a CONNECT tunnel, its certificate still checked with -c', async () => {
    const r = await runCli(['-p', ...tlsArgs()], { env: { HTTPS_PROXY: proxy.url } });
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(await pTls.tags('px/app')).toEqual(['new']);
    expect(proxy.tunnels.length).toBeGreaterThan(0);
    expect(new Set(proxy.tunnels)).toEqual(new Set([authority(tls)]));
    expect(proxy.forwarded).toEqual([]);
  });

  test('through the tunnel, an untrusted certificate is still refused', async () => {
    const r = await runCli(['-p', '-r', tls.url, '-n', 'px/app', '-k', '1', '-y', '--no-cache', '--retries', '0'], { env: { HTTPS_PROXY: proxy.url } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not trusted/);
    expect(proxy.tunnels).toContain(authority(tls));
    expect((await pTls.tags('px/app'))?.sort()).toEqual(['new', 'old']);
  });

  test('lower-case http_proxy works as well', async () => {
    const r = await runCli(['-p', ...plainArgs()], { env: { http_proxy: proxy.url } });
    expect(r.code).toBe(0);
    expect(carried(proxy, plain).length).toBeGreaterThan(0);
  });

  test('a proxy given without a scheme (HTTP_PROXY=host:port) is an http:// proxy, as curl and Go take it', async () => {
    const before = carried(proxy, plain).length;
    const r = await runCli(['-p', ...plainArgs()], { env: { HTTP_PROXY: proxy.url.replace(/^http:\/\//, '') } });
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(carried(proxy, plain).length).toBeGreaterThan(before);
  });

  test('NO_PROXY=127.0.0.1 bypasses the proxy', async () => {
    const r = await runCli(['-p', ...plainArgs()], { env: { HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.1' } });
    expect(r.code).toBe(0);
    expect(await pPlain.tags('px/app')).toEqual(['new']);
    const t = await runCli(['-p', ...tlsArgs()], { env: { HTTPS_PROXY: proxy.url, no_proxy: 'localhost,127.0.0.1' } });
    expect(t.code).toBe(0);
    expect(await pTls.tags('px/app')).toEqual(['new']);
    expect(proxy.forwarded).toEqual([]);
    expect(proxy.tunnels).toEqual([]);
  });

  test('NO_PROXY with a CIDR range (127.0.0.0/8) bypasses the proxy for the addresses in it, not for others', async () => {
    const before = carried(proxy, plain).length;
    const r = await runCli(['-p', ...plainArgs()], { env: { HTTP_PROXY: proxy.url, NO_PROXY: 'example.com,127.0.0.0/8' } });
    expect(r.code).toBe(0);
    expect(carried(proxy, plain).length).toBe(before);
    const other = await runCli(['-p', ...plainArgs()], { env: { HTTP_PROXY: proxy.url, NO_PROXY: '10.0.0.0/8,::1/128' } });
    expect(other.code).toBe(0);
    expect(carried(proxy, plain).length).toBeGreaterThan(before);
  });

  test('a NO_PROXY for other hosts (or another port) does not bypass it', async () => {
    const r = await runCli(['-p', ...plainArgs()], { env: { HTTP_PROXY: proxy.url, NO_PROXY: 'example.com,.internal,127.0.0.1:1' } });
    expect(r.code).toBe(0);
    expect(carried(proxy, plain).length).toBeGreaterThan(0);
  });

  test('proxy credentials in the proxy URL are sent, and never printed', async () => {
    const authed = await startForwardProxy({ auth: { user: PROXY_USER, password: PROXY_PASSWORD } });
    extraProxies.push(authed);
    const proxyUrl = authed.url.replace('//', `//${PROXY_USER}:${PROXY_PASSWORD}@`);
    const r = await runCli(['-p', ...tlsArgs(), '-vvv'], { env: { HTTPS_PROXY: proxyUrl } });
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    const q = await runCli(['-p', ...plainArgs(), '-vvv'], { env: { HTTP_PROXY: proxyUrl } });
    expect(q.stderr).not.toMatch(/error/);
    expect(q.code).toBe(0);
    expect(authed.refused).toEqual([]);
    expect(authed.tunnels).toContain(authority(tls));
    expect(carried(authed, plain).length).toBeGreaterThan(0);
    expect(r.stderr).toContain(`using proxy ${authed.url}/ for ${authority(tls)}`);
    const out = r.stdout + r.stderr + q.stdout + q.stderr;
    expect(out).not.toContain(PROXY_PASSWORD);
    expect(out).not.toContain(Buffer.from(`${PROXY_USER}:${PROXY_PASSWORD}`).toString('base64'));
  });

  test('a proxy that refuses (407): exit 1, the error says it was the proxy', async () => {
    const authed = await startForwardProxy({ auth: { user: PROXY_USER, password: PROXY_PASSWORD } });
    extraProxies.push(authed);
    // The TLS registry (CONNECT answered 407) and the plain one (the request answered 407).
    const t = await runCli(['-p', ...tlsArgs(), '--retries', '0'], { env: { HTTPS_PROXY: authed.url } });
    const r = await runCli(['-p', ...plainArgs(), '--retries', '0'], { env: { HTTP_PROXY: authed.url } });
    for (const run of [t, r]) {
      expect(run.code).toBe(1);
      expect(run.stderr).not.toMatch(/internal error/);
      expect(run.stderr).toMatch(/^error: .*proxy.*407/m);
      expect(run.stderr).toMatch(/put them in the proxy URL \(HTTP_PROXY, HTTPS_PROXY\) as user:password@ right after http:\/\//);
    }
    expect(authed.refused.length).toBeGreaterThanOrEqual(2);
    expect((await pTls.tags('px/app'))?.sort()).toEqual(['new', 'old']);
    expect((await pPlain.tags('px/app'))?.sort()).toEqual(['new', 'old']);
  });

  test('a proxy that is down: exit 1, the error names the proxy, not the registry', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const r = await runCli(['-p', ...plainArgs(), '--retries', '0'], { env: { HTTP_PROXY: dead } });
    expect(r.code).toBe(1);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.stderr).toMatch(/^error: .*proxy/m);
    expect(r.stderr).toContain(dead);
  });
});

describe('with -p, a proxy that answers for the registry', () => {
  test.each([403, 502])('with HTTP %i and its own page: the error says it is most likely the proxy, not the registry', async (status) => {
    const denying = http.createServer((req, res) => res.writeHead(status, { 'content-type': 'text/html' }).end('<html><body>Access Denied</body></html>'));
    await new Promise<void>((resolve) => denying.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(denying.address() as AddressInfo).port}`;
    try {
      const r = await runCli(['-p', ...plainArgs(), '--retries', '0'], { env: { HTTP_PROXY: url } });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`HTTP ${status} through the proxy ${url}, without a registry error in the answer: most likely the proxy's`);
      expect(r.stderr).toContain('hint: check what the proxy allows for this registry, or NO_PROXY for it');
      expect(r.stderr).not.toMatch(/permission|check its logs/);
    } finally {
      await new Promise((resolve) => denying.close(resolve));
    }
  });
});

describe('with -p, proxy settings that cannot work: exit 2 before any request, the value not shown', () => {
  test.each([
    { name: 'HTTP_PROXY', value: `http://${PROXY_USER}:${PROXY_PASSWORD}@proxy.example.com:99999`, said: 'HTTP_PROXY is not a valid proxy URL (its value is not shown: it may hold a password)' },
    { name: 'https_proxy', value: `http://${PROXY_USER}:${PROXY_PASSWORD}%zz@proxy.example.com:3128`, said: 'https_proxy is not a valid proxy URL' },
    { name: 'HTTP_PROXY', value: 'socks5://127.0.0.1:1080', said: 'HTTP_PROXY: cleanreg goes through HTTP proxies (http:// or https://), not socks5://' },
  ])('$name=$value', async ({ name, value, said }) => {
    const r = await runCli(['-p', ...plainArgs()], { env: { [name]: value } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(said);
    expect(r.stderr + r.stdout).not.toContain(PROXY_PASSWORD);
    await plain.syncLog();
    expect(plain.accessEntries().filter((e) => !e.uri.includes('syncLog'))).toHaveLength(0);
    expect(await pPlain.tags('px/app')).toEqual(expect.arrayContaining(['new', 'old']));
  });
});

describe('without -p', () => {
  test('HTTP_PROXY and HTTPS_PROXY are ignored', async () => {
    const env = { HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url, http_proxy: proxy.url, https_proxy: proxy.url };
    const r = await runCli(plainArgs(), { env });
    expect(r.code).toBe(0);
    const t = await runCli(tlsArgs(), { env });
    expect(t.code).toBe(0);
    expect(await pPlain.tags('px/app')).toEqual(['new']);
    expect(await pTls.tags('px/app')).toEqual(['new']);
    expect(proxy.forwarded).toEqual([]);
    expect(proxy.tunnels).toEqual([]);
  });
});
