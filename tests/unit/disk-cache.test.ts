import { describe, expect, test } from '@jest/globals';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { DiskCache, defaultCacheDir } from '../../src/inventory/disk-cache.js';
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

  test('a corrupt file is ignored line by line, never fatal, and rebuilt', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cache-'));
    const file = join(dir, 'metadata-v2.tsv');
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

  test('an unwritable cache folder is a warning, not a failure', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'cache-')), 'a-file');
    writeFileSync(file, '');
    const out = new PassThrough();
    let said = '';
    out.on('data', (c) => (said += c));
    const cache = new DiskCache(join(file, 'sub'), new Logger(out, 0));
    cache.setCreated('sha256:aaaa1111', null);
    await cache.flush();
    expect(said).toMatch(/warning: could not write the cache/);
  });

  test('the default folder follows XDG_CACHE_HOME, else ~/.cache', () => {
    expect(defaultCacheDir({ XDG_CACHE_HOME: '/x' })).toBe('/x/cleanreg');
    expect(defaultCacheDir({ HOME: '/home/u' })).toBe('/home/u/.cache/cleanreg');
  });
});
