export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_SCHEMA1 = 'application/vnd.docker.distribution.manifest.v1+prettyjws';
const DOCKER_SCHEMA1_UNSIGNED = 'application/vnd.docker.distribution.manifest.v1+json';

/**
 * Every manifest type, lists first, as docker pulls. Leaving one out changes the digest the registry reports:
 * without the list types a multi-arch tag resolves to one child; without any, distribution 2.8 converts to
 * schema1; a registry that negotiates strictly may refuse a stored schema 1 image (pushed before 2016) without
 * its types, which come last.
 */
export const MANIFEST_ACCEPT = [OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST, DOCKER_SCHEMA1, DOCKER_SCHEMA1_UNSIGNED].join(', ');

export function isIndexType(mediaType: string | undefined): boolean {
  return mediaType === OCI_INDEX || mediaType === DOCKER_LIST;
}

/**
 * Tags named after the image they belong to: cosign's `sha256-<hex>.sig|.att|.sbom`, and the OCI 1.1 referrers
 * fallback tag `sha256-<hex>` (an index of the referrers, on registries without the referrers API).
 */
const REFERRER_TAG = /^(sha256)-([a-f0-9]{64})(?:\.(sig|att|sbom))?$/;
const TAGGED_KIND: Record<string, string> = { sig: 'signature', att: 'attestation', sbom: 'SBOM' };

export function referrerTagSubject(tag: string): string | undefined {
  const m = REFERRER_TAG.exec(tag);
  return m ? `${m[1]}:${m[2]}` : undefined;
}

/** What a cosign tag holds: signature (.sig), attestation (.att), SBOM (.sbom); undefined for any other tag. */
export function referrerTagKind(tag: string): string | undefined {
  const suffix = REFERRER_TAG.exec(tag)?.[3];
  return suffix ? TAGGED_KIND[suffix] : undefined;
}
