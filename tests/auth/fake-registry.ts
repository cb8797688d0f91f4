/**
 * A fake Registry v2 server (node:http) for faults distribution 2.8 cannot produce: 429 + Retry-After, 503 bursts,
 * dropped connections, a missing Docker-Content-Digest, and a registry that echoes credentials in its error bodies.
 *
 * It serves one repository (`app` unless told otherwise) with two single-arch docker images, `old` and `new`:
 * `/v2/`, tags/list, GET/HEAD manifests (by tag or digest), config blobs, DELETE by digest, 404 for referrers.
 * `fault` is consulted for every request before it is served; it may answer, drop the connection, or hang.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type net from 'node:net';

export const sha256 = (b: Buffer | string) => 'sha256:' + createHash('sha256').update(b).digest('hex');

const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';

export interface FakeImage {
  tags: string[];
  created: string;
  manifest: Buffer;
  digest: string;
  config: Buffer;
  configDigest: string;
}

export interface Seen {
  method: string;
  path: string;
  /** The status sent, or 'dropped' / 'hung'. */
  outcome: number | 'dropped' | 'hung';
  at: number;
  authorization?: string;
}

/** What to do with one request instead of serving it. `apply: true` performs a DELETE first, then answers as told. */
export type Fault =
  | { status: number; headers?: Record<string, string>; body?: string; apply?: boolean }
  | 'drop'
  | 'hang';

export interface FakeRegistryOptions {
  repo?: string;
  /** Leave out Docker-Content-Digest on manifest GET/HEAD. */
  omitDigest?: boolean;
  /** Pretty-print manifests (so that their digest is not the digest of any re-serialisation). */
  pretty?: boolean;
  /** Require this Authorization header value on every request (else 401 with `challenge`). */
  requireAuthorization?: string;
  /** The WWW-Authenticate of that 401; a function gets the fake's own URL (for a realm served by `extra`). */
  challenge?: string | ((url: string) => string);
}

export interface FakeRegistry {
  url: string;
  repo: string;
  images: FakeImage[];
  seen: Seen[];
  /** Set per test: consulted before each request is served; undefined = serve normally. */
  fault?: (req: { method: string; path: string }) => Fault | undefined;
  /** Extra routes (e.g. a token realm), consulted before the registry routes. */
  extra?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean;
  tags(): string[];
  stop(): Promise<void>;
}

function makeImage(repo: string, tag: string, created: string, pretty: boolean): FakeImage {
  const config = Buffer.from(JSON.stringify({ created, architecture: 'amd64', os: 'linux', config: { Labels: { tag } }, rootfs: { type: 'layers', diff_ids: [] } }));
  const configDigest = sha256(config);
  const layer = sha256(`${repo}/${tag}/layer`);
  const body = {
    schemaVersion: 2,
    mediaType: DOCKER_MANIFEST,
    config: { mediaType: DOCKER_CONFIG, size: config.length, digest: configDigest },
    layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: 1234, digest: layer }],
  };
  const manifest = Buffer.from(pretty ? JSON.stringify(body, null, 3) + '\n' : JSON.stringify(body));
  return { tags: [tag], created, manifest, digest: sha256(manifest), config, configDigest };
}

/** "Fail the first n requests matching `match` with these faults (in order), then serve normally." */
export function failFirst(match: (req: { method: string; path: string }) => boolean, faults: Fault[]): (req: { method: string; path: string }) => Fault | undefined {
  const queue = [...faults];
  return (req) => (match(req) ? queue.shift() : undefined);
}

export async function startFakeRegistry(opts: FakeRegistryOptions = {}): Promise<FakeRegistry> {
  const repo = opts.repo ?? 'app';
  const images = [
    makeImage(repo, 'old', '2024-01-02T00:00:00.000Z', !!opts.pretty),
    makeImage(repo, 'new', '2024-01-03T00:00:00.000Z', !!opts.pretty),
  ];
  const deleted = new Set<string>();
  const seen: Seen[] = [];
  const sockets = new Set<net.Socket>();

  const live = () => images.filter((i) => !deleted.has(i.digest));
  const find = (ref: string) => live().find((i) => i.digest === ref || i.tags.includes(ref));
  const json = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers }).end(text);
  };
  const unknown = (res: http.ServerResponse, code: string) => json(res, 404, { errors: [{ code, message: code.toLowerCase().replace(/_/g, ' ') }] });

  const serve = (method: string, path: string, res: http.ServerResponse): number => {
    const prefix = `/v2/${repo}/`;
    if (path === '/v2/' || path === '/v2') {
      json(res, 200, {});
      return 200;
    }
    if (!path.startsWith(prefix)) {
      unknown(res, 'NAME_UNKNOWN');
      return 404;
    }
    const rest = path.slice(prefix.length);
    if (rest === 'tags/list' && method === 'GET') {
      const tags = live().flatMap((i) => i.tags);
      json(res, 200, { name: repo, tags: tags.length ? tags : null });
      return 200;
    }
    const manifest = /^manifests\/(.+)$/.exec(rest);
    if (manifest && (method === 'GET' || method === 'HEAD')) {
      const image = find(decodeURIComponent(manifest[1]));
      if (!image) {
        unknown(res, 'MANIFEST_UNKNOWN');
        return 404;
      }
      res.writeHead(200, {
        'content-type': DOCKER_MANIFEST,
        'content-length': String(image.manifest.length),
        ...(opts.omitDigest ? {} : { 'docker-content-digest': image.digest }),
      });
      res.end(method === 'GET' ? image.manifest : undefined);
      return 200;
    }
    if (manifest && method === 'DELETE') {
      const ref = decodeURIComponent(manifest[1]);
      const image = live().find((i) => i.digest === ref);
      if (!image) {
        unknown(res, 'MANIFEST_UNKNOWN');
        return 404;
      }
      deleted.add(image.digest);
      res.writeHead(202, { 'content-length': '0' }).end();
      return 202;
    }
    const blob = /^blobs\/(.+)$/.exec(rest);
    if (blob && (method === 'GET' || method === 'HEAD')) {
      const image = images.find((i) => i.configDigest === blob[1]);
      if (!image) {
        unknown(res, 'BLOB_UNKNOWN');
        return 404;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(image.config.length), 'docker-content-digest': image.configDigest });
      res.end(method === 'GET' ? image.config : undefined);
      return 200;
    }
    // referrers and anything else: distribution 2.8 answers 404 too.
    json(res, 404, { errors: [{ code: 'NOT_FOUND', message: 'not found' }] });
    return 404;
  };

  const reg: FakeRegistry = {
    url: '',
    repo,
    images,
    seen,
    tags: () => live().flatMap((i) => i.tags).sort(),
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };

  const server = http.createServer((req, res) => {
    if (reg.extra?.(req, res)) return;
    const method = req.method ?? 'GET';
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const entry: Seen = { method, path, outcome: 0, at: Date.now(), authorization: req.headers.authorization };
    seen.push(entry);
    if (opts.requireAuthorization !== undefined && req.headers.authorization !== opts.requireAuthorization) {
      entry.outcome = 401;
      json(res, 401, { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }, { 'www-authenticate': typeof opts.challenge === 'function' ? opts.challenge(reg.url) : (opts.challenge ?? 'Basic realm="fake"') });
      return;
    }
    const fault = reg.fault?.({ method, path });
    if (fault === 'drop') {
      entry.outcome = 'dropped';
      req.socket.destroy();
      return;
    }
    if (fault === 'hang') {
      entry.outcome = 'hung';
      return; // never answered; the socket goes when the client gives up or at stop()
    }
    if (fault) {
      // `apply`: the registry did the work, but the answer got lost (a 503 from a proxy in front, say).
      if (fault.apply && method === 'DELETE') {
        const digest = decodeURIComponent(path.slice(path.lastIndexOf('/') + 1));
        if (images.some((i) => i.digest === digest)) deleted.add(digest);
      }
      entry.outcome = fault.status;
      const body = fault.body ?? JSON.stringify({ errors: [{ code: 'UNAVAILABLE', message: `fault ${fault.status}` }] });
      res.writeHead(fault.status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...fault.headers }).end(body);
      return;
    }
    entry.outcome = serve(method, path, res);
  });
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.keepAliveTimeout = 2000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  reg.url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return reg;
}
