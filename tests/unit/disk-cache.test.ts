import { describe, expect, test } from '@jest/globals';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { CACHE_FILE, DiskCache, SUPERSEDED_FILES, defaultCacheDir } from '../../src/inventory/disk-cache.js';
import { Logger } from '../../src/util/log.js';

const logger = new Logger(new PassThrough(), 0);
const summary = { kind: 'image' as const, mediaType: 'application/vnd.oci.image.manifest.v1+json', created: '2024-01-01T00:00:00.000Z', size: 10 };

describe('DiskCache', () => {
  test('what one run learns, the next finds; undated summaries are not written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cache-'));
    const a = new DiskCache(dir, logger);
    a.setManifest('sha256:aaaa1111', summary);
    a.setManifest('sha256:bbbb2222', { ...summary, created: undefined });
    a.setCreated('sha256:cccc3333', null);
    await a.flush();
    const b = new DiskCache(dir, logger);
    expect(b.manifest('sha256:aaaa1111')).toEqual(summary);
    expect(b.manifest('sha256:bbbb2222')).toBeUndefined();
    expect(b.created('sha256:cccc3333')).toBeNull();
    expect(b.created('sha256:dddd4444')).toBeUndefined();
  });

  test('two runs at once both keep what they learnt', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cache-'));
    const a = new DiskCache(dir, logger);
    const b = new DiskCache(dir, logger);
    a.setCreated('sha256:aaaa1111', '2024-01-01T00:00:00.000Z');
    b.setCreated('sha256:bbbb2222', '2024-02-01T00:00:00.000Z');
    await a.flush();
    await b.flush();
    const c = new DiskCache(dir, logger);
    expect(c.created('sha256:aaaa1111')).toBe('2024-01-01T00:00:00.000Z');
    expect(c.created('sha256:bbbb2222')).toBe('2024-02-01T00:00:00.000Z');
  });

  test("an earlier version's cache file is removed when the cache is written, and only then", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cache-'));
    for (const name of SUPERSEDED_FILES) writeFileSync(join(dir, name), 'sha256:aaaa1111\tc\t"2020-01-01T00:00:00.000Z"\n');
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    const reader = new DiskCache(dir, logger);
    expect(reader.created('sha256:aaaa1111')).toBeUndefined();
    await reader.flush(); // nothing learnt: nothing written, nothing removed
    expect(SUPERSEDED_FILES.filter((name) => existsSync(join(dir, name)))).toEqual(SUPERSEDED_FILES);
    const writer = new DiskCache(dir, logger);
    writer.setCreated('sha256:bbbb2222', '2024-02-01T00:00:00.000Z');
    await writer.flush();
    expect(SUPERSEDED_FILES.filter((name) => existsSync(join(dir, name)))).toEqual([]);
    expect(readFileSync(join(dir, 'notes.txt'), 'utf8')).toBe('mine');
    expect(new DiskCache(dir, logger).created('sha256:bbbb2222')).toBe('2024-02-01T00:00:00.000Z');
  });

  test('a corrupt file is ignored line by line, never fatal, and rebuilt', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cache-'));
    const file = join(dir, CACHE_FILE);
    writeFileSync(file, '\u0000garbage\nsha256:aaaa1111\tm\t{not json\nsha256:bbbb2222\tc\t"2024-01-01T00:00:00.000Z"\n');
    appendFileSync(file, 'sha256:cccc3333\tm\t{"kind":"image"');
    const cache = new DiskCache(dir, logger);
    expect(cache.manifest('sha256:aaaa1111')).toBeUndefined();
    expect(cache.manifest('sha256:cccc3333')).toBeUndefined();
    expect(cache.created('sha256:bbbb2222')).toBe('2024-01-01T00:00:00.000Z');
    cache.setManifest('sha256:aaaa1111', summary);
    await cache.flush();
    expect(new DiskCache(dir, logger).manifest('sha256:aaaa1111')).toEqual(summary);
    expect(readFileSync(file, 'utf8')).toContain('sha256:aaaa1111\tm\t{"kind":"image"');
  });

  test('a damaged entry that still parses (a flipped byte, a value of the wrong type) is a miss, said once, and rewritten', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cache-'));
    const file = join(dir, CACHE_FILE);
    const digest = (c: string) => `sha256:${c.repeat(64)}`;
    writeFileSync(
      file,
      [
        `${digest('a')}\tc\t"2025-11-30T15)46:47.223Z"`,
        `${digest('b')}\tc\t42`,
        `${digest('c')}\tm\t${JSON.stringify({ ...summary, created: '2024-13-01T00:00:00.000Z' })}`,
        `${digest('d')}\tm\t${JSON.stringify({ ...summary, children: ['sha256:zz'] })}`,
        `${digest('e')}\tm\t${JSON.stringify({ ...summary, kind: 'imagf' })}`,
        `${digest('f')}\tc\t"2024-01-01T00:00:00.000Z"`,
        '',
      ].join('\n'),
    );
    const out = new PassThrough();
    let said = '';
    out.on('data', (c) => (said += c));
    const cache = new DiskCache(dir, new Logger(out, 0));
    for (const c of ['a', 'b']) expect(cache.created(digest(c))).toBeUndefined();
    for (const c of ['c', 'd', 'e']) expect(cache.manifest(digest(c))).toBeUndefined();
    expect(cache.created(digest('f'))).toBe('2024-01-01T00:00:00.000Z');
    expect(said.match(/warning: the cache .* has a damaged entry/g)).toHaveLength(1);
    cache.setCreated(digest('a'), '2025-11-30T15:46:47.223Z');
    await cache.flush();
    expect(new DiskCache(dir, logger).created(digest('a'))).toBe('2025-11-30T15:46:47.223Z');
  });

  test('a file read a megabyte at a time: lines across chunk edges, a line longer than a chunk, non-ASCII text', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cache-'));
    const created = (i: number) => new Date(Date.UTC(2024, 0, 1) + i * 1000).toISOString();
    const lines = Array.from({ length: 30_000 }, (_, i) => `sha256:${String(i).padStart(64, '0')}\tc\t"${created(i)}"\n`);
    const long = { ...summary, mediaType: `application/vnd.example.é${'x'.repeat(3 << 20)}+json` };
    lines.splice(12_345, 0, `sha256:${'f'.repeat(64)}\tm\t${JSON.stringify(long)}\n`);
    writeFileSync(join(dir, CACHE_FILE), lines.join(''));
    const cache = new DiskCache(dir, logger);
    const found = lines.map((_, i) => i < 30_000 && cache.created(`sha256:${String(i).padStart(64, '0')}`) === created(i));
    expect(found.filter(Boolean)).toHaveLength(30_000);
    expect(cache.manifest(`sha256:${'f'.repeat(64)}`)).toEqual(long);
    expect(cache.created(`sha256:${'f'.repeat(64)}`)).toBeUndefined();
  });

  test('an unwritable cache folder is a warning, not a failure', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'cache-')), 'a-file');
    writeFileSync(file, '');
    const out = new PassThrough();
    let said = '';
    out.on('data', (c) => (said += c));
    // Under a file; and under /proc, where node 20's own recursive mkdir would never return.
    for (const dir of [join(file, 'sub'), '/proc/cleanreg-no-such/cache']) {
      const cache = new DiskCache(dir, new Logger(out, 0));
      cache.setCreated('sha256:aaaa1111', null);
      await cache.flush();
    }
    expect(said.match(/warning: could not write the cache/g)).toHaveLength(2);
  });

  test('the default folder follows XDG_CACHE_HOME, else ~/.cache', () => {
    expect(defaultCacheDir({ XDG_CACHE_HOME: '/x' })).toBe('/x/cleanreg');
    expect(defaultCacheDir({ HOME: '/home/u' })).toBe('/home/u/.cache/cleanreg');
  });
});
