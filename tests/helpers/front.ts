/**
 * A front for a real distribution 2.8 that adds what it cannot do, and nothing else:
 * - the OCI 1.1 referrers API: distribution 2.8 stores manifests with a `subject` but cannot list them by it
 *   (Harbor, zot, Quay and distribution 3 can). The front learns referrers from the manifest PUTs that pass through
 *   it, forgets one when its DELETE succeeds, and answers `GET /v2/<name>/referrers/<digest>` with an image index of
 *   `pageSize` descriptors a page, linked by `Link: <...>; rel="next"`;
 * - a failure at a chosen moment: `fault` may answer a request with an error status instead of the registry, `cut`
 *   may drop the connection before or after the registry serves it, `hold` may keep a request waiting;
 * - another registry's ways: `answer` serves a request itself (a paged tag list), `link` rewrites Link headers.
 * Every other request goes through unchanged, Host header included, so upload locations point back at the front.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { MT, sha256 } from './images.js';

export interface Front {
  url: string;
  /** Each request the front saw, as "METHOD path?query", in order of arrival. */
  seen: string[];
  /**
   * Set by a test: how to answer this request (path and query) instead of serving it, a status (error code
   * UNKNOWN) or a status and the registry's error code; undefined to serve it.
   */
  fault?: (method: string, path: string) => number | { status: number; code: string } | undefined;
  /** Set by a test: waited for before the request is served (to act while cleanreg waits for that answer). */
  hold?: (method: string, path: string) => Promise<void> | undefined;
  /**
   * Set by a test: the connection is cut instead of answering, `before` the registry sees the request or `after`
   * it has served it (the work done, the answer lost).
   */
  cut?: (method: string, path: string) => 'before' | 'after' | undefined;
  /**
   * Set by a test: the whole answer to this request in place of the registry's, for what distribution 2.8 cannot
   * do (it never pages a tag list).
   */
  answer?: (method: string, path: string) => { status: number; headers?: Record<string, string>; body: string } | undefined;
  /** Set by a test: the registry's Link header as the front passes it on (a proxy that rewrites it). */
  link?: (value: string) => string;
  /** Set by a test: descriptors listed as referrers of `subject` besides those learned (a registry's own mistakes). */
  extraReferrers?: (subject: string) => unknown[];
  stop(): Promise<void>;
}

interface Referrer {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
}

export async function startFront(registryUrl: string, pageSize = 100): Promise<Front> {
  const target = new URL(registryUrl);
  const bySubject = new Map<string, Referrer[]>(); // "repo@subject" → referrers
  const seen: string[] = [];

  const learn = (repo: string, body: Buffer, digest: string) => {
    let m: { mediaType?: string; artifactType?: string; config?: { mediaType?: string }; subject?: { digest: string } };
    try {
      m = JSON.parse(body.toString('utf8'));
    } catch {
      return; // not JSON: the registry refuses it anyway
    }
    if (!m.subject) return;
    const key = `${repo}@${m.subject.digest}`;
    const list = bySubject.get(key) ?? [];
    if (list.some((r) => r.digest === digest)) return;
    list.push({ mediaType: m.mediaType ?? '', digest, size: body.length, artifactType: m.artifactType ?? m.config?.mediaType });
    bySubject.set(key, list);
  };
  const forget = (repo: string, digest: string) => {
    for (const [key, list] of bySubject) if (key.startsWith(`${repo}@`)) bySubject.set(key, list.filter((r) => r.digest !== digest));
  };

  const serveReferrers = (repo: string, subject: string, url: URL, res: http.ServerResponse) => {
    const all = [...(bySubject.get(`${repo}@${subject}`) ?? []), ...(front.extraReferrers?.(subject) ?? [])];
    const page = Number(url.searchParams.get('page') ?? 0);
    const body = JSON.stringify({ schemaVersion: 2, mediaType: MT.ociIndex, manifests: all.slice(page * pageSize, (page + 1) * pageSize) });
    const headers: Record<string, string> = { 'content-type': MT.ociIndex, 'content-length': String(Buffer.byteLength(body)) };
    if ((page + 1) * pageSize < all.length) headers.link = `</v2/${repo}/referrers/${subject}?page=${page + 1}>; rel="next"`;
    res.writeHead(200, headers).end(body);
  };

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://front');
    seen.push(`${req.method} ${url.pathname}${url.search}`);
    await front.hold?.(req.method ?? 'GET', `${url.pathname}${url.search}`);
    const cut = front.cut?.(req.method ?? 'GET', `${url.pathname}${url.search}`);
    if (cut === 'before') return void req.socket.destroy();
    const fault = front.fault?.(req.method ?? 'GET', `${url.pathname}${url.search}`);
    if (fault) {
      const { status, code } = typeof fault === 'number' ? { status: fault, code: 'UNKNOWN' } : fault;
      return res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ code, message: 'failed by the test' }] }));
    }
    const answer = front.answer?.(req.method ?? 'GET', `${url.pathname}${url.search}`);
    if (answer) return res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers }).end(answer.body);
    const referrers = /^\/v2\/(.+)\/referrers\/(sha256:[a-f0-9]{64})$/.exec(url.pathname);
    if (referrers && req.method === 'GET') return serveReferrers(referrers[1], referrers[2], url, res);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const upstream = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        const manifest = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(url.pathname);
        if (manifest && req.method === 'PUT' && answer.statusCode === 201) learn(manifest[1], body, String(answer.headers['docker-content-digest'] ?? sha256(body)));
        if (manifest && req.method === 'DELETE' && answer.statusCode === 202) forget(manifest[1], decodeURIComponent(manifest[2]));
        if (cut === 'after') return void answer.resume().on('end', () => req.socket.destroy());
        if (front.link && typeof answer.headers.link === 'string') answer.headers.link = front.link(answer.headers.link);
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on('error', () => res.destroy());
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const front: Front = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    stop: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
  return front;
}
