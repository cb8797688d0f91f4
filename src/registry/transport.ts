import http from 'node:http';
import https from 'node:https';
import got, { type Got, type RequestError } from 'got';
import { HttpsProxyAgent } from 'hpagent';
import { ForwardProxyAgent } from './forward-agent.js';
import type { Logger } from '../util/log.js';
import { displayUrl } from '../util/redact.js';
import { proxyFor } from './proxy.js';

export interface TransportOptions {
  /** PEM bundle trusted in addition to the system CAs (-c/--cacert). */
  ca?: string;
  /** Skip certificate verification (--insecure). */
  insecure?: boolean;
  /** Client certificate and key for mTLS registries (PEM). */
  cert?: string;
  key?: string;
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
  /** Counts every request sent, retries included. */
  onRequest?: (method: string) => void;
}

const RETRY_STATUS = [429, 502, 503, 504];
const RETRY_ERRORS = ['ETIMEDOUT', 'ECONNRESET', 'EADDRINUSE', 'EPIPE', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNREFUSED'];

/** The one got instance of the process: keep-alive agents, TLS, proxy, timeout, retries with backoff and jitter. */
export function createTransport(opts: TransportOptions): Got {
  const agentOptions = { keepAlive: true, maxSockets: opts.maxSockets, maxFreeSockets: opts.maxSockets, scheduling: 'lifo' as const };
  const direct = { http: new http.Agent(agentOptions), https: new https.Agent(agentOptions) };
  const proxied = new Map<string, { http: http.Agent; https: https.Agent }>();
  const env = opts.env ?? process.env;

  const agentsFor = (url: URL) => {
    const proxy = opts.useProxy ? proxyFor(url, env) : undefined;
    if (!proxy) return direct;
    let agents = proxied.get(proxy);
    if (!agents) {
      const proxyOptions = { ...agentOptions, proxy, ca: opts.ca, rejectUnauthorized: !opts.insecure, cert: opts.cert, key: opts.key };
      agents = { http: new ForwardProxyAgent({ ...agentOptions, proxy }), https: new HttpsProxyAgent(proxyOptions) };
      proxied.set(proxy, agents);
      opts.logger.verbose(`using proxy ${displayUrl(proxy)} for ${url.host}`);
    }
    return agents;
  };

  return got.extend({
    agent: direct,
    https: {
      certificateAuthority: opts.ca,
      rejectUnauthorized: !opts.insecure,
      certificate: opts.cert,
      key: opts.key,
    },
    timeout: { request: opts.timeoutMs },
    // Retry-After beyond this is not waited for: the error is reported instead.
    retry: {
      limit: opts.retries,
      methods: ['GET', 'HEAD', 'DELETE', 'PUT'],
      statusCodes: RETRY_STATUS,
      errorCodes: RETRY_ERRORS,
      maxRetryAfter: 120_000,
      backoffLimit: 30_000,
      noise: 100,
    },
    followRedirect: true,
    throwHttpErrors: true,
    // No Accept-Encoding, so no decompression pipeline per response: manifests and configs are small, and got's
    // decompress wrapper was a measurable share of the client's CPU per request.
    decompress: false,
    hooks: {
      beforeRequest: [
        (options) => {
          // Chosen per request (not per instance): the token realm or a redirect may be on another host.
          options.agent = agentsFor(new URL(String(options.url)));
          opts.onRequest?.(options.method);
          if (opts.logger.verbosity >= 3) opts.logger.trace(`> ${options.method} ${displayUrl(String(options.url))}`);
        },
      ],
      beforeRetry: [
        (error: RequestError, retryCount: number) => {
          const what = error.response ? `HTTP ${error.response.statusCode}` : error.code ?? error.message;
          opts.logger.verbose(`retry ${retryCount}/${opts.retries}: ${error.options.method} ${displayUrl(String(error.options.url))} (${what})`);
        },
      ],
    },
  });
}
