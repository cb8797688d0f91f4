/**
 * mTLS (--cert/--key) against a real distribution 2.8 registry with `http.tls.clientcas`. Images are pushed and
 * checked through a plain registry serving the same storage directory.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { makeLeafCert, type LeafCert } from '../helpers/certs.js';
import { runCli } from '../helpers/cli.js';
import { ImagePusher } from '../helpers/images.js';
import { startRegistry, stopAllRegistries, type TestRegistry } from '../helpers/registry.js';
import { tempDirs } from './servers.js';

const day = (n: number) => new Date(Date.UTC(2024, 0, 1 + n)).toISOString();
const tmp = tempDirs('cleanreg-auth-mtls-');

let mtls: TestRegistry;
let side: TestRegistry; // plain, same storage
let p: ImagePusher;
let client: LeafCert; // accepted by the registry
let stranger: LeafCert; // from a CA the registry does not know

beforeAll(async () => {
  const dataDir = tmp.make();
  const certDir = tmp.make();
  client = makeLeafCert(certDir, 'client', { cn: 'cleanreg-client', keyType: 'ec' });
  stranger = makeLeafCert(certDir, 'stranger', { cn: 'someone-else', keyType: 'ec' });
  side = await startRegistry({ dataDir });
  p = new ImagePusher({ url: side.url });
  mtls = await startRegistry({ dataDir, tls: true, clientCas: client });
});
afterAll(async () => {
  p.close();
  await stopAllRegistries();
  tmp.cleanup();
});
beforeEach(async () => {
  await p.pushImage('mtls/app', ['old'], { created: day(1), seed: 'mtls-old' });
  await p.pushImage('mtls/app', ['new'], { created: day(2), seed: 'mtls-new' });
});

const args = () => ['-r', mtls.url, '-c', mtls.caFile!, '-n', 'mtls/app', '-k', '1', '-y', '--no-cache', '--retries', '0'];
const untouched = async () => expect((await p.tags('mtls/app'))?.sort()).toEqual(['new', 'old']);

describe('a registry that requires a client certificate', () => {
  test('with --cert/--key: works and deletes', async () => {
    const r = await runCli([...args(), '--cert', client.certFile, '--key', client.keyFile]);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect(await p.tags('mtls/app')).toEqual(['new']);
  });

  test('without a client certificate: exit 1, a TLS error that points at --cert/--key', async () => {
    const r = await runCli(args());
    expect(r.code).toBe(1);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.stderr).toMatch(/^error: .*client certificate/m);
    expect(r.stderr).toMatch(/--cert.*--key/);
    await untouched();
  });

  test('with a certificate from a CA the registry does not trust: exit 1, a TLS error about the client certificate', async () => {
    const r = await runCli([...args(), '--cert', stranger.certFile, '--key', stranger.keyFile]);
    expect(r.code).toBe(1);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.stderr).toMatch(/^error: .*client certificate/m);
    await untouched();
  });

  test('--cert without --key is a usage error, before any request', async () => {
    const r = await runCli([...args(), '--cert', client.certFile]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--cert and --key go together/);
    await untouched();
  });

  test('an unreadable key file is a usage error naming it', async () => {
    const r = await runCli([...args(), '--cert', client.certFile, '--key', '/nonexistent/client.key']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot read client key \/nonexistent\/client\.key: ENOENT/);
    await untouched();
  });

  test('the client key never shows, even at -vvv', async () => {
    const r = await runCli([...args(), '--cert', client.certFile, '--key', client.keyFile, '-vvv']);
    expect(r.code).toBe(0);
    const body = client.keyPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
    expect(body.length).toBeGreaterThan(40);
    expect((r.stdout + r.stderr).replace(/\s+/g, '')).not.toContain(body.slice(0, 40));
    expect(r.stdout + r.stderr).not.toMatch(/PRIVATE KEY/);
  });
});
