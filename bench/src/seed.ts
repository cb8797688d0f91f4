/**
 * Seeds a registry fast: one shared layer blob, a unique config blob per image, manifests PUT by tag over the API.
 * Blobs are written straight into the registry's filesystem storage (data file + the repository's `_layers` link,
 * distribution's layout), which is what a blob upload ends with; `api` mode uploads them (POST + PUT) instead.
 * Manifests always go through the registry, which checks that their blobs exist and writes the tag links itself. Every 10th image carries two tags,
 * every 20th is a two-platform OCI index; creation dates are spread over time (and not in tag order).
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ImagePusher, MT, sha256 } from '../../tests/helpers/images.js';

export interface Shape {
  repos: number;
  tags: number;
}

/** What the seeded registry holds: the request floor of a plan follows from it. */
export interface SeedFacts {
  repos: number;
  tags: number;
  images: number;
  /** Images with two tags (one digest, two tags). */
  sharedDigestImages: number;
  indexes: number;
  /** Child manifests of the indexes (fetched by digest to date an index). */
  childManifests: number;
  /** Distinct config blobs (one per single-platform image and per index child). */
  configs: number;
  /** Tags that a keep-N-newest plan deletes, and the images. */
  tagsToDelete: number;
  imagesToDelete: number;
  /** Repositories with more images than kept (the apply re-verifies these). */
  reposWithDeletions: number;
  /** Child manifests of the indexes planned for deletion (deleted after their index). */
  childrenToDelete: number;
  requests: number;
  seconds: number;
}

interface ImageSpec {
  repo: string;
  k: number;
  tags: string[];
  created: string;
  multiArch: boolean;
  oci: boolean;
}

export const repoName = (r: number, repos: number) => `bench/app-${String(r).padStart(String(repos - 1).length, '0')}`;

const HOUR = 3600_000;
const BASE = Date.parse('2026-01-01T00:00:00Z');

/** A stable pseudo-random number in [0, 1) for a key. */
function unit(key: string): number {
  return createHash('sha256').update(key).digest().readUInt32BE(0) / 2 ** 32;
}

/** The images of one repository, oldest first; `g0` numbers images across repositories so proportions hold for any shape. */
export function planRepo(r: number, shape: Shape, g0: number): ImageSpec[] {
  const repo = repoName(r, shape.repos);
  const images: ImageSpec[] = [];
  let left = shape.tags;
  for (let k = 0, g = g0; left > 0; k++, g++) {
    const two = g % 10 === 9 && left >= 2;
    const tags = two ? [`1.${k}.0`, `build-${k}`] : [`1.${k}.0`];
    left -= tags.length;
    // Roughly 6 h apart, with up to 10 h of jitter: creation order differs from tag order here and there.
    const created = new Date(BASE - (shape.tags - k) * 6 * HOUR - Math.floor(unit(`${repo}/${k}`) * 10 * HOUR)).toISOString();
    images.push({ repo, k, tags, created, multiArch: g % 20 === 7, oci: g % 3 === 0 });
  }
  return images;
}

export function facts(shape: Shape, keep: number): Omit<SeedFacts, 'requests' | 'seconds'> {
  const f = { repos: shape.repos, tags: 0, images: 0, sharedDigestImages: 0, indexes: 0, childManifests: 0, configs: 0, tagsToDelete: 0, imagesToDelete: 0, reposWithDeletions: 0, childrenToDelete: 0 };
  let g = 0;
  for (let r = 0; r < shape.repos; r++) {
    const images = planRepo(r, shape, g);
    g += images.length;
    for (const im of images) {
      f.tags += im.tags.length;
      f.images++;
      if (im.tags.length > 1) f.sharedDigestImages++;
      if (im.multiArch) {
        f.indexes++;
        f.childManifests += 2;
        f.configs += 2;
      } else f.configs++;
    }
    const newest = [...images].sort((a, b) => b.created.localeCompare(a.created));
    if (newest.length > keep) f.reposWithDeletions++;
    for (const im of newest.slice(keep)) {
      f.imagesToDelete++;
      f.tagsToDelete += im.tags.length;
      if (im.multiArch) f.childrenToDelete += 2;
    }
  }
  return f;
}

/** Runs `work` over items with `n` in flight. */
async function pool<T>(items: Iterable<T>, n: number, work: (item: T) => Promise<void>): Promise<void> {
  const it = items[Symbol.iterator]();
  let failed: unknown;
  const worker = async () => {
    for (let next = it.next(); !next.done && failed === undefined; next = it.next()) {
      try {
        await work(next.value);
      } catch (error) {
        failed ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: n }, worker));
  if (failed !== undefined) throw failed;
}

export class Seeder {
  private readonly pusher: ImagePusher;
  private readonly layer = Buffer.from(createHash('sha512').update('cleanreg-bench-layer').digest('hex').repeat(4));
  private readonly layerDigest = sha256(this.layer);

  /** `storage`: the registry's filesystem root directory, to write blobs into directly; without it, blobs are uploaded. */
  constructor(url: string, private readonly storage?: string) {
    this.pusher = new ImagePusher({ url });
  }

  close(): void {
    this.pusher.close();
  }

  private async check(method: string, path: string, ok: number, opts: { headers?: Record<string, string>; body?: Buffer } = {}) {
    const res = await this.pusher.send(method, path, opts);
    if (res.status !== ok) throw new Error(`seed: ${method} ${path}: HTTP ${res.status} ${res.body.toString('utf8').slice(0, 300)}`);
    return res;
  }

  /** A blob known to be new: written into the storage, or uploaded with POST then PUT (no HEAD). */
  private async upload(repo: string, data: Buffer): Promise<string> {
    const digest = sha256(data);
    if (this.storage) {
      const hex = digest.slice('sha256:'.length);
      const v2 = join(this.storage, 'docker/registry/v2');
      const blobDir = join(v2, 'blobs/sha256', hex.slice(0, 2), hex);
      const linkDir = join(v2, 'repositories', repo, '_layers/sha256', hex);
      await Promise.all([mkdir(blobDir, { recursive: true }), mkdir(linkDir, { recursive: true })]);
      await Promise.all([writeFile(join(blobDir, 'data'), data), writeFile(join(linkDir, 'link'), digest)]);
      return digest;
    }
    const start = await this.check('POST', `/v2/${repo}/blobs/uploads/`, 202);
    const location = String(start.headers.location);
    await this.check('PUT', `${location}${location.includes('?') ? '&' : '?'}digest=${encodeURIComponent(digest)}`, 201, {
      headers: { 'content-type': 'application/octet-stream' },
      body: data,
    });
    return digest;
  }

  private async manifest(repo: string, ref: string, mediaType: string, body: Buffer): Promise<void> {
    await this.check('PUT', `/v2/${repo}/manifests/${ref}`, 201, { headers: { 'content-type': mediaType }, body });
  }

  /** Pushes one platform image (config + manifest) and returns its descriptor; tags empty = by digest. */
  private async platformImage(im: ImageSpec, arch: string, tags: string[]): Promise<{ mediaType: string; digest: string; size: number }> {
    const config = Buffer.from(JSON.stringify({
      created: im.created,
      architecture: arch,
      os: 'linux',
      config: { Labels: { 'cleanreg.bench': `${im.repo}:${im.k}:${arch}` } },
      rootfs: { type: 'layers', diff_ids: [sha256(this.layer)] },
    }));
    const configDigest = await this.upload(im.repo, config);
    const mediaType = im.oci || im.multiArch ? MT.ociManifest : MT.dockerManifest;
    const body = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType,
      config: { mediaType: mediaType === MT.ociManifest ? MT.ociConfig : MT.dockerConfig, size: config.length, digest: configDigest },
      layers: [{ mediaType: mediaType === MT.ociManifest ? MT.ociLayer : MT.dockerLayer, size: this.layer.length, digest: this.layerDigest }],
    }));
    const digest = sha256(body);
    for (const ref of tags.length ? tags : [digest]) await this.manifest(im.repo, ref, mediaType, body);
    return { mediaType, digest, size: body.length };
  }

  private async image(im: ImageSpec): Promise<void> {
    if (!im.multiArch) {
      await this.platformImage(im, 'amd64', im.tags);
      return;
    }
    const children = await Promise.all(['amd64', 'arm64'].map((arch) => this.platformImage(im, arch, [])));
    const index = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: MT.ociIndex,
      manifests: children.map((c, i) => ({ ...c, platform: { architecture: i ? 'arm64' : 'amd64', os: 'linux' } })),
    }));
    for (const tag of im.tags) await this.manifest(im.repo, tag, MT.ociIndex, index);
  }

  /** Tags left in all repositories (after an apply: a check that it deleted what the policy says). */
  async countTags(shape: Shape, workers: number): Promise<number> {
    let total = 0;
    const names = Array.from({ length: shape.repos }, (_, r) => repoName(r, shape.repos));
    await pool(names, workers, async (repo) => {
      const tags = await this.pusher.tags(repo);
      total += tags?.length ?? 0;
    });
    return total;
  }

  async seed(shape: Shape, keep: number, workers: number, onProgress?: (done: number, total: number) => void): Promise<SeedFacts> {
    const started = Date.now();
    const before = this.pusher.requests;
    const names = Array.from({ length: shape.repos }, (_, r) => repoName(r, shape.repos));
    await pool(names, workers, async (repo) => {
      await this.upload(repo, this.layer);
    });
    const f = facts(shape, keep);
    function* all(): Generator<ImageSpec> {
      let g = 0;
      for (let r = 0; r < shape.repos; r++) {
        const images = planRepo(r, shape, g);
        g += images.length;
        yield* images;
      }
    }
    let done = 0;
    await pool(all(), workers, async (im) => {
      await this.image(im);
      if (++done % 1000 === 0) onProgress?.(done, f.images);
    });
    return { ...f, requests: this.pusher.requests - before, seconds: (Date.now() - started) / 1000 };
  }
}
