/**
 * Registries that behave otherwise than distribution 2.8 (Harbor, GitLab, proxies in front of a registry): a real
 * registry behind the test front, which changes only what the other registry would do differently. Found by an
 * audit; each case failed before its fix, most by deleting what they should not.
 */
import { afterAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { registryPerTest } from '../helpers/fixture.js';
import { startFront, type Front } from '../helpers/front.js';
import type { ImagePusher } from '../helpers/images.js';
import { stopAllRegistries, type TestRegistry } from '../helpers/registry.js';

afterAll(stopAllRegistries);

const day = (n: number) => new Date(Date.UTC(2024, 0, 1 + n)).toISOString();
const tmp = mkdtempSync(join(tmpdir(), 'cleanreg-quirks-'));
const sigTag = (digest: string) => `${digest.replace(':', '-')}.sig`;
let reg: TestRegistry;
let p: ImagePusher;
const sorted = async (repo: string) => (await p.tags(repo))?.sort() ?? null;

registryPerTest((r, q) => ((reg = r), (p = q)));

async function withFront(run: (front: Front) => Promise<void>): Promise<void> {
  const front = await startFront(reg.url);
  try {
    await run(front);
  } finally {
    await front.stop();
  }
}

/** Serves `GET /v2/<repo>/tags/list` in pages of `size` from `tags`, each linked to the next by `link(next)`. */
function pagedTags(repo: string, tags: string[], size: number, link: (next: string) => string) {
  return (method: string, path: string) => {
    const url = new URL(path, 'http://front');
    if (method !== 'GET' || url.pathname !== `/v2/${repo}/tags/list`) return undefined;
    const page = Number(url.searchParams.get('page') ?? 0);
    const headers: Record<string, string> = {};
    if ((page + 1) * size < tags.length) headers.link = link(`/v2/${repo}/tags/list?page=${page + 1}`);
    return { status: 200, headers, body: JSON.stringify({ name: repo, tags: tags.slice(page * size, (page + 1) * size) }) };
  };
}

describe('a DELETE or HEAD answered 404 for a manifest the registry still has', () => {
  test('a DELETE answered 404 is checked: the manifest still there is a failure, and its signature stays with it', async () => {
    const old = await p.pushImage('app', ['old'], { created: day(1), seed: 'q1' });
    await p.pushImage('app', [sigTag(old.digest)], { created: null, seed: 'q1-sig' });
    await p.pushImage('app', ['new'], { created: day(2), seed: 'q2' });
    await withFront(async (front) => {
      front.fault = (method, path) => (method === 'DELETE' && path.endsWith(old.digest) ? { status: 404, code: 'MANIFEST_UNKNOWN' } : undefined);
      const r = await runCli(['-r', front.url, '-n', 'app', '-k', '1', '-y', '--output', 'json', '--no-cache']);
      expect(r.code).toBe(1);
      const [repo] = JSON.parse(r.stdout).repositories;
      expect(repo.failed).toEqual([expect.objectContaining({ digest: old.digest, error: expect.stringContaining('the registry answered 404 (not found (404 MANIFEST_UNKNOWN)) but still serves the manifest') })]);
      expect(repo.notAttempted).toEqual([expect.objectContaining({ tags: [sigTag(old.digest)] })]);
      expect(repo.deleted).toEqual([]);
    });
    expect(await sorted('app')).toEqual(['new', 'old', sigTag(old.digest)].sort());
  });

  test('a HEAD answered 404 is asked again with a GET: a kept tag moved onto a doomed image since the plan still protects it', async () => {
    const v1 = await p.pushImage('app', ['v1'], { created: day(1), seed: 'h1' });
    await p.pushImage('app', ['v2'], { created: day(2), seed: 'h2' });
    await p.pushImage('app', ['v3', 'stable'], { created: day(3), seed: 'h3' });
    const plan = join(tmp, 'head404.json');
    await withFront(async (front) => {
      expect((await runCli(['-r', front.url, '-n', 'app', '-k', '1', '--exclude', 'stable', '--dry-run', '--plan-out', plan])).code).toBe(0);
      // A rollback: stable back on v1, which the plan deletes.
      await p.pushManifest('app', v1.mediaType, (await p.send('GET', `/v2/app/manifests/${v1.digest}`, { headers: { accept: v1.mediaType } })).body, ['stable']);
      front.fault = (method, path) => (method === 'HEAD' && path.includes('/manifests/') ? { status: 404, code: 'MANIFEST_UNKNOWN' } : undefined);
      const r = await runCli(['apply', plan, '-y', '--output', 'json']);
      expect(r.code).toBe(0);
      const [repo] = JSON.parse(r.stdout).repositories;
      expect(repo.keptOnReverify).toEqual([expect.objectContaining({ digest: v1.digest })]);
    });
    expect(await p.resolve('app', 'stable')).toBe(v1.digest);
    expect(await sorted('app')).toEqual(['stable', 'v1', 'v2', 'v3']);
  });
});

describe('on a registry that behaves, the checks cost little', () => {
  test('a manifest deleted by someone else since the plan: its DELETE and one GET; its tag, gone from the list, one HEAD', async () => {
    const old = await p.pushImage('app', ['old'], { created: day(1), seed: 'g1' });
    await p.pushImage('app', ['new'], { created: day(2), seed: 'g2' });
    const plan = join(tmp, 'gone-since.json');
    expect((await runCli(['-r', reg.url, '-n', 'app', '-k', '1', '--dry-run', '--plan-out', plan])).code).toBe(0);
    await p.send('DELETE', `/v2/app/manifests/${old.digest}`);
    await reg.syncLog();
    reg.clearAccessLog();
    const r = await runCli(['apply', plan, '-y', '--output', 'json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).repositories[0].deleted).toEqual([{ digest: old.digest, tags: ['old'], alreadyGone: true }]);
    await reg.syncLog();
    const about = reg.accessLog().filter((line) => line.endsWith('/manifests/old') || line.endsWith(`/manifests/${old.digest}`));
    expect(about.sort()).toEqual(['DELETE /v2/app/manifests/' + old.digest, 'GET /v2/app/manifests/' + old.digest, 'HEAD /v2/app/manifests/old'].sort());
  });
});

describe('tag lists paged otherwise', () => {
  const tags = ['a1', 'a2', 'a3', 'a4', 'zz-keep'];

  test('a Link written in another RFC 8288 form is followed: the excluded tag on the last page protects its image', async () => {
    const a1 = await p.pushImage('app', ['a1', 'zz-keep'], { created: day(1), seed: 'l1' });
    for (const [i, tag] of ['a2', 'a3', 'a4'].entries()) await p.pushImage('app', [tag], { created: day(2 + i), seed: `l${i + 2}` });
    await withFront(async (front) => {
      front.answer = pagedTags('app', tags, 2, (next) => `<${next}>; type="application/json"; rel = "next"`);
      const r = await runCli(['-r', front.url, '-n', 'app', '-k', '1', '--exclude', 'zz-keep', '-y', '--no-cache']);
      expect(r.code).toBe(0);
      // Every page, at the scan and again at re-verification.
      expect(front.seen.filter((s) => s === 'GET /v2/app/tags/list?page=2')).toHaveLength(2);
    });
    expect(await p.resolve('app', a1.digest)).toBe(a1.digest);
    expect(await sorted('app')).toEqual(['a1', 'a4', 'zz-keep']);
  });

  test('a tag listed on two pages counts once', async () => {
    await p.pushImage('app', ['a1'], { created: day(1), seed: 'd1' });
    await p.pushImage('app', ['a2'], { created: day(2), seed: 'd2' });
    await withFront(async (front) => {
      front.answer = pagedTags('app', ['a1', 'a2', 'a2'], 2, (next) => `<${next}>; rel="next"`);
      const r = await runCli(['-r', front.url, '-n', 'app', '-k', '1', '-i', '--dry-run', '--output', 'json', '--no-cache']);
      expect(r.code).toBe(0);
      const [repo] = JSON.parse(r.stdout).repositories;
      expect(repo.keep.map((i: { tags: string[] }) => i.tags)).toEqual([['a2']]);
      expect(repo.delete.map((i: { tags: string[] }) => i.tags)).toEqual([['a1']]);
    });
  });

  test('a later page answered 404 is a failure to read the list, not a repository that does not exist: nothing deleted', async () => {
    for (const [i, tag] of tags.entries()) await p.pushImage('app', [tag], { created: day(1 + i), seed: `n${i}` });
    await withFront(async (front) => {
      const pages = pagedTags('app', tags, 2, (next) => `<${next}>; rel="next"`);
      front.answer = (method, path) => (path.includes('page=1') ? { status: 404, body: JSON.stringify({ errors: [{ code: 'NOT_FOUND', message: 'no such page' }] }) } : pages(method, path));
      for (const target of [['-n', 'app'], ['-n', '*']]) {
        const r = await runCli(['-r', front.url, ...target, '-k', '0', '-y', '--no-cache']);
        expect(r.code).toBe(1);
        expect(r.stderr).toContain('list tags of app: the next page the registry linked to (/v2/app/tags/list?page=1) answered 404: the list cannot be read to its end');
        expect(r.stderr).not.toMatch(/not found on|prune-empty/);
      }
      expect(front.seen.some((s) => s.startsWith('DELETE '))).toBe(false);
    });
    expect(await sorted('app')).toEqual(tags);
  });
});

describe('a catalog paged otherwise', () => {
  test('a repository listed on two pages is planned once, and its saved plan applies', async () => {
    for (const repo of ['a', 'b', 'c']) for (const [i, tag] of ['old', 'new'].entries()) await p.pushImage(repo, [tag], { created: day(1 + i), seed: `${repo}${tag}` });
    const plan = join(tmp, 'catalog-twice.json');
    await withFront(async (front) => {
      front.answer = (method, path) => {
        if (method !== 'GET' || !path.startsWith('/v2/_catalog')) return undefined;
        const second = path.includes('last=b');
        const headers: Record<string, string> = second ? {} : { link: '</v2/_catalog?last=b&n=2>; rel="next"' };
        return { status: 200, headers, body: JSON.stringify({ repositories: second ? ['b', 'c'] : ['a', 'b'] }) };
      };
      const r = await runCli(['-r', front.url, '-n', '*', '-k', '1', '--dry-run', '--output', 'json', '--plan-out', plan, '--no-cache']);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout).repositories.map((x: { name: string }) => x.name)).toEqual(['a', 'b', 'c']);
      const applied = await runCli(['apply', plan, '-y']);
      expect(applied.code).toBe(0);
    });
    for (const repo of ['a', 'b', 'c']) expect(await sorted(repo)).toEqual(['new']);
  });
});

describe('refusals that name what to do', () => {
  test('a catalog the user may not list: the hint says to name repositories without a glob', async () => {
    await p.pushImage('app', ['old'], { created: day(1), seed: 'c1' });
    await withFront(async (front) => {
      front.fault = (_, path) => (path.startsWith('/v2/_catalog') ? { status: 403, code: 'DENIED' } : undefined);
      const r = await runCli(['-r', front.url, '-n', '*', '-k', '0', '-y']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('error: list the catalog: the registry does not let this user list its repositories (403 DENIED)');
      expect(r.stderr).toContain('hint: name the repositories without a glob (-n NAME, or plain names in repos.conf): each can be cleaned without the catalog');
    });
    expect(await sorted('app')).toEqual(['old']);
  });

  test('a HEAD refused with 405 by a front is not "deletion is disabled": nothing deleted, and no such hint', async () => {
    await p.pushImage('app', ['old'], { created: day(1), seed: 'm1' });
    await p.pushImage('app', ['new'], { created: day(2), seed: 'm2' });
    await withFront(async (front) => {
      front.fault = (method) => (method === 'HEAD' ? 405 : undefined);
      const r = await runCli(['-r', front.url, '-n', 'app', '-k', '1', '-y', '--no-cache']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('error: app: resolve app:new: the registry does not allow HEAD here (405)');
      expect(r.stderr).not.toMatch(/deletion is disabled|REGISTRY_STORAGE_DELETE_ENABLED/);
      expect(front.seen.some((s) => s.startsWith('DELETE '))).toBe(false);
    });
    expect(await sorted('app')).toEqual(['new', 'old']);
  });
});
