import { appendFileSync, closeSync, mkdirSync, openSync, readSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Logger } from '../util/log.js';
import { isValidEntry, kindOf, MemoryCache, type ManifestSummary, type MetadataCache } from './cache.js';

/**
 * v5: an impossible date (2024-02-30) is no date, and an index with an undated platform image has no age (v4 rolled
 * the one over and dated the other by its dated children). v4: an index's children include those of a nested index
 * (v3 listed only its own). v3: dates read as RFC 3339 in UTC (v2 read a date without a zone in the local zone, and
 * took other formats).
 */
export const CACHE_FILE = 'metadata-v5.tsv';
/** What earlier versions wrote, replaced by CACHE_FILE: removed when the cache is next written. */
export const SUPERSEDED_FILES = ['metadata-v1.json', 'metadata-v2.tsv', 'metadata-v3.tsv', 'metadata-v4.tsv'];
/** Entries kept at most (a few hundred bytes each); past this the file is compacted to the newest. */
export const MAX_ENTRIES = 150_000;

export function defaultCacheDir(env: NodeJS.ProcessEnv): string {
  return join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache'), 'cleanreg');
}

/**
 * The digest cache on disk: manifest digest → summary, config digest → created, one `digest TAB kind TAB json`
 * line each. Content-addressed, so an entry never goes stale. New entries are appended (two runs at once only
 * append, and lose nothing); lines are kept as text and parsed when looked up, so a large cache costs little
 * memory; a line that does not parse is ignored, so a corrupt file is rebuilt, never fatal.
 */
export class DiskCache extends MemoryCache {
  private readonly path: string;
  private readonly fresh: string[] = [];

  constructor(
    private readonly dir: string,
    private readonly logger: Logger,
  ) {
    super();
    this.path = join(dir, CACHE_FILE);
    try {
      this.load();
    } catch {
      return;
    }
    if (this.entries.size > MAX_ENTRIES) this.compact();
  }

  /**
   * Reads the file a megabyte at a time, a string per key and per value: a 40 MB text (or buffer) would stay in
   * memory until the next full garbage collection, well into the scan. A line is `digest TAB m|c TAB json`.
   */
  private load(): void {
    const fd = openSync(this.path, 'r');
    try {
      let chunk = Buffer.allocUnsafe(1 << 20);
      let filled = 0;
      for (;;) {
        if (filled === chunk.length) chunk = Buffer.concat([chunk, Buffer.allocUnsafe(chunk.length)]); // a line longer than the chunk
        const read = readSync(fd, chunk, filled, chunk.length - filled, null);
        filled += read;
        const last = read === 0 ? filled : chunk.lastIndexOf(10, filled - 1) + 1;
        for (let start = 0; start < last; ) {
          const newline = chunk.indexOf(10, start);
          const end = newline < 0 || newline >= last ? last : newline;
          const tab = chunk.indexOf(9, start);
          if (tab > start + 8 && tab + 2 < end && chunk[tab + 2] === 9) this.entries.set(chunk.toString('latin1', start, tab), chunk.toString('utf8', tab + 3, end));
          start = end + 1;
        }
        if (read === 0) return;
        filled -= last;
        chunk.copy(chunk, 0, last, last + filled);
      }
    } finally {
      closeSync(fd);
    }
  }

  private warnedCorrupt = false;

  protected override corrupt(key: string): void {
    if (this.warnedCorrupt) return;
    this.warnedCorrupt = true;
    this.logger.warn(`the cache ${this.path} has a damaged entry (${key}, and maybe more): such entries are read from the registry again and rewritten`);
  }

  protected override store(key: string, kind: 'm' | 'c', value: unknown): string {
    const text = super.store(key, kind, value);
    // Summaries without a date were made for a policy that did not need one: not worth keeping. Nor is what a
    // later run would refuse to read (a registry's odd sizes): it would be warned about as damage on every run.
    if ((kind === 'c' || (value as ManifestSummary).created !== undefined) && isValidEntry(kind, value)) this.fresh.push(`${key}\t${kind}\t${text}\n`);
    if (this.fresh.length >= 2000) void this.flush();
    return text;
  }

  override async flush(): Promise<void> {
    if (!this.fresh.length) return;
    try {
      makeDirectory(this.dir);
      // Led by a newline: a line cut short by a crash must not swallow the first new one.
      appendFileSync(this.path, `\n${this.fresh.join('')}`);
      this.removeSuperseded();
    } catch (error) {
      this.logger.warn(`could not write the cache ${this.path}: ${(error as Error).message}`);
    }
    this.fresh.length = 0;
  }

  private supersededRemoved = false;

  /** Once per run: an old version's file would otherwise stay in the folder for good. */
  private removeSuperseded(): void {
    if (this.supersededRemoved) return;
    this.supersededRemoved = true;
    for (const name of SUPERSEDED_FILES) {
      try {
        rmSync(join(this.dir, name), { force: true });
      } catch (error) {
        this.logger.debug(`could not remove the old cache file ${join(this.dir, name)}: ${(error as Error).message}`);
      }
    }
  }

  /** Keeps the newest MAX_ENTRIES lines: written to a temporary file and renamed, never half a file. */
  private compact(): void {
    const keep = [...this.entries].slice(-MAX_ENTRIES);
    try {
      const tmp = `${this.path}.${process.pid}.tmp`;
      writeFileSync(tmp, keep.map(([k, v]) => `${k}\t${kindOf(v)}\t${v}\n`).join(''));
      renameSync(tmp, this.path);
      this.logger.verbose(`compacted the cache ${this.path} to ${keep.length} entries`);
    } catch (error) {
      this.logger.warn(`could not compact the cache ${this.path}: ${(error as Error).message}`);
    }
  }
}

export async function openCache(opts: { enabled: boolean; dir?: string; env: NodeJS.ProcessEnv; logger: Logger }): Promise<MetadataCache> {
  if (!opts.enabled) return new MemoryCache();
  return new DiskCache(opts.dir ?? defaultCacheDir(opts.env), opts.logger);
}

/**
 * mkdir -p, one level at a time: node 20's own recursive mkdir never returns where a level cannot be made and
 * says ENOENT (under /proc, a --cache-dir typed wrongly).
 */
function makeDirectory(dir: string): void {
  try {
    mkdirSync(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    if (code !== 'ENOENT' || dirname(dir) === dir) throw error;
    makeDirectory(dirname(dir));
    try {
      mkdirSync(dir);
    } catch (again) {
      // Made by another run meanwhile: fine. (ENOENT again, as under /proc, is thrown: no second loop.)
      if ((again as NodeJS.ErrnoException).code !== 'EEXIST') throw again;
    }
  }
}
