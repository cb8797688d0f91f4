/**
 * Small servers for the auth and transport tests: a forward proxy (absolute-URI requests and CONNECT), a reverse
 * proxy that can delay requests, and a token "front" that stands between a registry and the test token service
 * (to capture issued tokens, or to hand out a token the registry will refuse).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { parseScope, type TokenScope, type TokenService } from '../helpers/token-service.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function listen(server: http.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
}

function trackSockets(server: http.Server): () => Promise<void> {
  const sockets = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
}

/** Temp dirs removed by `cleanup()` (call it in afterAll). */
export function tempDirs(prefix: string) {
  const dirs: string[] = [];
  const make = () => {
    const d = mkdtempSync(join(os.tmpdir(), prefix));
    dirs.push(d);
    return d;
  };
  return {
    make,
    /** A DOCKER_CONFIG dir holding this config.json. */
    dockerConfig: (config: object) => {
      const dir = make();
      writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
      return dir;
    },
    cleanup: () => {
      for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
    },
  };
}

export interface ForwardProxy {
  url: string;
  /** Absolute-URI requests forwarded (plain http:// targets): "METHOD http://host:port/path". */
  forwarded: string[];
  /** CONNECT tunnels opened: "host:port". */
  tunnels: string[];
  /** Requests refused (407 or 403). */
  refused: string[];
  stop(): Promise<void>;
}

/**
 * A forward HTTP proxy: absolute-URI requests (how curl, Go and docker send http:// targets through a proxy) and
 * CONNECT tunnels. `connectPorts` limits CONNECT to those ports, as Squid's default `deny CONNECT !SSL_ports` does.
 * `auth` requires `Proxy-Authorization: Basic ...`.
 */
export async function startForwardProxy(opts: { auth?: { user: string; password: string }; connectPorts?: number[] } = {}): Promise<ForwardProxy> {
  const forwarded: string[] = [];
  const tunnels: string[] = [];
  const refused: string[] = [];
  const expected = opts.auth ? 'Basic ' + Buffer.from(`${opts.auth.user}:${opts.auth.password}`).toString('base64') : undefined;
  const authorized = (req: http.IncomingMessage) => !expected || req.headers['proxy-authorization'] === expected;

  const server = http.createServer((req, res) => {
    const target = req.url ?? '';
    if (!/^http:\/\//.test(target)) {
      res.writeHead(400).end('absolute URI expected');
      return;
    }
    if (!authorized(req)) {
      refused.push(`${req.method} ${target}`);
      res.writeHead(407, { 'proxy-authenticate': 'Basic realm="proxy"' }).end();
      return;
    }
    forwarded.push(`${req.method} ${target}`);
    const headers = { ...req.headers };
    delete headers['proxy-authorization'];
    delete headers['proxy-connection'];
    const upstream = http.request(target, { method: req.method, headers, agent: false }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    const authority = req.url ?? '';
    const [host, port] = [authority.slice(0, authority.lastIndexOf(':')), Number(authority.slice(authority.lastIndexOf(':') + 1))];
    if (!authorized(req)) {
      refused.push(`CONNECT ${authority}`);
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="proxy"\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    if (opts.connectPorts && !opts.connectPorts.includes(port)) {
      refused.push(`CONNECT ${authority}`);
      client.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    tunnels.push(authority);
    const upstream = net.connect(port, host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    client.on('close', () => upstream.destroy());
  });
  const stop = trackSockets(server);
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}`, forwarded, tunnels, refused, stop };
}

/** A reverse proxy to `target` (an http:// registry) that can hold requests back for a while. */
export async function startReverseProxy(target: string, opts: { delayMs?: (method: string, path: string) => number } = {}): Promise<{ url: string; stop(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    void (async () => {
      const delay = opts.delayMs?.(req.method ?? 'GET', req.url ?? '/') ?? 0;
      if (delay > 0) await sleep(delay);
      const upstream = http.request(new URL(req.url ?? '/', target), { method: req.method, headers: { ...req.headers, host: new URL(target).host }, agent: false }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    })();
  });
  const stop = trackSockets(server);
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}`, stop };
}

export type FrontMode =
  /** Forward to the token service unchanged (and remember the tokens). */
  | 'pass'
  /** The first read and the first delete-capable token of each repository are refused by the registry (expired long ago), though expires_in says 300. */
  | 'expired-once'
  /** Every repository token is one the registry refuses. */
  | 'always-expired'
  /** HTTP 500. */
  | 'error500'
  /** The connection is dropped. */
  | 'drop';

export interface TokenFront {
  realm: string;
  mode: FrontMode;
  /** Every token handed out, whatever the mode. */
  issued: string[];
  /** Requests per scope string ("" for none), counted here. */
  requests: { scope: string; status: number | 'dropped' }[];
  stop(): Promise<void>;
}

/** A token realm in front of the test token service; the registry's `auth.token.realm` points here. */
export async function startTokenFront(ts: TokenService): Promise<TokenFront> {
  const issued: string[] = [];
  const requests: TokenFront['requests'] = [];
  const firstSeen = new Set<string>();
  const front: TokenFront = { realm: '', mode: 'pass', issued, requests, stop: async () => undefined };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const scope = url.searchParams.getAll('scope').join(' ');
    const record: TokenFront['requests'][number] = { scope, status: 0 };
    requests.push(record);
    if (front.mode === 'drop') {
      record.status = 'dropped';
      req.socket.destroy();
      return;
    }
    if (front.mode === 'error500') {
      record.status = 500;
      res.writeHead(500, { 'content-type': 'text/plain' }).end('token service is broken');
      return;
    }
    const upstream = http.get(new URL(`${url.pathname}${url.search}`, ts.url), { headers: { authorization: req.headers.authorization ?? '' }, agent: false }, (up) => {
      const chunks: Buffer[] = [];
      up.on('data', (c: Buffer) => chunks.push(c));
      up.on('end', () => {
        let body = Buffer.concat(chunks).toString('utf8');
        // Only repository tokens: the one for the /v2/ check (no scope) is always good. "Once" is per repository
        // and kind of token (read, or delete-capable: `pull,delete` and `*` alike), whatever scope string asks for it.
        const kind = scope
          .split(' ')
          .map((sc) => sc.replace(/:([^:]*)$/, (_, actions: string) => (/(^|,)(delete|\*)(,|$)/.test(actions) ? ':delete' : ':read')))
          .join(' ');
        const refuse = scope !== '' && (front.mode === 'always-expired' || (front.mode === 'expired-once' && !firstSeen.has(kind)));
        firstSeen.add(kind);
        if (up.statusCode === 200) {
          const doc = JSON.parse(body) as { token?: string; access_token?: string; expires_in?: number };
          if (refuse) {
            const access = scope.split(' ').map(parseScope).filter((s): s is TokenScope => s !== null);
            const expired = ts.mint(access, { expiresIn: -600 });
            if (doc.token) doc.token = expired;
            if (doc.access_token) doc.access_token = expired;
            doc.expires_in = 300;
          }
          for (const t of [doc.token, doc.access_token]) if (t && !issued.includes(t)) issued.push(t);
          body = JSON.stringify(doc);
        }
        record.status = up.statusCode ?? 0;
        res.writeHead(up.statusCode ?? 502, { 'content-type': 'application/json' }).end(body);
      });
    });
    upstream.on('error', () => res.destroy());
  });
  const stop = trackSockets(server);
  const port = await listen(server);
  front.realm = `http://127.0.0.1:${port}/token`;
  front.stop = stop;
  return front;
}

/** The secret strings found in `text` (empty when none leaked). */
export function leaked(text: string, secrets: string[]): string[] {
  return [...new Set(secrets.filter((s) => s.length >= 6 && text.includes(s)))];
}

/** A password and every form it travels in. */
export function passwordForms(user: string, password: string): string[] {
  const b64 = Buffer.from(`${user}:${password}`).toString('base64');
  return [password, encodeURIComponent(password), b64, `Basic ${b64}`];
}

/** A bearer token and the parts of it that must not show either. */
export function tokenForms(token: string): string[] {
  const parts = token.split('.');
  // A JWT's signature is what makes it usable; its header is the same for every token of a service (not secret).
  return [token, `Bearer ${token}`, ...(parts.length === 3 ? [parts[1], parts[2]] : [])];
}
