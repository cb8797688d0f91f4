/**
 * A small token server for `auth: token` registries (the Docker token spec).
 *
 * distribution 2.8 (registry/auth/token/token.go, VerifySigningKey) takes the signing key from the JWT header in this
 * order: `x5c` (chain verified against `rootcertbundle`), `jwk`, then `kid` (a libtrust fingerprint of a key in the
 * bundle). We send `x5c` = [leaf, CA] and put only the CA in the bundle. `aud` must be a plain string on 2.8.
 */
import { randomUUID, sign } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import { join } from 'node:path';
import type net from 'node:net';
import { makeLeafCert, pemToDerBase64 } from './certs.js';

export interface TokenScope { type: string; name: string; actions: string[] }

export interface TokenServiceOptions {
  users?: Record<string, string>; // basic credentials accepted on the token GET
  refreshTokens?: Record<string, string>; // refresh token → user, for the OAuth2 POST (docker's identity tokens)
  rotateRefreshTokens?: boolean; // each grant answers a new refresh token; the one used is no longer accepted
  anonymous?: (scope: TokenScope) => string[]; // actions for requests without credentials; default none
  grant?: (user: string, scope: TokenScope) => string[]; // default: everything asked for
  expiresIn?: number; // seconds, default 300
  field?: 'token' | 'access_token' | 'both'; // default 'token'
  rejectDeleteScope?: boolean; // 401 when any scope asks for `delete`
  service?: string;
  issuer?: string;
  /** Served over HTTPS, with a certificate of its own private CA (`caFile`). */
  tls?: boolean;
}

export interface TokenRequest { scope: string[]; user: string | null; service: string | null; status: number; grant?: string }

export interface TokenService {
  url: string;
  /** With `tls`: the PEM of the CA that signed its certificate. */
  caFile?: string;
  realm: string;
  service: string;
  issuer: string;
  rootCertBundle: string; // PEM file for the registry's auth.token.rootcertbundle
  requests: TokenRequest[];
  /** Signs a token directly (e.g. an expired one: expiresIn < -60, past the registry's 60 s leeway). */
  mint(access: TokenScope[], opts?: { sub?: string; expiresIn?: number }): string;
  /** A `Conn.bearer` for ImagePusher: fetches a token for the challenge's scope with these credentials. */
  bearer(creds?: { user: string; password: string }): (scope: string) => Promise<string>;
  stop(): Promise<void>;
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/** "repository:a/b:pull,push" → {type, name, actions}; the name is whatever lies between the first and last colon. */
export function parseScope(scope: string): TokenScope | null {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first < 0 || last <= first) return null;
  return { type: scope.slice(0, first), name: scope.slice(first + 1, last), actions: scope.slice(last + 1).split(',').filter(Boolean) };
}

export async function startTokenService(opts: TokenServiceOptions = {}): Promise<TokenService> {
  const dir = mkdtempSync(join(os.tmpdir(), 'cleanreg-token-'));
  const cert = makeLeafCert(dir, 'token-signer', { cn: 'cleanreg token signer', keyType: 'rsa' });
  const x5c = [pemToDerBase64(cert.certPem), pemToDerBase64(cert.caPem)];
  const service = opts.service ?? 'cleanreg-test-registry';
  const issuer = opts.issuer ?? 'cleanreg-test-token-issuer';
  const users = opts.users ?? {};
  const requests: TokenRequest[] = [];

  const mint = (access: TokenScope[], m: { sub?: string; expiresIn?: number } = {}): string => {
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: 'JWT', alg: 'RS256', x5c };
    const claims = { iss: issuer, sub: m.sub ?? '', aud: service, exp: now + (m.expiresIn ?? opts.expiresIn ?? 300), nbf: now - 1, iat: now, jti: randomUUID(), access };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    return `${input}.${b64url(sign('sha256', Buffer.from(input), cert.keyPem))}`;
  };

  const serverCert = opts.tls ? makeLeafCert(dir, 'token-server', { cn: '127.0.0.1', san: ['IP:127.0.0.1'], keyType: 'ec' }) : undefined;
  const handler: http.RequestListener = (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => answer(req, res, Buffer.concat(chunks).toString('utf8')));
  };
  const server = serverCert ? https.createServer({ key: serverCert.keyPem, cert: serverCert.certPem }, handler) : http.createServer(handler);

  /** GET: the Docker token spec (query, basic credentials). POST: an OAuth2 form, here only the refresh-token grant. */
  const answer = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const params = req.method === 'POST' ? new URLSearchParams(body) : url.searchParams;
    const scopes = params.getAll('scope').flatMap((s) => s.split(' ')).filter(Boolean);
    const record: TokenRequest = { scope: scopes, user: null, service: params.get('service'), status: 0 };
    const reply = (status: number, body: object, headers: Record<string, string> = {}) => {
      record.status = status;
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
    };
    if (url.pathname !== '/token' || (req.method !== 'GET' && req.method !== 'POST')) {
      reply(404, { errors: [{ code: 'NOT_FOUND', message: 'GET or POST /token only' }] });
      return;
    }
    requests.push(record);

    let rotated: string | undefined;
    if (req.method === 'POST') {
      record.grant = params.get('grant_type') ?? '';
      const user = opts.refreshTokens?.[params.get('refresh_token') ?? ''];
      if (record.grant !== 'refresh_token' || req.headers['content-type'] !== 'application/x-www-form-urlencoded') {
        reply(400, { error: 'unsupported_grant_type' });
        return;
      }
      if (user === undefined) {
        // RFC 6749 section 5.2: an expired or revoked refresh token is a 400.
        reply(400, { error: 'invalid_grant', error_description: 'refresh token expired or revoked' });
        return;
      }
      record.user = user;
      if (opts.rotateRefreshTokens) {
        delete opts.refreshTokens![params.get('refresh_token')!];
        rotated = `refresh-${randomUUID()}`;
        opts.refreshTokens![rotated] = user;
      }
    }
    const auth = /^Basic (.+)$/i.exec(req.headers.authorization ?? '');
    if (auth) {
      const [user, ...rest] = Buffer.from(auth[1], 'base64').toString('utf8').split(':');
      record.user = user;
      if (!(user in users) || users[user] !== rest.join(':')) {
        reply(401, { errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] }, { 'www-authenticate': 'Basic realm="cleanreg-token"' });
        return;
      }
    }
    const parsed = scopes.map(parseScope).filter((s): s is TokenScope => s !== null);
    if (opts.rejectDeleteScope && parsed.some((s) => s.actions.includes('delete'))) {
      reply(401, { errors: [{ code: 'DENIED', message: 'delete scope not supported' }] });
      return;
    }
    const user = record.user;
    const access = parsed
      .map((s) => ({ ...s, actions: user === null ? (opts.anonymous?.(s) ?? []) : (opts.grant?.(user, s) ?? s.actions) }))
      .filter((s) => s.actions.length > 0);
    const token = mint(access, { sub: user ?? '' });
    // OAuth2 answers carry access_token.
    const field = req.method === 'POST' ? 'access_token' : (opts.field ?? 'token');
    reply(200, {
      ...(field !== 'access_token' ? { token } : {}),
      ...(field !== 'token' ? { access_token: token } : {}),
      expires_in: opts.expiresIn ?? 300,
      issued_at: new Date().toISOString(),
      ...(rotated ? { refresh_token: rotated } : {}),
    });
  };
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  const port = (server.address() as net.AddressInfo).port;
  const scheme = serverCert ? 'https' : 'http';
  const realm = `${scheme}://127.0.0.1:${port}/token`;

  const bearer = (creds?: { user: string; password: string }) => (scope: string): Promise<string> => {
    const u = new URL(realm);
    u.searchParams.set('service', service);
    for (const s of scope.split(' ').filter(Boolean)) u.searchParams.append('scope', s);
    const headers: Record<string, string> = creds
      ? { authorization: 'Basic ' + Buffer.from(`${creds.user}:${creds.password}`).toString('base64') }
      : {};
    return new Promise((resolve, reject) => {
      (serverCert ? https : http).get(u, { headers, agent: false, ca: serverCert?.caPem }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 200) return reject(new Error(`token service: HTTP ${res.statusCode} ${text}`));
          const body = JSON.parse(text) as { token?: string; access_token?: string };
          resolve(body.token ?? body.access_token ?? '');
        });
      }).on('error', reject);
    });
  };

  return {
    url: `${scheme}://127.0.0.1:${port}`,
    caFile: serverCert?.caFile,
    realm, service, issuer, rootCertBundle: cert.caFile, requests, mint, bearer,
    stop: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => {
        rmSync(dir, { recursive: true, force: true });
        resolve();
      });
    }),
  };
}
