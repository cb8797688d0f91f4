import http from 'node:http';
import https from 'node:https';
import type { SecureContext } from 'node:tls';
import { HttpsProxyAgent } from 'hpagent';
import { ForwardProxyAgent } from './forward-agent.js';
import { timeoutError, type RequestFailure } from './http1.js';
import type { HttpResponse } from './response-reader.js';
import type { Logger } from '../util/log.js';
import { displayUrl } from '../util/redact.js';

export interface ProxyPath {
  /** One request through `proxy` and its whole answer, or a RequestFailure (as Http1Client.request). */
  request(proxy: string, url: URL, method: string, headers: Record<string, string>, body: Buffer | undefined): Promise<HttpResponse>;
}

/**
 * Requests through a proxy (-p): node:http with a keep-alive agent per proxy, plain http forwarded as ordinary
 * requests, https tunnelled with CONNECT (hpagent, which hands `tls` to tls.connect).
 */
export function proxyPath(opts: { maxSockets: number; tls: { secureContext?: SecureContext; rejectUnauthorized: boolean }; timeoutMs: number; logger: Logger }): ProxyPath {
  const agentOptions = { keepAlive: true, maxSockets: opts.maxSockets, maxFreeSockets: opts.maxSockets, scheduling: 'lifo' as const };
  const proxied = new Map<string, { http: http.Agent; https: http.Agent }>();
  const agentFor = (proxy: string, url: URL) => {
    let agents = proxied.get(proxy);
    if (!agents) {
      agents = { http: new ForwardProxyAgent({ ...agentOptions, proxy }), https: new HttpsProxyAgent({ ...agentOptions, ...opts.tls, proxy }) };
      proxied.set(proxy, agents);
      opts.logger.verbose(`using proxy ${displayUrl(proxy)} for ${url.host}`);
    }
    return url.protocol === 'https:' ? agents.https : agents.http;
  };
  return {
    request: (proxy, url, method, headers, body) => viaAgent(agentFor(proxy, url), url, method, headers, body, opts.timeoutMs),
  };
}

/** One request through node:http and an agent (a proxy's): the whole answer, or a RequestFailure. */
function viaAgent(agent: http.Agent, url: URL, method: string, headers: Record<string, string>, body: Buffer | undefined, timeoutMs: number): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const fail = (error: RequestFailure) => {
      clearTimeout(timer);
      reject(error);
    };
    const req = (url.protocol === 'https:' ? https : http).request(url, { method, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      // A connection dropped mid-answer is an 'error' (ECONNRESET) here.
      res.on('error', fail);
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, body: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks) });
      });
    });
    timer = setTimeout(() => req.destroy(timeoutError(timeoutMs)), timeoutMs);
    req.on('error', fail);
    req.end(body);
  });
}
