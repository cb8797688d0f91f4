/**
 * `_catalog` and `tags/list` page with `Link: </v2/...?last=x&n=y>; rel="next"`. The link is relative on
 * distribution; it is resolved against the current URL and followed only on the same origin.
 */
export function nextPageUrl(linkHeader: string | string[] | undefined, current: URL): URL | undefined {
  const header = Array.isArray(linkHeader) ? linkHeader.join(', ') : linkHeader;
  if (!header) return undefined;
  for (const part of header.split(',')) {
    const m = /<([^>]+)>\s*;\s*rel="?next"?/i.exec(part.trim());
    if (!m) continue;
    const next = new URL(m[1], current);
    return next.origin === current.origin ? next : undefined;
  }
  return undefined;
}
