import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../util/log.js';
import { MemoryCache, type ManifestSummary, type MetadataCache } from './cache.js';

const FILE = 'metadata-v1.json';
/** Entries kept at most; the oldest go first. About 300 bytes each. */
export const MAX_ENTRIES = 200_000;

interface CacheFile {
  version: 1;
  manifests: [string, ManifestSummary][];
  configs: [string, string | null][];
}

export function defaultCacheDir(env: NodeJS.ProcessEnv): string {
  return join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache'), 'cleanreg');
}

/**
 * The digest cache on disk: manifest digest → summary, config digest → created. Content-addressed, so it is always
 * valid. Written whole to a temporary file and renamed, after merging what another process wrote meanwhile: two
 * runs at once lose nothing and never see half a file. A corrupt file is ignored and rebuilt.
 */
export class DiskCache extends MemoryCache {
  private dirty = false;
  private readonly path: string;

  constructor(
    private readonly dir: string,
    private readonly logger: Logger,
  ) {
    super();
    this.path = join(dir, FILE);
    this.load(this.read());
  }

  private read(): CacheFile | undefined {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch {
      return undefined;
    }
    try {
      const file = JSON.parse(text) as CacheFile;
      if (file?.version !== 1 || !Array.isArray(file.manifests) || !Array.isArray(file.configs)) throw new Error('unknown format');
      return file;
    } catch (error) {
      this.logger.verbose(`ignoring the corrupt cache ${this.path} (${(error as Error).message}); it will be rebuilt`);
      return undefined;
    }
  }

  private load(file: CacheFile | undefined): void {
    if (!file) return;
    for (const [digest, summary] of file.manifests) if (!this.manifests.has(digest)) this.manifests.set(digest, summary);
    for (const [digest, created] of file.configs) if (!this.configs.has(digest)) this.configs.set(digest, created);
  }

  override setManifest(digest: string, summary: ManifestSummary): void {
    super.setManifest(digest, summary);
    this.dirty = true;
  }

  override setCreated(configDigest: string, created: string | null): void {
    super.setCreated(configDigest, created);
    this.dirty = true;
  }

  override async flush(): Promise<void> {
    if (!this.dirty) return;
    try {
      mkdirSync(this.dir, { recursive: true });
      this.load(this.read());
      const file: CacheFile = { version: 1, manifests: newest([...this.manifests]), configs: newest([...this.configs]) };
      const tmp = `${this.path}.${process.pid}.${Date.now()}.tmp`;
      writeFileSync(tmp, JSON.stringify(file));
      renameSync(tmp, this.path);
      this.dirty = false;
    } catch (error) {
      this.logger.warn(`could not write the cache ${this.path}: ${(error as Error).message}`);
    }
  }
}

function newest<T>(entries: T[]): T[] {
  return entries.length > MAX_ENTRIES ? entries.slice(entries.length - MAX_ENTRIES) : entries;
}

export async function openCache(opts: { enabled: boolean; dir?: string; env: NodeJS.ProcessEnv; logger: Logger }): Promise<MetadataCache> {
  if (!opts.enabled) return new MemoryCache();
  return new DiskCache(opts.dir ?? defaultCacheDir(opts.env), opts.logger);
}
