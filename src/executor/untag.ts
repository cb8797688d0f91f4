import { createHash, randomUUID } from 'node:crypto';
import { RegistryError } from '../errors.js';
import type { RegistryClient } from '../registry/client.js';
import { OCI_MANIFEST } from '../registry/media-types.js';

const EMPTY_CONFIG = Buffer.from('{}');
const sha256 = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/**
 * Removes one tag and nothing else, even when other tags share its digest (deleting the digest would remove
 * them all). Uses the registry's tag-delete API where it exists; otherwise points the tag at a throwaway manifest
 * and deletes that. If the throwaway cannot be deleted, the tag is put back where it was.
 */
export async function untag(client: RegistryClient, repo: string, tag: string, expectedDigest: string): Promise<'untagged'> {
  const original = await client.getManifest(repo, tag);
  if (original.digest !== expectedDigest) {
    throw new RegistryError('protocol', `${repo}:${tag} moved to ${original.digest} meanwhile; left alone`);
  }
  if ((await client.deleteTag(repo, tag)) === 'deleted') return 'untagged';

  await client.putBlob(repo, sha256(EMPTY_CONFIG), EMPTY_CONFIG);
  const throwaway = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(EMPTY_CONFIG), size: EMPTY_CONFIG.length },
      layers: [],
      annotations: { 'org.cleanreg.untag': `${repo}:${tag}`, 'org.cleanreg.nonce': randomUUID() },
    }),
  );
  const digest = await client.putManifest(repo, tag, throwaway, OCI_MANIFEST);
  try {
    await client.deleteManifest(repo, digest);
  } catch (error) {
    try {
      await client.putManifest(repo, tag, original.raw, original.mediaType);
    } catch (restoring) {
      throw stranded(repo, tag, digest, original.digest, error, restoring);
    }
    throw error;
  }
  return 'untagged';
}

/** Both the throwaway's DELETE and the tag's way back failed: where the tag is now, and how to put it back. */
function stranded(repo: string, tag: string, throwaway: string, original: string, deleting: unknown, restoring: unknown): RegistryError {
  const reason = (error: unknown) => (error instanceof RegistryError ? error.reason : (error as Error).message);
  const kind = restoring instanceof RegistryError ? restoring.kind : 'protocol';
  return new RegistryError(
    kind,
    `${repo}:${tag} now points at cleanreg's empty throwaway manifest ${throwaway}: deleting it failed (${reason(deleting)}), and so did putting the tag back on ${original} (${reason(restoring)})`,
    `put the tag back (crane tag ${repo}@${original} ${tag}, or docker pull, tag and push), then delete ${repo}@${throwaway}`,
  );
}
