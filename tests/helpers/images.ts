/** Pushes small, real images (docker v2 / OCI, single- or multi-arch, referrers) over the Registry v2 API. */
import { createHash, randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';

export interface Conn { url: string; ca?: string; basic?: { user: string; password: string }; bearer?: (scope: string) => Promise<string> }
export type Kind = 'docker' | 'oci';
export interface PushedImage {
  digest: string;
  configDigest: string; // '' for an index
  layerDigests: string[]; // [] for an index
  mediaType: string;
  size: number; // byte length of the manifest itself (a descriptor's size)
  contentSize: number; // config + layers (an index: the sum over its children)
}

export const MT = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
} as const;
export const ACCEPT_ALL = [MT.ociIndex, MT.dockerList, MT.ociManifest, MT.dockerManifest].join(', ');
const INDEX_TYPES: string[] = [MT.ociIndex, MT.dockerList];

export interface Response { status: number; headers: http.IncomingHttpHeaders; body: Buffer }
interface Descriptor { mediaType: string; digest: string; size: number }

export const sha256 = (b: Buffer | string) => 'sha256:' + createHash('sha256').update(b).digest('hex');

/** Deterministic pseudo-random bytes for a seed. */
function seededBytes(seed: string, n: number): Buffer {
  const blocks: Buffer[] = [];
  for (let i = 0; blocks.length * 32 < n; i++) blocks.push(createHash('sha256').update(`${seed}#${i}`).digest());
  return Buffer.concat(blocks).subarray(0, n);
}

/** Parses `Bearer realm="…",service="…",scope="…"` into its parameters. */
function challengeParams(header: string | undefined): Record<string, string> | null {
  if (!header || !/^bearer\s/i.test(header)) return null;
  const out: Record<string, string> = {};
  for (const m of header.matchAll(/(\w+)="([^"]*)"/g)) out[m[1].toLowerCase()] = m[2];
  return out;
}

export class ImagePusher {
  requests = 0;
  private readonly agent: http.Agent;
  private readonly tokens = new Map<string, string>(); // repository (or "") → last bearer token

  constructor(private readonly conn: Conn) {
    this.agent = conn.url.startsWith('https:')
      ? new https.Agent({ keepAlive: true, ca: conn.ca })
      : new http.Agent({ keepAlive: true });
  }

  close(): void {
    this.agent.destroy();
  }

  /** One request to the registry (path or absolute URL), with basic auth or the bearer challenge dance. */
  async send(method: string, pathOrUrl: string, opts: { headers?: Record<string, string>; body?: Buffer } = {}): Promise<Response> {
    const url = new URL(pathOrUrl, this.conn.url);
    const repoKey = /^\/v2\/(.+?)\/(manifests|blobs|tags)\//.exec(url.pathname)?.[1] ?? '';
    const headers: Record<string, string> = { ...opts.headers };
    if (this.conn.basic) headers.authorization = 'Basic ' + Buffer.from(`${this.conn.basic.user}:${this.conn.basic.password}`).toString('base64');
    const cached = this.tokens.get(repoKey);
    if (cached) headers.authorization = `Bearer ${cached}`;

    let res = await this.raw(method, url, headers, opts.body);
    const challenge = res.status === 401 && this.conn.bearer ? challengeParams(res.headers['www-authenticate'] as string | undefined) : null;
    if (challenge) {
      const token = await this.conn.bearer!(challenge.scope ?? '');
      this.tokens.set(repoKey, token);
      res = await this.raw(method, url, { ...headers, authorization: `Bearer ${token}` }, opts.body);
    }
    return res;
  }

  private raw(method: string, url: URL, headers: Record<string, string>, body?: Buffer): Promise<Response> {
    this.requests++;
    const mod = url.protocol === 'https:' ? https : http;
    if (body) headers['content-length'] = String(body.length);
    return new Promise((resolve, reject) => {
      const req = mod.request(url, { method, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  private async expect(res: Response, ok: number[], what: string): Promise<Response> {
    if (!ok.includes(res.status)) throw new Error(`${what}: HTTP ${res.status} ${res.body.toString('utf8').slice(0, 500)}`);
    return res;
  }

  async pushBlob(repo: string, data: Buffer, digest = sha256(data)): Promise<string> {
    const head = await this.send('HEAD', `/v2/${repo}/blobs/${digest}`);
    if (head.status === 200) return digest;
    const start = await this.expect(await this.send('POST', `/v2/${repo}/blobs/uploads/`), [202], `start upload ${repo}`);
    const location = start.headers.location;
    if (!location) throw new Error(`start upload ${repo}: 202 without Location`);
    const put = location + (location.includes('?') ? '&' : '?') + 'digest=' + encodeURIComponent(digest);
    await this.expect(await this.send('PUT', put, { headers: { 'content-type': 'application/octet-stream' }, body: data }), [201], `upload ${digest}`);
    return digest;
  }

  /** PUTs the manifest under every tag (or by digest if there are none) and checks the registry's digest. */
  async pushManifest(repo: string, mediaType: string, body: Buffer, tags: string[]): Promise<string> {
    const digest = sha256(body);
    for (const ref of tags.length ? tags : [digest]) {
      const res = await this.expect(
        await this.send('PUT', `/v2/${repo}/manifests/${ref}`, { headers: { 'content-type': mediaType }, body }), [201], `put manifest ${repo}:${ref}`);
      const got = res.headers['docker-content-digest'];
      if (got && got !== digest) throw new Error(`put manifest ${repo}:${ref}: registry says ${got}, content is ${digest}`);
    }
    return digest;
  }

  async pushImage(repo: string, tags: string[], opts: { created?: string | null; kind?: Kind; arch?: string; seed?: string; layers?: number } = {}): Promise<PushedImage> {
    const kind = opts.kind ?? 'docker';
    const seed = opts.seed ?? randomUUID();
    const created = opts.created === undefined ? new Date().toISOString() : opts.created;
    const arch = opts.arch ?? 'amd64';
    const layers = Array.from({ length: opts.layers ?? 1 }, (_, i) => seededBytes(`${seed}/layer${i}`, 200 + 50 * i));
    const config = Buffer.from(JSON.stringify({
      ...(created === null ? {} : { created }),
      architecture: arch,
      os: 'linux',
      config: { Labels: { 'cleanreg.test.seed': seed } },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => sha256(l)) },
    }));
    const configDigest = await this.pushBlob(repo, config);
    const layerDigests: string[] = [];
    for (const l of layers) layerDigests.push(await this.pushBlob(repo, l));

    const mediaType = kind === 'oci' ? MT.ociManifest : MT.dockerManifest;
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType,
      config: { mediaType: kind === 'oci' ? MT.ociConfig : MT.dockerConfig, size: config.length, digest: configDigest },
      layers: layers.map((l, i) => ({ mediaType: kind === 'oci' ? MT.ociLayer : MT.dockerLayer, size: l.length, digest: layerDigests[i] })),
    }));
    const digest = await this.pushManifest(repo, mediaType, manifest, tags);
    const contentSize = config.length + layers.reduce((n, l) => n + l.length, 0);
    return { digest, configDigest, layerDigests, mediaType, size: manifest.length, contentSize };
  }

  async pushIndex(repo: string, tags: string[], children: { arch: string; created: string | null; seed?: string }[], opts: { kind?: Kind; seed?: string } = {}): Promise<PushedImage & { children: PushedImage[] }> {
    const kind = opts.kind ?? 'oci';
    const seed = opts.seed ?? randomUUID();
    const pushed: PushedImage[] = [];
    for (const [i, c] of children.entries()) {
      pushed.push(await this.pushImage(repo, [], { kind, arch: c.arch, created: c.created, seed: c.seed ?? `${seed}/${i}/${c.arch}` }));
    }
    const mediaType = kind === 'oci' ? MT.ociIndex : MT.dockerList;
    const index = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType,
      manifests: pushed.map((p, i) => ({ mediaType: p.mediaType, digest: p.digest, size: p.size, platform: { architecture: children[i].arch, os: 'linux' } })),
    }));
    const digest = await this.pushManifest(repo, mediaType, index, tags);
    const contentSize = pushed.reduce((n, p) => n + p.contentSize, 0);
    return { digest, configDigest: '', layerDigests: [], mediaType, size: index.length, contentSize, children: pushed };
  }

  /** An OCI 1.1-style artifact: image manifest with artifactType, the empty config, one payload layer and `subject`. */
  async pushArtifact(repo: string, subjectDigest: string, tags: string[], opts: { artifactType?: string; seed?: string } = {}): Promise<PushedImage> {
    const subjectRes = await this.expect(
      await this.send('GET', `/v2/${repo}/manifests/${subjectDigest}`, { headers: { accept: ACCEPT_ALL } }), [200], `get subject ${subjectDigest}`);
    const subject: Descriptor = {
      mediaType: String(subjectRes.headers['content-type']).split(';')[0],
      digest: subjectDigest,
      size: subjectRes.body.length,
    };
    const empty = Buffer.from('{}');
    const emptyDigest = await this.pushBlob(repo, empty);
    const payload = Buffer.from(JSON.stringify({
      critical: { identity: { 'docker-reference': repo }, image: { 'docker-manifest-digest': subjectDigest }, type: 'cosign container image signature' },
      optional: { seed: opts.seed ?? randomUUID() },
    }));
    const payloadDigest = await this.pushBlob(repo, payload);
    const manifest = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: MT.ociManifest,
      artifactType: opts.artifactType ?? 'application/vnd.dev.cosign.artifact.sig.v1+json',
      config: { mediaType: MT.ociEmpty, size: empty.length, digest: emptyDigest },
      layers: [{ mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json', size: payload.length, digest: payloadDigest }],
      subject,
    }));
    const digest = await this.pushManifest(repo, MT.ociManifest, manifest, tags);
    return { digest, configDigest: emptyDigest, layerDigests: [payloadDigest], mediaType: MT.ociManifest, size: manifest.length, contentSize: empty.length + payload.length };
  }

  async tag(repo: string, tag: string, digest: string): Promise<void> {
    const res = await this.expect(
      await this.send('GET', `/v2/${repo}/manifests/${digest}`, { headers: { accept: ACCEPT_ALL } }), [200], `get ${repo}@${digest}`);
    await this.pushManifest(repo, String(res.headers['content-type']).split(';')[0], res.body, [tag]);
  }

  async tags(repo: string): Promise<string[] | null> {
    let next: string | null = `/v2/${repo}/tags/list`;
    let all: string[] | null = null;
    while (next) {
      const res = await this.send('GET', next);
      if (res.status === 404) return null;
      await this.expect(res, [200], `tags ${repo}`);
      const page = JSON.parse(res.body.toString('utf8')) as { tags: string[] | null };
      if (page.tags) all = [...(all ?? []), ...page.tags];
      next = /<([^>]+)>;\s*rel="next"/.exec(String(res.headers.link ?? ''))?.[1] ?? null;
    }
    return all;
  }

  async resolve(repo: string, ref: string): Promise<string | null> {
    const res = await this.send('HEAD', `/v2/${repo}/manifests/${ref}`, { headers: { accept: ACCEPT_ALL } });
    if (res.status === 404) return null;
    await this.expect(res, [200], `resolve ${repo}:${ref}`);
    const digest = res.headers['docker-content-digest'];
    if (typeof digest === 'string') return digest;
    const get = await this.expect(
      await this.send('GET', `/v2/${repo}/manifests/${ref}`, { headers: { accept: ACCEPT_ALL } }), [200], `get ${repo}:${ref}`);
    return sha256(get.body);
  }

  async isPullable(repo: string, ref: string): Promise<boolean> {
    const res = await this.send('GET', `/v2/${repo}/manifests/${ref}`, { headers: { accept: ACCEPT_ALL } });
    if (res.status === 404) return false;
    await this.expect(res, [200], `get ${repo}:${ref}`);
    const m = JSON.parse(res.body.toString('utf8')) as { mediaType?: string; manifests?: Descriptor[]; config?: Descriptor; layers?: Descriptor[] };
    const mediaType = m.mediaType ?? String(res.headers['content-type']).split(';')[0];
    if (INDEX_TYPES.includes(mediaType)) {
      for (const child of m.manifests ?? []) if (!(await this.isPullable(repo, child.digest))) return false;
      return true;
    }
    for (const d of [...(m.config ? [m.config] : []), ...(m.layers ?? [])]) {
      const blob = await this.send('GET', `/v2/${repo}/blobs/${d.digest}`);
      if (blob.status === 404) return false;
      await this.expect(blob, [200], `get blob ${d.digest}`);
      if (sha256(blob.body) !== d.digest) return false;
    }
    return true;
  }
}
