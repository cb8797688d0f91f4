import tls from 'node:tls';
import { UsageError } from '../errors.js';
import { Http1Client, type RequestFailure } from './http1.js';
import type { ProxyPath } from './proxied.js';
import type { HttpResponse } from './response-reader.js';
import type { Logger } from '../util/log.js';
import { displayUrl } from '../util/redact.js';
import { proxyFor } from './proxy.js';
import { VERSION } from '../version.js';

export interface TransportOptions {
  /** What TLS trusts and the client certificate (see secureContext); node's defaults when undefined. */
  secureContext?: tls.SecureContext;
  /** Skip certificate verification (--insecure). */
  insecure?: boolean;
  /** Route through HTTPS_PROXY/HTTP_PROXY (honouring NO_PROXY); off by default, as in cleanreg. */
  useProxy?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Per-request timeout in milliseconds. */
  timeoutMs: number;
  /** Retries for 429, 502, 503, 504 and dropped connections. */
  retries: number;
  /** Open sockets per host: the request concurrency. */
  maxSockets: number;
  logger: Logger;
  /** Counts every request sent, retries and redirects included. */
  onRequest?: (method: string) => void;
}

export interface HttpRequest {
  method: string;
  headers?: Record<string, string>;
  body?: Buffer;
  /** A POST that is safe to send again (retried like a GET). */
  retry?: boolean;
}

export type { HttpResponse };

/** The server answered with a status of 400 or more (after retries). */
export class HttpStatusError extends Error {
  constructor(readonly response: HttpResponse) {
    super(`HTTP ${response.statusCode}`);
  }
}

/** The request failed before an answer came: refused, dropped, TLS, proxy, or timed out (code ETIMEDOUT). */
export class HttpRequestError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
    readonly timedOut = false,
  ) {
    super(message);
  }
}

/** Sends one request: redirects followed, retried faults retried, a status >= 400 thrown as HttpStatusError. */
export type Transport = (url: URL, request: HttpRequest) => Promise<HttpResponse>;

const USER_AGENT = `cleanreg/${VERSION}`;
const RETRY_STATUS = new Set([429, 502, 503, 504]);
const RETRY_ERRORS = new Set(['ETIMEDOUT', 'ECONNRESET', 'EADDRINUSE', 'EPIPE', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNREFUSED']);
/** POST is not retried: a blob upload session is not idempotent. */
const RETRY_METHODS = new Set(['GET', 'HEAD', 'DELETE', 'PUT']);
const REDIRECT_STATUS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 10;
/** A Retry-After beyond this is not waited for: the error is reported instead. */
const MAX_RETRY_AFTER_MS = 120_000;
const BACKOFF_LIMIT_MS = 30_000;

/**
 * The process's HTTP client: keep-alive connections, TLS, proxy, a timeout per request, and retries with backoff
 * and jitter. Direct requests go through Http1Client; proxied ones through node:http and a proxy agent. It replaced
 * got, whose per-request option merging made cleanreg cost 0.76 ms of CPU per request (npm run bench, 50 x 200).
 */
export function createTransport(opts: TransportOptions): Transport {
  // One TLS set-up for both paths: direct connections and tunnels through a proxy (hpagent hands it to tls.connect).
  const tlsOptions = { secureContext: opts.secureContext, rejectUnauthorized: !opts.insecure };
  const direct = new Http1Client({ maxSockets: opts.maxSockets, tls: tlsOptions });
  const env = opts.env ?? process.env;
  const { logger } = opts;
  // Loaded with the first proxied request: node:http, https and hpagent cost start-up time that most runs never use.
  let proxied: Promise<ProxyPath> | undefined;
  const viaProxy = (proxy: string, url: URL, method: string, headers: Record<string, string>, body: Buffer | undefined) => {
    proxied ??= import('./proxied.js').then(({ proxyPath }) => proxyPath({ maxSockets: opts.maxSockets, tls: tlsOptions, timeoutMs: opts.timeoutMs, logger }));
    return proxied.then((path) => path.request(proxy, url, method, headers, body));
  };

  /** One request and its whole answer, on a keep-alive connection; a failure is an HttpRequestError. */
  const exchange = (url: URL, method: string, headers: Record<string, string>, body: Buffer | undefined): Promise<HttpResponse> => {
    opts.onRequest?.(method);
    if (logger.verbosity >= 3) logger.trace(`> ${method} ${displayUrl(url.href)}`);
    const proxy = opts.useProxy ? proxyFor(url, env) : undefined;
    try {
      return proxy ? viaProxy(proxy, url, method, headers, body) : direct.request(url, method, headers, body, opts.timeoutMs);
    } catch (error) {
      // A request that cannot even start (a proxy URL that cannot be used, a connection that cannot be opened) fails
      // like any other.
      return Promise.reject(error as Error);
    }
  };

  /**
   * Follows redirects the way browsers and docker do: credentials stay with their origin, 303 becomes a GET.
   * Written with `then` rather than `async`: every request of a run passes through here.
   */
  const follow = (first: URL, request: HttpRequest): Promise<HttpResponse> => {
    // Registry admins read the client's name in their access logs.
    const headers: Record<string, string> = { 'user-agent': USER_AGENT, ...request.headers };
    if (request.body || request.method === 'PUT' || request.method === 'POST') headers['content-length'] = String(request.body?.length ?? 0);
    const hop = (url: URL, method: string, body: Buffer | undefined, hops: number): Promise<HttpResponse> =>
      exchange(url, method, headers, body).then((res) => {
        const location = res.headers.location;
        if (!REDIRECT_STATUS.has(res.statusCode) || !location || hops >= MAX_REDIRECTS) return res;
        const next = new URL(location, url);
        // A POST's form may hold a secret (a refresh token): it is not re-sent to another origin.
        if (next.origin !== url.origin && method === 'POST' && res.statusCode >= 307) return res;
        // A storage backend (S3, GCS) behind a redirect gets no registry credentials: the URL itself is signed.
        if (next.origin !== url.origin) delete headers.authorization;
        // 303, and 301/302 after a POST (as browsers and Go do), continue as a GET without the body.
        if ((res.statusCode === 303 && method !== 'HEAD') || (method === 'POST' && res.statusCode <= 302)) {
          delete headers['content-length'];
          delete headers['content-type'];
          return hop(next, 'GET', undefined, hops + 1);
        }
        return hop(next, method, body, hops + 1);
      }, asRequestError);
    return hop(first, request.method, request.body, 0);
  };

  return async (url, request) => {
    for (let retry = 0; ; retry++) {
      let res: HttpResponse | undefined;
      let failure: HttpRequestError | undefined;
      try {
        res = await follow(url, request);
      } catch (error) {
        if (!(error instanceof HttpRequestError)) throw error;
        failure = error;
      }
      const retriable = res ? RETRY_STATUS.has(res.statusCode) : RETRY_ERRORS.has(failure?.code ?? '');
      const delay = retriable && retry < opts.retries && (RETRY_METHODS.has(request.method) || request.retry) ? retryDelay(retry + 1, res) : undefined;
      if (delay === undefined) {
        if (!res) throw failure;
        if (res.statusCode >= 400) throw new HttpStatusError(res);
        return res;
      }
      logger.verbose(`retry ${retry + 1}/${opts.retries}: ${request.method} ${displayUrl(url.href)} (${res ? `HTTP ${res.statusCode}` : failure?.code})`);
      await new Promise((wake) => setTimeout(wake, delay));
    }
  };
}

/** What to do about a CA bundle that cannot be used. */
export const CA_HINT = 'pass the CA certificate in PEM form (-----BEGIN CERTIFICATE-----)';

/**
 * The TLS set-up of a run, made once. A --cacert bundle is trusted besides node's bundled public roots (as docker's
 * certs.d is): a registry with its own CA may still redirect blob downloads to a storage service with a public
 * certificate. A client certificate or key that OpenSSL cannot read is the user's input, named as such.
 */
export function secureContext(caPem: string | undefined, cert: string | undefined, key: string | undefined): tls.SecureContext | undefined {
  if (caPem === undefined && cert === undefined) return undefined;
  const ca = caPem === undefined ? undefined : [...tls.rootCertificates, caPem];
  try {
    return tls.createSecureContext({ ca, cert, key });
  } catch (error) {
    const [what, hint] = cert ? ['--cert/--key', 'pass the client certificate and its private key, each in PEM form'] : ['-c/--cacert', CA_HINT];
    throw new UsageError(`${what} cannot be used: ${(error as Error).message}`, hint);
  }
}

/** A failure of the request itself, as the transport reports it. */
function asRequestError(error: RequestFailure): never {
  throw new HttpRequestError(error.message, error.code, error.timedOut === true);
}

/** Milliseconds before retry number `attempt`: the server's Retry-After, else 1 s, 2 s, 4 s ... up to 30 s, plus jitter. */
function retryDelay(attempt: number, res: HttpResponse | undefined): number | undefined {
  const header = res?.headers['retry-after'];
  if (header) {
    const seconds = Number(header);
    const wait = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - Date.now();
    if (Number.isFinite(wait)) return wait > MAX_RETRY_AFTER_MS ? undefined : Math.max(0, wait);
  }
  return Math.min(2 ** (attempt - 1) * 1000, BACKOFF_LIMIT_MS) + Math.random() * 100;
}
