/**
 * Starts real distribution 2.8 registries (`docker-registry serve CONFIG`) on 127.0.0.1 for integration tests.
 *
 * Process hygiene: every registry is spawned through `setpriv --pdeathsig SIGKILL`, so the kernel kills it when the
 * process that started it (the jest worker) dies, however it dies. Under jest the 'exit' hook below never fires (test
 * code gets a copy of `process`), so temp dirs are removed only by `stopAllRegistries()`: call it in an `afterAll`.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { makeLeafCert, type LeafCert } from './certs.js';

export interface RegistryOptions {
  tls?: boolean;
  /** With tls: require client certificates signed by `clientCas.caFile` (`http.tls.clientcas`); probes present this cert. */
  clientCas?: LeafCert;
  htpasswd?: { user: string; password: string };
  deleteEnabled?: boolean; // default true
  catalogMaxEntries?: number;
  token?: { realm: string; service: string; issuer: string; rootCertBundle: string };
  dataDir?: string;
}

export interface AccessEntry { method: string; uri: string; status: number; userAgent: string }

export interface TestRegistry {
  url: string;
  port: number;
  caFile?: string;
  caPem?: string;
  dataDir: string;
  configPath: string;
  /** "METHOD URI" (URI as requested, query included) per request since start (kept across restart), probes left out. */
  accessLog(): string[];
  accessEntries(): AccessEntry[];
  clearAccessLog(): void;
  /** Resolves once every request answered so far is in accessLog() (the log is read from a pipe, asynchronously). */
  syncLog(): Promise<string[]>;
  running(): boolean;
  pid(): number | undefined; // of the live process
  stop(): Promise<void>;
  garbageCollect(opts?: { deleteUntagged?: boolean; dryRun?: boolean }): Promise<string>;
  restart(): Promise<void>;
}

const BINARY = 'docker-registry';
const PROBE = 'cleanreg-harness-probe';
const live = new Set<ChildProcess>();
const ownedDirs = new Map<TestRegistry, string>();
let hooked = false;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL');
    for (const dir of ownedDirs.values()) rmSync(dir, { recursive: true, force: true });
  });
}

/** Waits until every running registry started here has logged the requests answered so far (see syncLog). */
export async function syncAllLogs(): Promise<void> {
  await Promise.all([...ownedDirs.keys()].filter((r) => r.running()).map((r) => r.syncLog()));
}

/** For afterAll: stops every registry started here and removes its temp dir (a caller's dataDir is left alone). */
export async function stopAllRegistries(): Promise<void> {
  const all = [...ownedDirs];
  ownedDirs.clear();
  await Promise.all(all.map(([r]) => r.stop()));
  for (const [, dir] of all) rmSync(dir, { recursive: true, force: true });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function htpasswdLine(user: string, password: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('htpasswd', ['-Bbn', user, password], (err, stdout) => (err ? reject(err) : resolve(stdout.trim() + '\n')));
  });
}

function configYaml(o: RegistryOptions, port: number, dataDir: string, tls?: { cert: string; key: string }, htpasswdFile?: string): string {
  const q = JSON.stringify; // a JSON string is a valid YAML double-quoted scalar
  const lines = [
    'version: 0.1',
    'log:',
    '  level: info',
    '  formatter: text',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${q(dataDir)}`,
    '  delete:',
    `    enabled: ${o.deleteEnabled ?? true}`,
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    '  secret: cleanreg-test-http-secret',
  ];
  if (tls) lines.push('  tls:', `    certificate: ${q(tls.cert)}`, `    key: ${q(tls.key)}`);
  if (tls && o.clientCas) lines.push('    clientcas:', `      - ${q(o.clientCas.caFile)}`);
  lines.push('health:', '  storagedriver:', '    enabled: false');
  if (htpasswdFile) lines.push('auth:', '  htpasswd:', '    realm: cleanreg-test', `    path: ${q(htpasswdFile)}`);
  if (o.token) {
    lines.push('auth:', '  token:', `    realm: ${q(o.token.realm)}`, `    service: ${q(o.token.service)}`,
      `    issuer: ${q(o.token.issuer)}`, `    rootcertbundle: ${q(o.token.rootCertBundle)}`);
  }
  if (o.catalogMaxEntries !== undefined) lines.push('catalog:', `  maxentries: ${o.catalogMaxEntries}`);
  return lines.join('\n') + '\n';
}

type ProbeTls = { ca?: string; cert?: string; key?: string };

/** One GET; resolves with the status, or rejects on a connection error. */
function probe(url: string, tls: ProbeTls): Promise<number> {
  return new Promise((resolve, reject) => {
    const mod = url.startsWith('https:') ? https : http;
    const req = mod.get(url, { ...tls, agent: false, timeout: 2000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('probe timeout')));
    req.on('error', reject);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// gorilla CombinedLoggingHandler on stdout:
// 127.0.0.1 - - [22/Nov/2026:10:36:23 +0000] "GET /v2/_catalog?n=5 HTTP/1.1" 400 115 "" "curl/7.88.1"
const ACCESS_LINE = /\] "([A-Z]+) (\S+) HTTP\/[\d.]+" (\d{3}) \S+ "[^"]*" "([^"]*)"/;

export async function startRegistry(opts: RegistryOptions = {}): Promise<TestRegistry> {
  if (opts.htpasswd && opts.token) throw new Error('startRegistry: htpasswd and token auth are exclusive');
  if (opts.clientCas && !opts.tls) throw new Error('startRegistry: clientCas needs tls');
  hookExit();
  const dir = mkdtempSync(join(os.tmpdir(), 'cleanreg-registry-'));
  const dataDir = opts.dataDir ?? join(dir, 'data');
  mkdirSync(dataDir, { recursive: true });

  let tlsFiles: { cert: string; key: string } | undefined;
  let caFile: string | undefined;
  let caPem: string | undefined;
  if (opts.tls) {
    const c = makeLeafCert(dir, 'server', { cn: '127.0.0.1', san: ['IP:127.0.0.1', 'DNS:localhost'], keyType: 'ec' });
    tlsFiles = { cert: c.certFile, key: c.keyFile };
    caFile = c.caFile;
    caPem = c.caPem;
  }
  const probeTls: ProbeTls = { ca: caPem, cert: opts.clientCas?.certPem, key: opts.clientCas?.keyPem };
  let htpasswdFile: string | undefined;
  if (opts.htpasswd) {
    htpasswdFile = join(dir, 'htpasswd');
    writeFileSync(htpasswdFile, await htpasswdLine(opts.htpasswd.user, opts.htpasswd.password));
  }

  const configPath = join(dir, 'config.yml');
  let port = 0;
  let url = '';
  const configure = async () => {
    port = await freePort();
    url = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
    writeFileSync(configPath, configYaml(opts, port, dataDir, tlsFiles, htpasswdFile));
  };
  await configure();

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let entries: AccessEntry[] = [];
  let stderrTail = '';
  let probeSeq = 0;

  const launch = async (): Promise<void> => {
    stderrTail = '';
    const usePdeath = existsSync('/usr/bin/setpriv');
    const [cmd, args] = usePdeath
      ? ['/usr/bin/setpriv', ['--pdeathsig', 'SIGKILL', '--', BINARY, 'serve', configPath]]
      : [BINARY, ['serve', configPath]];
    const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    live.add(proc);
    let pending = '';
    proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        const m = ACCESS_LINE.exec(line);
        if (m) entries.push({ method: m[1], uri: m[2], status: Number(m[3]), userAgent: m[4] });
      }
    });
    let listening = false; // our process bound the port (not someone else answering on it)
    proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      stderrTail = (stderrTail + chunk).slice(-4000);
      listening ||= stderrTail.includes('msg="listening on ');
    });
    const closed = new Promise<void>((resolve) => proc.once('close', () => resolve()));
    exited = closed.then(() => { live.delete(proc); });
    // A forgotten registry must not keep jest alive; pdeathsig / the exit hook kill it.
    proc.unref();
    (proc.stdout as net.Socket).unref();
    (proc.stderr as net.Socket).unref();

    const deadline = Date.now() + 10_000;
    let dead = false;
    void closed.then(() => { dead = true; });
    for (;;) {
      if (dead) throw new Error(`docker-registry exited during start:\n${stderrTail}`);
      if (listening) {
        try {
          const status = await probe(`${url}/v2/?${PROBE}=start`, probeTls);
          if ((status === 200 || status === 401) && !dead) return;
        } catch { /* not serving yet */ }
      }
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw new Error(`docker-registry did not answer on ${url} within 10 s:\n${stderrTail}`);
      }
      await sleep(50);
    }
  };

  const isRunning = () => child !== undefined && live.has(child);

  const reg: TestRegistry = {
    url, port, caFile, caPem, dataDir, configPath,
    accessEntries: () => entries.filter((e) => !e.uri.includes(PROBE)),
    accessLog: () => reg.accessEntries().map((e) => `${e.method} ${e.uri}`),
    clearAccessLog: () => { entries = []; },
    async syncLog() {
      const mark = `${PROBE}=sync${++probeSeq}`;
      await probe(`${url}/v2/?${mark}`, probeTls);
      // The access line is written before the response is flushed; we only wait for the pipe.
      const deadline = Date.now() + 5000;
      while (!entries.some((e) => e.uri.endsWith(mark))) {
        if (Date.now() > deadline) throw new Error('syncLog: the probe request never reached the access log');
        await sleep(5);
      }
      return reg.accessLog();
    },
    running: isRunning,
    pid: () => (isRunning() ? child!.pid : undefined),
    async stop() {
      const proc = child;
      if (!proc || !isRunning()) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
    async restart() {
      await reg.stop();
      await launch();
    },
    garbageCollect(gc = {}) {
      if (isRunning()) return Promise.reject(new Error('garbageCollect: stop() the registry first'));
      const args = ['garbage-collect', ...(gc.dryRun ? ['--dry-run'] : []), ...(gc.deleteUntagged ? ['--delete-untagged'] : []), configPath];
      return new Promise((resolve, reject) => {
        execFile(BINARY, args, { maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
          const out = stdout + stderr;
          if (err) reject(new Error(`garbage-collect failed: ${err.message}\n${out}`));
          else resolve(out);
        });
      });
    },
  };

  ownedDirs.set(reg, dir);
  for (let attempt = 1; ; attempt++) {
    try {
      await launch();
      return reg;
    } catch (err) {
      // Another process may take the free port between our probe and the registry's bind.
      if (attempt < 3 && /address already in use/.test(String(err))) {
        await configure();
        Object.assign(reg, { url, port });
        continue;
      }
      ownedDirs.delete(reg);
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }
}
