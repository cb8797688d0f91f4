/**
 * Docker schema 1 images, as registries that have run since before 2016 still hold them. distribution 2.8 serves
 * stored schema 1 manifests but refuses new ones (pushing needs `compatibility.schema1.enabled` and a libtrust
 * signature it verifies), so the manifest is signed here as docker signed it and written into the registry's
 * filesystem storage, where a push would have put it.
 */
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const b64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

/** A pretty-printed manifest with a libtrust JWS: payload[:formatLength] + signatures + formatTail. */
function signedManifest(repo: string, tag: string, created: string, layers?: string[]): Buffer {
  const fsLayers = (layers ?? [`sha256:${createHash('sha256').update(`${repo}:${tag}`).digest('hex')}`]).map((blobSum) => ({ blobSum }));
  const v1 = JSON.stringify({ id: createHash('sha256').update(tag).digest('hex'), created, container_config: { Cmd: ['/bin/sh'] }, architecture: 'amd64', os: 'linux' });
  const payload = JSON.stringify({ schemaVersion: 1, name: repo, tag, architecture: 'amd64', fsLayers, history: [{ v1Compatibility: v1 }] }, null, 3);
  const formatLength = payload.lastIndexOf('\n}');
  const formatTail = payload.slice(formatLength);
  const protectedHeader = b64url(JSON.stringify({ formatLength, formatTail: b64url(formatTail), time: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }));
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' });
  const signature = sign('sha256', Buffer.from(`${protectedHeader}.${b64url(payload)}`), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  const signatures = [{ header: { jwk: { crv: jwk.crv, kid: 'TEST:KEY', kty: jwk.kty, x: jwk.x, y: jwk.y }, alg: 'ES256' }, signature: b64url(signature), protected: protectedHeader }];
  const pretty = JSON.stringify({ signatures }, null, 3).split('\n').slice(1, -1).join('\n');
  return Buffer.from(`${payload.slice(0, formatLength)},\n${pretty}${formatTail}`);
}

/**
 * Stores `repo:tag` as a schema 1 image created at `created`, listing `layers` (blob digests; else one made up);
 * returns its digest (the sha256 of the bytes served).
 */
export function storeSchema1Image(dataDir: string, repo: string, tag: string, created: string, layers?: string[]): string {
  const body = signedManifest(repo, tag, created, layers);
  const hex = createHash('sha256').update(body).digest('hex');
  const digest = `sha256:${hex}`;
  const root = join(dataDir, 'docker', 'registry', 'v2');
  const write = (path: string, content: Buffer | string) => {
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, content);
  };
  write(join(root, 'blobs', 'sha256', hex.slice(0, 2), hex, 'data'), body);
  const manifests = join(root, 'repositories', repo, '_manifests');
  write(join(manifests, 'revisions', 'sha256', hex, 'link'), digest);
  write(join(manifests, 'tags', tag, 'current', 'link'), digest);
  write(join(manifests, 'tags', tag, 'index', 'sha256', hex, 'link'), digest);
  return digest;
}
