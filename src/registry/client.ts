import { createHash } from 'node:crypto';
import { RegistryError, UsageError } from '../errors.js';
import type { Logger } from '../util/log.js';
import { DIGEST } from '../util/digest.js';
import { displayUrl } from '../util/redact.js';
import { Authenticator, type Credentials } from './auth.js';
import { mapRequestError, type RequestContext } from './error-map.js';
import { MANIFEST_ACCEPT, OCI_INDEX } from './media-types.js';
import { nextPageUrl } from './paging.js';
import { proxyFor } from './proxy.js';
import { createTransport, HttpStatusError, type HttpResponse, type Transport, type TransportOptions } from './transport.js';

export interface ClientOptions extends Omit<TransportOptions, 'onRequest' | 'maxSockets'> {
  registry: string;
  /** The CA file given with -c/--cacert, for errors about certificates it did not sign. */
  cacert?: string;
  credentials: Credentials;
  /** Requests in flight at once (-w). */
  concurrency: number;
}

export interface Descriptor {
  mediaType?: string;
  digest: string;
  size?: number;
  platform?: { architecture?: string; os?: string; variant?: string };
  artifactType?: string;
  annotations?: Record<string, string>;
}

/** The fields of image manifests and indexes that cleanreg reads. */
export interface ManifestJson {
  schemaVersion?: number;
  mediaType?: string;
  artifactType?: string;
  config?: Descriptor;
  layers?: Descriptor[];
  manifests?: Descriptor[];
  subject?: Descriptor;
  /** Docker schema 1 (images pushed before 2016): each layer's config as a JSON string, newest first. */
  history?: { v1Compatibility?: string }[];
  /** Docker schema 1: the layers, newest first, by digest only (no sizes). */
  fsLayers?: { blobSum?: string }[];
}

export interface FetchedManifest {
  digest: string;
  mediaType: string;
  size: number;
  json: ManifestJson;
  /** The raw bytes, as served: needed to re-put the exact manifest. */
  raw: Buffer;
}

type Method = 'GET' | 'HEAD' | 'DELETE' | 'PUT' | 'POST';

interface Operation {
  method: Method;
  url: URL;
  what: string;
  repo?: string;
  scope?: string;
  headers?: Record<string, string>;
  body?: Buffer;
}

/** `repo:tag` or `repo@digest`, as docker writes a reference. */
function reference(repo: string, ref: string): string {
  return `${repo}${ref.includes(':') ? '@' : ':'}${ref}`;
}

/** Normalises and checks a registry URL given by the user (-r). */
export function parseRegistryUrl(input: string): URL {
  // A registry URL has no `@`; one that does carries credentials, and is never echoed (a password may hold / # ?).
  if (input.includes('@')) {
    throw new UsageError('the registry URL carries credentials (user:password@host): leave them out of -r', 'pass them with -u and -pw, CLEANREG_USERNAME/CLEANREG_PASSWORD, --password-stdin or docker login');
  }
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(input) ? input : `https://${input}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new UsageError(`invalid registry URL "${input}"`, 'use a URL like https://registry.example.com or http://127.0.0.1:5000');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`invalid registry URL "${input}": the scheme must be http or https`);
  }
  // Never sent, so never silently dropped; not echoed either (a query may hold a token).
  if (url.search.length > 1 || url.hash.length > 1) {
    throw new UsageError('invalid registry URL: it has a query or a fragment (after ? or #), which cleanreg would not send', 'leave it out of -r: credentials go with -u and -pw, or docker login');
  }
  url.pathname = url.pathname.replace(/\/v2\/?$/, '').replace(/\/+$/, '') + '/';
  url.search = '';
  url.hash = '';
  return url;
}

/**
 * The only module that speaks the Registry v2 / OCI distribution API, over one transport, with auth,
 * TLS, proxy, retries and error mapping. Every request is counted by method.
 */
export class RegistryClient {
  readonly base: URL;
  readonly stats: Record<string, number> = {};
  private readonly http: Transport;
  private readonly auth: Authenticator;
  private referrersSupported: boolean | undefined;
  private referrersProbe?: Promise<Descriptor[] | undefined>;
  /** The proxy requests to the registry go through (-p), for error messages. */
  private readonly proxy?: string;
  private readonly cacert?: string;

  constructor(opts: ClientOptions, private readonly logger: Logger) {
    this.base = parseRegistryUrl(opts.registry);
    this.http = createTransport({ ...opts, maxSockets: opts.concurrency, onRequest: (m) => (this.stats[m] = (this.stats[m] ?? 0) + 1) });
    this.auth = new Authenticator(this.http, opts.credentials, logger, opts.cacert);
    this.proxy = opts.useProxy ? proxyFor(this.base, opts.env ?? process.env) : undefined;
    this.cacert = opts.cacert;
  }

  get requestCount(): number {
    return Object.values(this.stats).reduce((a, b) => a + b, 0);
  }

  private url(path: string): URL {
    return new URL(path.charCodeAt(0) === 0x2f ? path.slice(1) : path, this.base);
  }

  private async send(op: Operation): Promise<HttpResponse> {
    for (let refusals = 0; ; refusals++) {
      const header = this.auth.header(op.scope);
      const authorization = typeof header === 'object' ? await header : header;
      const headers = authorization ? { ...op.headers, authorization } : op.headers;
      try {
        return await this.http(op.url, { method: op.method, headers, body: op.body });
      } catch (error) {
        if (error instanceof HttpStatusError && error.response.statusCode === 401 && this.auth.onUnauthorized(error.response.headers['www-authenticate'], op.scope, refusals)) {
          continue;
        }
        throw mapRequestError(error, this.context(op));
      }
    }
  }

  private context(op: Operation): RequestContext {
    return { method: op.method, url: op.url, what: op.what, repo: op.repo, scope: this.auth.scopeAsked(op.scope), hasCredentials: this.auth.hasCredentials, credentialSource: this.auth.credentialSource, identityToken: this.auth.usesIdentityToken, proxy: this.proxy, cacert: this.cacert };
  }

  /** GET /v2/: reachability, TLS and credentials are checked before anything else. */
  async ping(): Promise<void> {
    const op: Operation = { method: 'GET', url: this.url('/v2/'), what: `check ${displayUrl(this.base).replace(/\/$/, '')}` };
    const res = await this.send(op);
    this.logger.debug(`registry ${this.base.origin} answered /v2/ with ${res.statusCode} (${this.auth.scheme} auth)`);
  }

  /** Repository names, page by page. */
  async *catalog(): AsyncGenerator<string[]> {
    for await (const page of this.pages<{ repositories?: string[] | null }>(this.url('/v2/_catalog'), 'list the catalog', 'registry:catalog:*')) {
      yield page.repositories ?? [];
    }
  }

  /** All tags of a repository; null when the registry keeps it with `"tags": null` (no tags left). */
  async tags(repo: string): Promise<string[] | null> {
    let tags: string[] | null = null;
    try {
      for await (const page of this.pages<{ tags?: string[] | null }>(this.url(`/v2/${repo}/tags/list`), `list tags of ${repo}`, pullScope(repo), repo)) {
        if (page.tags) (tags ??= []).push(...page.tags);
      }
    } catch (error) {
      // Registries that answer a bare 404 for an unknown repository.
      if (error instanceof RegistryError && error.kind === 'not-found') {
        throw new RegistryError('repository-missing', `repository "${repo}" not found on ${this.base.origin} (404)`, 'check -n/--reponame or repos.conf; `cleanreg list` shows the repositories', 404);
      }
      throw error;
    }
    // A registry that pages carelessly may list a tag on two pages: one tag, once.
    return tags && [...new Set(tags)];
  }

  private async *pages<T>(first: URL, what: string, scope: string, repo?: string, headers?: Record<string, string>): AsyncGenerator<T> {
    const read = new Set<string>();
    for (let url: URL | undefined = first; url; ) {
      if (read.has(url.href)) throw new RegistryError('protocol', `${what}: the registry's next-page link leads back to a page already read`);
      read.add(url.href);
      const page = url;
      const res = await this.send({ method: 'GET', url, what, scope, repo, headers }).catch((error: unknown) => {
        // A later page that is not there does not mean the repository is not: the list cannot be read to its end.
        if (page === first || !isGone(error)) throw error;
        throw new RegistryError('protocol', `${what}: the next page the registry linked to (${page.pathname}${page.search}) answered 404: the list cannot be read to its end`, 'if a proxy serves the registry under a path, its Link headers must name that path too', 404);
      });
      yield parseJson<T>(res.body, what);
      let next: URL | undefined;
      try {
        next = nextPageUrl(res.headers.link, url);
      } catch {
        throw new RegistryError('protocol', `${what}: the registry's next-page link is not a URL: the list cannot be read to its end`);
      }
      // Not followed (credentials stay with their origin), and not taken as the last page either: a list cut short
      // would leave out tags that protect images, and repositories.
      if (next && next.origin !== url.origin) {
        throw new RegistryError('protocol', `${what}: the registry's next-page link leads to another origin (${next.origin}), which cleanreg does not follow`, `if that is this registry's own name for itself, pass it as -r/--registry; else fix the proxy that rewrites its Link headers`);
      }
      url = next;
    }
  }

  /** GET a manifest by tag or digest with the full Accept list; the digest is the registry's, else the body's sha256. */
  async getManifest(repo: string, ref: string): Promise<FetchedManifest> {
    const what = `get manifest ${reference(repo, ref)}`;
    const res = await this.send({ method: 'GET', url: this.url(`/v2/${repo}/manifests/${ref}`), what, repo, scope: pullScope(repo), headers: { accept: MANIFEST_ACCEPT } });
    const header = res.headers['docker-content-digest'];
    const digest = typeof header === 'string' && DIGEST.test(header) ? header : `sha256:${createHash('sha256').update(res.body).digest('hex')}`;
    const json = parseJson<ManifestJson>(res.body, what);
    const mediaType = json.mediaType ?? String(res.headers['content-type'] ?? '').split(';')[0];
    return { digest, mediaType, size: res.body.length, json, raw: res.body };
  }

  /**
   * The digest a tag (or digest) points at now, or null when it (or its repository) is gone. A HEAD answered 404 is
   * asked again with a GET before it counts as gone (unless `expectGone`: the tag list no longer names it): a front
   * that refuses HEAD with 404 (while GET works) would otherwise hide a kept tag moved onto a doomed image.
   */
  async resolve(repo: string, ref: string, opts: { expectGone?: boolean } = {}): Promise<string | null> {
    let gone = false;
    const head = await this.send({ method: 'HEAD', url: this.url(`/v2/${repo}/manifests/${ref}`), what: `resolve ${reference(repo, ref)}`, repo, scope: pullScope(repo), headers: { accept: MANIFEST_ACCEPT } }).catch((error: unknown) => {
      if (!isGone(error)) throw error;
      gone = true;
    });
    // A tag the fresh tag list no longer has: the 404 agrees with it.
    if (gone && opts.expectGone) return null;
    const header = head?.headers['docker-content-digest'];
    if (typeof header === 'string' && DIGEST.test(header)) return header;
    // After a 404, or without the header (never guess: the digest is the hash of the bytes), a GET decides.
    return this.fetchDigest(repo, ref);
  }

  /** The digest of a manifest as a GET reads it, or null when it is not there. */
  private async fetchDigest(repo: string, ref: string): Promise<string | null> {
    try {
      return (await this.getManifest(repo, ref)).digest;
    } catch (error) {
      if (isGone(error)) return null;
      throw error;
    }
  }

  async getBlob(repo: string, digest: string): Promise<Buffer> {
    const res = await this.send({ method: 'GET', url: this.url(`/v2/${repo}/blobs/${digest}`), what: `get blob ${digest.slice(0, 19)} of ${repo}`, repo, scope: pullScope(repo) });
    return res.body;
  }

  async getJsonBlob<T>(repo: string, digest: string): Promise<T> {
    return parseJson<T>(await this.getBlob(repo, digest), `config ${digest} of ${repo}`);
  }

  /**
   * DELETE a manifest by digest. `gone` when it was already deleted (also after a retried DELETE): a 404 is checked,
   * since what follows the manifest goes once it is gone, and a registry may answer 404 for one it keeps.
   */
  async deleteManifest(repo: string, digest: string): Promise<'deleted' | 'gone'> {
    if (!DIGEST.test(digest)) throw new UsageError(`refusing to delete "${digest}": only digests are deleted`);
    const what = `delete ${repo}@${digest}`;
    try {
      await this.send({ method: 'DELETE', url: this.url(`/v2/${repo}/manifests/${digest}`), what, repo, scope: deleteScope(repo) });
      return 'deleted';
    } catch (error) {
      if (!isGone(error)) throw error;
      if ((await this.fetchDigest(repo, digest)) === null) return 'gone';
      throw new RegistryError('protocol', `${what}: the registry answered 404 (${(error as RegistryError).reason}) but still serves the manifest`, 'the registry refuses to delete it over the API (check its logs, and whether it allows deleting this manifest)', 404);
    }
  }

  /**
   * DELETE a tag itself (OCI distribution 1.1, distribution 3). `unsupported` where the registry only deletes by
   * digest (distribution 2.x answers 400); a 405 still means deletion is disabled and is thrown.
   */
  async deleteTag(repo: string, tag: string): Promise<'deleted' | 'unsupported'> {
    try {
      await this.send({ method: 'DELETE', url: this.url(`/v2/${repo}/manifests/${tag}`), what: `delete tag ${repo}:${tag}`, repo, scope: deleteScope(repo) });
      return 'deleted';
    } catch (error) {
      if (error instanceof RegistryError && error.status === 400) return 'unsupported';
      throw error;
    }
  }

  /** PUT a manifest (used to move a single tag away from a shared digest). */
  async putManifest(repo: string, ref: string, body: Buffer, mediaType: string): Promise<string> {
    const res = await this.send({ method: 'PUT', url: this.url(`/v2/${repo}/manifests/${ref}`), what: `put manifest ${reference(repo, ref)}`, repo, scope: pushScope(repo), headers: { 'content-type': mediaType }, body });
    const header = res.headers['docker-content-digest'];
    return typeof header === 'string' ? header : `sha256:${createHash('sha256').update(body).digest('hex')}`;
  }

  /** Uploads a blob in one request (POST then PUT); skipped when the registry has it. */
  async putBlob(repo: string, digest: string, data: Buffer): Promise<void> {
    const scope = pushScope(repo);
    try {
      await this.send({ method: 'HEAD', url: this.url(`/v2/${repo}/blobs/${digest}`), what: `check blob ${digest}`, repo, scope });
      return;
    } catch (error) {
      if (!(error instanceof RegistryError && error.status === 404)) throw error;
    }
    const start = await this.send({ method: 'POST', url: this.url(`/v2/${repo}/blobs/uploads/`), what: `start a blob upload to ${repo}`, repo, scope });
    if (!start.headers.location) throw new RegistryError('protocol', `start a blob upload to ${repo}: no Location in the answer`);
    const location = new URL(start.headers.location, this.base);
    location.searchParams.set('digest', digest);
    await this.send({ method: 'PUT', url: location, what: `upload blob ${digest} to ${repo}`, repo, scope, headers: { 'content-type': 'application/octet-stream' }, body: data });
  }

  /**
   * OCI 1.1 referrers of a digest, or undefined when the registry does not serve the referrers API (distribution
   * 2.x answers 404) or refuses it (401/403); the first such answer turns the probing off. None (an empty list)
   * when the repository itself is gone. Any other failure is thrown: what refers to a deleted image could not be
   * found again.
   */
  async referrers(repo: string, digest: string): Promise<Descriptor[] | undefined> {
    // While support is unknown, one probe at a time: the others wait for its answer instead of probing too (and
    // after a probe that failed, one of them probes next).
    while (this.referrersSupported === undefined && this.referrersProbe) await this.referrersProbe.catch(() => undefined);
    if (this.referrersSupported === false) return undefined;
    if (this.referrersSupported === undefined) {
      const probe = (this.referrersProbe = this.fetchReferrers(repo, digest));
      try {
        return await probe;
      } finally {
        if (this.referrersProbe === probe) this.referrersProbe = undefined;
      }
    }
    return this.fetchReferrers(repo, digest);
  }

  private async fetchReferrers(repo: string, digest: string): Promise<Descriptor[] | undefined> {
    const what = `list referrers of ${repo}@${digest}`;
    const found: Descriptor[] = [];
    let pages = 0;
    try {
      // A long list comes in pages, each an image index, linked with `Link: <...>; rel="next"` (as tag lists are).
      for await (const index of this.pages<ManifestJson>(this.url(`/v2/${repo}/referrers/${digest}`), what, pullScope(repo), repo, { accept: OCI_INDEX })) {
        if (!Array.isArray(index.manifests)) throw new RegistryError('protocol', `${what}: the answer is not an image index`);
        this.referrersSupported = true;
        pages++;
        found.push(...index.manifests);
      }
      return found;
    } catch (error) {
      if (!(error instanceof RegistryError)) throw error;
      // The repository is gone (deleted since a saved plan): nothing refers to anything there, and it says
      // nothing about the API.
      if (error.kind === 'repository-missing' && pages === 0) return [];
      const absent = error.status === 404 || error.status === 400 || error.status === 405;
      if (this.referrersSupported) {
        // A registry with the API must not answer 404 for a digest without referrers, but some do; a 404 after the
        // first page is a broken list, not an empty one, and any other failure is a failure.
        if (error.status === 404 && pages === 0) return [];
        throw error;
      }
      if (absent || error.kind === 'protocol') {
        this.logger.debug(`the registry does not serve the OCI referrers API (${error.reason})`);
      } else if (error.status === 401 || error.status === 403) {
        this.logger.warn(`the registry refused the OCI referrers API (${error.reason}): untagged signatures and SBOMs of deleted images are not looked for`);
      } else {
        // A 500 or a dropped connection says nothing about the API: the plan fails rather than miss referrers.
        throw error;
      }
      this.referrersSupported = false;
      return undefined;
    }
  }
}

export function pullScope(repo: string): string {
  return `repository:${repo}:pull`;
}
export function deleteScope(repo: string): string {
  return `repository:${repo}:pull,delete`;
}
export function pushScope(repo: string): string {
  return `repository:${repo}:pull,push`;
}

/** A 404: the manifest, tag or repository is not there (as the registry says). */
function isGone(error: unknown): boolean {
  return error instanceof RegistryError && (error.kind === 'not-found' || error.kind === 'repository-missing');
}

function parseJson<T>(body: Buffer, what: string): T {
  try {
    return JSON.parse(body.toString('utf8')) as T;
  } catch {
    throw new RegistryError('protocol', `${what}: the registry answered with something that is not JSON`, undefined);
  }
}

