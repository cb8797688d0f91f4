import { BlockList, isIP } from 'node:net';

/** The proxy for a URL from HTTPS_PROXY / HTTP_PROXY (either case), unless NO_PROXY covers its host. */
export function proxyFor(url: URL, env: NodeJS.ProcessEnv): string | undefined {
  const proxy = url.protocol === 'https:' ? env.HTTPS_PROXY ?? env.https_proxy ?? env.HTTP_PROXY ?? env.http_proxy : env.HTTP_PROXY ?? env.http_proxy;
  if (!proxy) return undefined;
  if (bypassesProxy(url, env.NO_PROXY ?? env.no_proxy ?? '')) return undefined;
  return withProxyScheme(proxy);
}

/** A proxy given without a scheme (HTTP_PROXY=proxy:3128) is an http:// one, as curl and Go take it. */
export function withProxyScheme(proxy: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(proxy) ? proxy : `http://${proxy}`;
}

function bypassesProxy(url: URL, noProxy: string): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return noProxy
    .split(/[\s,]+/)
    .filter(Boolean)
    .some((entry) => {
      if (entry === '*') return true;
      if (entry.includes('/')) return inRange(host, entry);
      const [pattern, entryPort] = splitHostPort(entry.toLowerCase());
      if (entryPort && entryPort !== port) return false;
      const bare = pattern.replace(/^\*?\./, '');
      return host === bare || host.endsWith(`.${bare}`);
    });
}

/** A CIDR range (10.0.0.0/8, fd00::/8), as curl and Go take them in NO_PROXY: only addresses fall in one. */
function inRange(host: string, cidr: string): boolean {
  const [network, bits] = cidr.split('/');
  const family = isIP(network);
  if (!family || isIP(host) !== family || !/^\d{1,3}$/.test(bits)) return false;
  const range = new BlockList();
  try {
    range.addSubnet(network, Number(bits), family === 4 ? 'ipv4' : 'ipv6');
  } catch {
    return false; // a prefix too long for its family
  }
  return range.check(host, family === 4 ? 'ipv4' : 'ipv6');
}

/** `host`, `host:port`, `[v6]:port`, or a bare IPv6 address (more than one colon: no port). */
function splitHostPort(entry: string): [string, string | undefined] {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  if (bracketed) return [bracketed[1], bracketed[2]];
  if ((entry.match(/:/g) ?? []).length > 1) return [entry, undefined];
  const m = /^(.*):(\d+)$/.exec(entry);
  return m ? [m[1], m[2]] : [entry, undefined];
}
