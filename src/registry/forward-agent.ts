import http from 'node:http';

/**
 * Plain-http requests through an HTTP proxy, the way proxies expect them: sent to the proxy with the absolute URL
 * as the request target (`GET http://registry:5000/v2/ HTTP/1.1`). A CONNECT tunnel (what hpagent does) is
 * refused by most proxies for ports other than 443.
 */
export class ForwardProxyAgent extends http.Agent {
  private readonly proxy: URL;
  private readonly authorization?: string;

  constructor(options: http.AgentOptions & { proxy: string }) {
    const { proxy, ...agentOptions } = options;
    super(agentOptions);
    this.proxy = new URL(proxy);
    if (this.proxy.username || this.proxy.password) {
      this.authorization = `Basic ${Buffer.from(`${decodeURIComponent(this.proxy.username)}:${decodeURIComponent(this.proxy.password)}`).toString('base64')}`;
    }
  }

  addRequest(request: http.ClientRequest, options: http.RequestOptions): void {
    const host = options.host ?? options.hostname ?? '';
    const target = `http://${host.includes(':') ? `[${host}]` : host}:${options.port ?? 80}`;
    request.path = `${target}${request.path}`;
    if (this.authorization) request.setHeader('proxy-authorization', this.authorization);
    // The socket pool is keyed by the proxy, so every registry reached through it shares the keep-alive sockets.
    // @ts-expect-error addRequest is public in Node but missing from @types/node
    super.addRequest(request, { ...options, host: this.proxy.hostname, hostname: this.proxy.hostname, port: Number(this.proxy.port || 80) });
  }
}
