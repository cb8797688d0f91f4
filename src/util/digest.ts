/**
 * A digest as registries give and take them: sha256, sha384 or sha512 and its lowercase hex, of the exact length
 * (the OCI image spec's registered algorithms). Anything else in a plan file, a reference or a registry's answer
 * is refused, never put into a request path.
 */
export const DIGEST = /^(?:sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128})$/;

/** The first 12 hex digits of a digest, as docker shows image IDs. */
export function shortDigest(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}
