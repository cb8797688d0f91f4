/**
 * `_catalog` and `tags/list` page with `Link: </v2/...?last=x&n=y>; rel="next"`. The link is relative on
 * distribution; it is resolved against the current URL. (Whether it may be followed is the caller's question.)
 */
export function nextPageUrl(linkHeader: string | string[] | undefined, current: URL): URL | undefined {
  const header = Array.isArray(linkHeader) ? linkHeader.join(', ') : linkHeader;
  if (!header) return undefined;
  // RFC 8288: each link is <URI> with parameters in any order; rel may be quoted, spaced around "=", and name
  // several relations ("last next").
  for (const [, uri, params] of header.matchAll(/<([^>]*)>([^<]*)/g)) {
    const rel = /(?:^|;)\s*rel\s*=\s*(?:"([^"]*)"|([^\s;,"]+))/i.exec(params);
    if ((rel?.[1] ?? rel?.[2] ?? '').toLowerCase().split(/\s+/).includes('next')) return new URL(uri, current);
  }
  return undefined;
}
