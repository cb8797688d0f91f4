/**
 * A real distribution 2.8 registry that requires client certificates (`http.tls.clientcas`), which
 * tests/helpers/registry.ts has no option for. It serves an existing storage directory, so a plain registry on the
 * same directory (startRegistry({ dataDir })) can push and check images beside it.
 *
 * Spawned through `setpriv --pdeathsig SIGKILL` like the helper's registries: it dies with the jest worker.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type net from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { makeLeafCert, type LeafCert } from '../helpers/certs.js';
import { freePort } from '../helpers/registry.js';

export interface MtlsRegistry {
  url: string;
  /** Trusts the server certificate (-c). */
  caFile: string;
  /** A client certificate the registry accepts (--cert/--key). */
  client: LeafCert;
  /** A client certificate from a CA the registry does not know. */
  stranger: LeafCert;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function probe(url: string, tls: { ca: string; cert: string; key: string }): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ...tls, agent: false, timeout: 2000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('probe timeout')));
    req.on('error', reject);
  });
}

export async function startMtlsRegistry(dataDir: string): Promise<MtlsRegistry> {
  const dir = mkdtempSync(join(os.tmpdir(), 'cleanreg-mtls-'));
  const server = makeLeafCert(dir, 'server', { cn: '127.0.0.1', san: ['IP:127.0.0.1', 'DNS:localhost'], keyType: 'ec' });
  const client = makeLeafCert(dir, 'client', { cn: 'cleanreg-client', keyType: 'ec' });
  const stranger = makeLeafCert(dir, 'stranger', { cn: 'someone-else', keyType: 'ec' });
  const port = await freePort();
  const url = `https://127.0.0.1:${port}`;
  const q = JSON.stringify;
  const config = join(dir, 'config.yml');
  writeFileSync(config, [
    'version: 0.1',
    'log:',
    '  level: info',
    '  formatter: text',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${q(dataDir)}`,
    '  delete:',
    '    enabled: true',
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    '  secret: cleanreg-test-http-secret',
    '  tls:',
    `    certificate: ${q(server.certFile)}`,
    `    key: ${q(server.keyFile)}`,
    '    clientcas:',
    `      - ${q(client.caFile)}`,
    'health:',
    '  storagedriver:',
    '    enabled: false',
  ].join('\n') + '\n');

  const [cmd, args] = existsSync('/usr/bin/setpriv')
    ? ['/usr/bin/setpriv', ['--pdeathsig', 'SIGKILL', '--', 'docker-registry', 'serve', config]]
    : ['docker-registry', ['serve', config]];
  const child: ChildProcess = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr = (stderr + c).slice(-4000)));
  let dead = false;
  const exited = new Promise<void>((resolve) => child.once('close', () => { dead = true; resolve(); }));
  child.unref();
  (child.stderr as net.Socket).unref();

  const stop = async () => {
    if (!dead) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 10_000;
  for (;;) {
    if (dead) {
      await stop();
      throw new Error(`docker-registry (mTLS) exited during start:\n${stderr}`);
    }
    if (stderr.includes('listening on')) {
      try {
        if ((await probe(`${url}/v2/`, { ca: server.caPem, cert: client.certPem, key: client.keyPem })) === 200) break;
      } catch { /* not serving yet */ }
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`docker-registry (mTLS) did not answer on ${url} within 10 s:\n${stderr}`);
    }
    await sleep(50);
  }
  return { url, caFile: server.caFile, client, stranger, stop };
}
