/** The first 12 hex digits of a digest, as docker shows image IDs. */
export function shortDigest(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}
