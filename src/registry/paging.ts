/**
 * `_catalog` and `tags/list` page with `Link: </v2/...?last=x&n=y>; rel="next"`. The link is relative on
 * distribution; it is resolved against the current URL. (Whether it may be followed is the caller's question.)
 */
export function nextPageUrl(linkHeader: string | string[] | undefined, current: URL): URL | undefined {
  const header = Array.isArray(linkHeader) ? linkHeader.join(', ') : linkHeader;
  if (!header) return undefined;
  for (const part of header.split(',')) {
    const m = /<([^>]+)>\s*;\s*rel="?next"?/i.exec(part.trim());
    if (!m) continue;
    return new URL(m[1], current);
  }
  return undefined;
}
