/** The policy engine on real registries: include/exclude, date windows, ages, semver, globs over a paged catalog, cosign, plan files. */
import { afterAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { registryPerTest } from '../helpers/fixture.js';
import { MT, type ImagePusher } from '../helpers/images.js';
import { storeSchema1Image } from '../helpers/schema1.js';
import { startFront } from '../helpers/front.js';
import { stopAllRegistries, type TestRegistry } from '../helpers/registry.js';

afterAll(stopAllRegistries);

const day = (n: number) => new Date(Date.UTC(2024, 0, 1 + n)).toISOString();
const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString();
const tmp = mkdtempSync(join(tmpdir(), 'cleanreg-policy-'));

let reg: TestRegistry;
let p: ImagePusher;
const sorted = async (repo: string) => (await p.tags(repo))?.sort() ?? null;

describe('rules on one repository', () => {
  registryPerTest((r, q) => ((reg = r), (p = q)));

  test('--exclude protects a digest it shares with other tags', async () => {
    await p.pushImage('app', ['1.0', 'release-candidate'], { created: day(1), seed: 'e1' });
    await p.pushImage('app', ['1.1', 'stable'], { created: day(2), seed: 'e2' });
    await p.pushImage('app', ['1.2'], { created: day(3), seed: 'e3' });
    await p.pushImage('app', ['1.3'], { created: day(4), seed: 'e4' });
    const r = await runCli(['-r', reg.url, '-n', 'app', '-k', '1', '--exclude', 'stable|latest', '-y']);
    expect(r.code).toBe(0);
    expect(await sorted('app')).toEqual(['1.1', '1.3', 'stable']);
    expect(r.stdout).toMatch(/shares its digest with tag "stable"/);
  });

  test('--include limits deletion to images whose tags all match (whole tag)', async () => {
    await p.pushImage('app', ['feature-a'], { created: day(1), seed: 'i1' });
    await p.pushImage('app', ['feature-b', 'v1'], { created: day(2), seed: 'i2' });
    await p.pushImage('app', ['v2'], { created: day(3), seed: 'i3' });
    await p.pushImage('app', ['xfeature-c'], { created: day(4), seed: 'i4' });
    await p.pushImage('app', ['feature-d'], { created: day(5), seed: 'i5' });
    const r = await runCli(['-r', reg.url, '-n', 'app', '-k', '1', '--include', 'feature-.*', '-y']);
    expect(r.code).toBe(0);
    // feature-d is the newest candidate; v1 protects feature-b; xfeature-c does not match the whole pattern.
    expect(await sorted('app')).toEqual(['feature-b', 'feature-d', 'v1', 'v2', 'xfeature-c']);
  });

  test('--before/--after: only images created inside the window are deleted', async () => {
    for (let i = 1; i <= 6; i++) await p.pushImage('win', [`b${i}`], { created: day(i * 10), seed: `w${i}` });
    const r = await runCli(['-r', reg.url, '-n', 'win', '-k', '1', '--after', day(15).slice(0, 10), '--before', '2024-02-15', '-y']);
    expect(r.code).toBe(0);
    // b2 (Jan 21) and b3 (Jan 31) and b4 (Feb 10) are inside; b1 before, b5/b6 after; b6 is also the newest.
    expect(await sorted('win')).toEqual(['b1', 'b5', 'b6']);
    expect(r.stdout).toMatch(/outside the date window/);
  });

  test('--older-than with a relative age', async () => {
    await p.pushImage('age', ['ancient'], { created: daysAgo(90), seed: 'a1' });
    await p.pushImage('age', ['old'], { created: daysAgo(40), seed: 'a2' });
    await p.pushImage('age', ['recent'], { created: daysAgo(10), seed: 'a3' });
    await p.pushImage('age', ['today'], { created: daysAgo(0), seed: 'a4' });
    const r = await runCli(['-r', reg.url, '-n', 'age', '-k', '0', '--older-than', '30d', '-y']);
    expect(r.code).toBe(0);
    expect(await sorted('age')).toEqual(['recent', 'today']);
  });

  test('--order semver ignores misleading dates, keeps non-versions, and fetches no config blob', async () => {
    // Rebuilt old versions are the most recently created.
    await p.pushImage('sv', ['v1.10.0'], { created: day(1), seed: 's1' });
    await p.pushImage('sv', ['v1.9.0'], { created: day(9), seed: 's2' });
    await p.pushImage('sv', ['2.0.0-rc.1'], { created: day(8), seed: 's3' });
    await p.pushImage('sv', ['2.0.0'], { created: day(2), seed: 's4' });
    await p.pushImage('sv', ['1.2'], { created: day(7), seed: 's5' });
    await p.pushImage('sv', ['latest'], { created: day(0), seed: 's6' });
    await reg.syncLog();
    const before = reg.accessEntries().length;
    const r = await runCli(['-r', reg.url, '-n', 'sv', '-k', '3', '--order', 'semver', '--dry-run', '--output', 'json']);
    expect(r.code).toBe(0);
    const repo = JSON.parse(r.stdout).repositories[0];
    const tags = (list: { tags: string[] }[]) => list.flatMap((i) => i.tags).sort();
    // 2.0.0 > 2.0.0-rc.1 > v1.10.0 > v1.9.0 > 1.2 (=1.2.0), whatever the creation dates say.
    expect(tags(repo.keep)).toEqual(['2.0.0', '2.0.0-rc.1', 'latest', 'v1.10.0']);
    expect(tags(repo.delete)).toEqual(['1.2', 'v1.9.0']);
    expect(repo.keep.find((i: { tags: string[] }) => i.tags[0] === 'latest').reason).toMatch(/not a version/);
    const blobGets = reg.accessEntries().slice(before).filter((e) => e.method === 'GET' && e.uri.includes('/blobs/'));
    expect(blobGets).toHaveLength(0);
  });

  test('Docker schema 1 images are dated from their manifest (no config request) and ranked with the others', async () => {
    const oldest = storeSchema1Image(reg.dataDir, 'legacy', 's1-old', day(1));
    const newest = storeSchema1Image(reg.dataDir, 'legacy', 's1-new', day(3));
    await p.pushImage('legacy', ['v2-middle'], { created: day(2), seed: 'l1' });
    await reg.syncLog();
    const before = reg.accessEntries().length;
    const plan = await runCli(['-r', reg.url, '-n', 'legacy', '-k', '1', '--dry-run', '--output', 'json']);
    expect(plan.code).toBe(0);
    const repo = JSON.parse(plan.stdout).repositories[0];
    expect(repo.keep.map((i: { digest: string; created: string }) => [i.digest, i.created])).toEqual([[newest, day(3)]]);
    expect(repo.delete.map((i: { tags: string[]; created: string }) => [i.tags, i.created])).toEqual([[['s1-old'], day(1)], [['v2-middle'], day(2)]]);
    // One config GET: the schema 2 image's. Schema 1 carries its date in the manifest.
    expect(reg.accessEntries().slice(before).filter((e) => e.method === 'GET' && e.uri.includes('/blobs/'))).toHaveLength(1);
    // A deleted schema 1 image lists no layer sizes: the freed space is unknown, not counted as 0.
    expect(JSON.parse(plan.stdout).summary.estimatedFreedBytes).toBeNull();

    const run = await runCli(['-r', reg.url, '-n', 'legacy', '-k', '1', '-y']);
    expect(run.code).toBe(0);
    expect(await sorted('legacy')).toEqual(['s1-new']);
    expect(reg.accessEntries().some((e) => e.method === 'DELETE' && e.uri.endsWith(oldest) && e.status === 202)).toBe(true);
  });

  test('a kept schema 1 image protects the layers it lists in the freed-space estimate', async () => {
    const doomed = await p.pushImage('legacy-kept', ['v2-old'], { created: day(1), seed: 'lk', layers: 2 });
    // The schema 1 image (newer, kept) shares the schema 2 image's first layer.
    storeSchema1Image(reg.dataDir, 'legacy-kept', 's1-new', day(2), [doomed.layerDigests[0], `sha256:${'e'.repeat(64)}`]);
    const plan = await runCli(['-r', reg.url, '-n', 'legacy-kept', '-k', '1', '--dry-run', '--output', 'json']);
    expect(plan.code).toBe(0);
    const doc = JSON.parse(plan.stdout);
    expect(doc.repositories[0].delete.map((i: { digest: string }) => i.digest)).toEqual([doomed.digest]);
    // The config and the second layer are freed; the shared layer (200 bytes) is not.
    expect(doc.summary.estimatedFreedBytes).toBe(doomed.contentSize - 200);
    expect(doc.repositories[0].keep[0].size).toBeUndefined();
  });

  test('platform images tagged on their own and listed in an index are read once; the cached run reads one manifest per tag', async () => {
    // `docker manifest create` style: app:1-amd64 and app:1-arm64 pushed first, then app:1 listing both.
    const amd = await p.pushImage('multi', ['1-amd64'], { kind: 'oci', arch: 'amd64', created: day(1), seed: 'm1' });
    const arm = await p.pushImage('multi', ['1-arm64'], { kind: 'oci', arch: 'arm64', created: day(2), seed: 'm2' });
    const index = Buffer.from(JSON.stringify({
      schemaVersion: 2,
      mediaType: MT.ociIndex,
      manifests: [amd, arm].map((c, i) => ({ mediaType: c.mediaType, digest: c.digest, size: c.size, platform: { architecture: ['amd64', 'arm64'][i], os: 'linux' } })),
    }));
    await p.pushManifest('multi', MT.ociIndex, index, ['1']);
    await p.pushImage('multi', ['2'], { created: day(3), seed: 'm3' });
    const cache = mkdtempSync(join(tmp, 'cache-'));
    const plan = async () => {
      await reg.syncLog();
      const before = reg.accessEntries().length;
      const r = await runCli(['-r', reg.url, '-n', 'multi', '-k', '1', '--dry-run', '--output', 'json', '--cache-dir', cache]);
      expect(r.code).toBe(0);
      return { doc: JSON.parse(r.stdout), seen: reg.accessEntries().slice(before).filter((e) => !e.uri.includes('cleanreg-probe')) };
    };
    const cold = await plan();
    const manifestGets = cold.seen.filter((e) => e.method === 'GET' && e.uri.includes('/manifests/'));
    expect(manifestGets.map((e) => e.uri.split('/').pop()).sort()).toEqual(['1', '1-amd64', '1-arm64', '2']);
    expect(cold.seen.filter((e) => e.uri.includes('/blobs/'))).toHaveLength(3);
    // The index is dated by its newest platform image (day 2), older than 2: it goes, and so do its platform images.
    expect(cold.doc.repositories[0].delete.flatMap((i: { tags: string[] }) => i.tags).sort()).toEqual(['1', '1-amd64', '1-arm64']);

    const warm = await plan();
    expect(warm.doc.repositories[0]).toEqual(cold.doc.repositories[0]);
    expect(warm.seen.filter((e) => e.uri.includes('/manifests/'))).toHaveLength(4);
    expect(warm.seen.filter((e) => e.uri.includes('/blobs/'))).toHaveLength(0);
  });

  test("an artifact's own tag that matches --exclude protects it, though its image is deleted; another artifact of that image goes with it", async () => {
    const old = await p.pushImage('sbom', ['1.0'], { created: day(1), seed: 's1' });
    await p.pushImage('sbom', ['2.0'], { created: day(2), seed: 's2' });
    const kept = await p.pushArtifact('sbom', old.digest, ['sbom-keep'], { seed: 'sb1' });
    const other = await p.pushArtifact('sbom', old.digest, ['sbom-other'], { seed: 'sb2' });
    const r = await runCli(['-r', reg.url, '-n', 'sbom', '-k', '1', '--exclude', 'sbom-keep', '-y']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/sbom-keep .*matches --exclude/);
    expect(await sorted('sbom')).toEqual(['2.0', 'sbom-keep']);
    expect(await p.resolve('sbom', kept.digest)).toBe(kept.digest);
    expect(await p.resolve('sbom', other.digest)).toBeNull();
    expect(await p.resolve('sbom', old.digest)).toBeNull();
  });

  test('cosign signatures go with their image and stay with a kept one; orphans are reported', async () => {
    const old = await p.pushImage('signed', ['1.0'], { created: day(1), seed: 'c1' });
    const cur = await p.pushImage('signed', ['2.0'], { created: day(2), seed: 'c2' });
    const oldSig = await p.pushArtifact('signed', old.digest, [`${old.digest.replace(':', '-')}.sig`], { seed: 'sig1' });
    const curSig = await p.pushArtifact('signed', cur.digest, [`${cur.digest.replace(':', '-')}.sig`], { seed: 'sig2' });
    const att = await p.pushArtifact('signed', cur.digest, [`${cur.digest.replace(':', '-')}.att`], { seed: 'att2' });
    // An image deleted by hand earlier left its signature behind.
    const gone = await p.pushImage('signed', ['gone'], { created: day(0), seed: 'c0' });
    const orphan = await p.pushArtifact('signed', gone.digest, [`${gone.digest.replace(':', '-')}.sig`], { seed: 'orphan' });
    await p.send('DELETE', `/v2/signed/manifests/${gone.digest}`);
    const r = await runCli(['-r', reg.url, '-n', 'signed', '-k', '1', '-y']);
    expect(r.code).toBe(0);
    expect(await p.resolve('signed', old.digest)).toBeNull();
    expect(await p.resolve('signed', oldSig.digest)).toBeNull();
    expect(await p.resolve('signed', curSig.digest)).toBe(curSig.digest);
    expect(await p.resolve('signed', att.digest)).toBe(att.digest);
    expect(r.stdout).toMatch(/signature of deleted image/);
    expect(r.stdout).toMatch(/orphaned signature/);
    expect(await p.resolve('signed', orphan.digest)).toBe(orphan.digest);
  });
});

describe('multi-arch deletion frees the platform manifests', () => {
  registryPerTest((r, q) => ((reg = r), (p = q)));

  test('the untagged children of a deleted index are deleted after it; garbage collection frees their blobs', async () => {
    const old = await p.pushIndex('multi', ['old'], [{ arch: 'amd64', created: day(1), seed: 'x1' }, { arch: 'arm64', created: day(1), seed: 'x2' }]);
    await p.pushIndex('multi', ['new'], [{ arch: 'amd64', created: day(3), seed: 'x3' }, { arch: 'arm64', created: day(3), seed: 'x4' }]);
    const r = await runCli(['-r', reg.url, '-n', 'multi', '-k', '1', '-y']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/platform manifest of deleted index/);
    for (const child of old.children) expect(await p.resolve('multi', child.digest)).toBeNull();
    await reg.stop();
    await reg.garbageCollect();
    await reg.restart();
    for (const child of old.children) expect((await p.send('GET', `/v2/multi/blobs/${child.layerDigests[0]}`)).status).toBe(404);
    expect(await p.isPullable('multi', 'new')).toBe(true);
  });

  /** An OCI index listing `children` (images or indexes), pushed with `tags`. */
  const pushIndexOf = (repo: string, children: { digest: string; mediaType: string; size: number }[], tags: string[]) =>
    p.pushManifest(repo, MT.ociIndex, Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MT.ociIndex, manifests: children.map((c) => ({ mediaType: c.mediaType, digest: c.digest, size: c.size })) })), tags);
  const indexOf = async (repo: string, children: { digest: string; mediaType: string; size: number }[], tags: string[]) => {
    const digest = await pushIndexOf(repo, children, tags);
    const manifest = await p.send('GET', `/v2/${repo}/manifests/${digest}`, { headers: { accept: MT.ociIndex } });
    return { digest, mediaType: MT.ociIndex, size: manifest.body.length };
  };

  test.each([
    { order: 'created', args: [] as string[] },
    { order: 'name (no dates read)', args: ['--order', 'name'] },
  ])('a nested index (an index listing an index) keeps what it lists at every depth, and a deleted one takes all of it along; order $order', async ({ args }) => {
    const m1 = await p.pushImage('nest', [], { kind: 'oci', created: day(1), seed: 'n1' });
    const m2 = await p.pushImage('nest', [], { kind: 'oci', created: day(1), seed: 'n2', arch: 'arm64' });
    const inner = await indexOf('nest', [m1, m2], []);
    await indexOf('nest', [inner], ['a-keep-me']);
    // An older index listing one of the same platform manifests directly: deleting it must not take that one.
    await indexOf('nest', [m1], ['b-old']);
    // A deleted nested index: its inner index and their platform manifests go, none left behind untagged.
    const m3 = await p.pushImage('nest', [], { kind: 'oci', created: day(1), seed: 'n3' });
    const doomedInner = await indexOf('nest', [m3], []);
    await indexOf('nest', [doomedInner], ['c-old-nested']);
    await p.pushImage('nest', ['z-newest'], { created: day(5), seed: 'n4' });

    const r = await runCli(['-r', reg.url, '-n', 'nest', '-k', '1', '--exclude', 'a-keep-me', ...args, '-y']);
    expect(r.code).toBe(0);
    expect(await sorted('nest')).toEqual(['a-keep-me', 'z-newest']);
    expect(await p.isPullable('nest', 'a-keep-me')).toBe(true);
    for (const kept of [inner, m1, m2]) expect(await p.resolve('nest', kept.digest)).toBe(kept.digest);
    for (const gone of [doomedInner, m3]) expect(await p.resolve('nest', gone.digest)).toBeNull();
  });

  test('releases as docker manifest create makes them (platform images tagged, then the index): -k counts releases', async () => {
    // Found by an audit: 2-arm64 tied with index 2 and won the only slot by its name; index 2 and 2-amd64 went.
    for (const [v, d] of [['1', 1], ['2', 5]] as const) {
      const amd = await p.pushImage('rel', [`${v}-amd64`], { kind: 'oci', arch: 'amd64', created: day(d), seed: `rel${v}a` });
      const arm = await p.pushImage('rel', [`${v}-arm64`], { kind: 'oci', arch: 'arm64', created: day(d + 1), seed: `rel${v}b` });
      await pushIndexOf('rel', [amd, arm], [v]);
    }
    const two = await runCli(['-r', reg.url, '-n', 'rel', '-k', '2', '--dry-run', '--output', 'json']);
    expect(JSON.parse(two.stdout).repositories[0].delete).toEqual([]);
    const r = await runCli(['-r', reg.url, '-n', 'rel', '-k', '1', '-y']);
    expect(r.code).toBe(0);
    expect(await sorted('rel')).toEqual(['2', '2-amd64', '2-arm64']);
    expect(await p.isPullable('rel', '2')).toBe(true);
  });

  test('an index with an undated platform image has no age either: kept under a date rule, taking no keep slot', async () => {
    // Found by an audit: the index was dated by its dated child alone, and deleted as old.
    const partial = await p.pushIndex('undated', ['partial'], [{ arch: 'amd64', created: day(1) }, { arch: 'arm64', created: null }]);
    await p.pushIndex('undated', ['dated'], [{ arch: 'amd64', created: day(2) }, { arch: 'arm64', created: day(2) }]);
    const r = await runCli(['-r', reg.url, '-n', 'undated', '-k', '0', '--older-than', '30d', '--dry-run', '--output', 'json', '--no-cache']);
    expect(r.code).toBe(0);
    const [repo] = JSON.parse(r.stdout).repositories;
    expect(repo.keep).toEqual([expect.objectContaining({ digest: partial.digest, created: null, reason: expect.stringMatching(/^unknown age/) })]);
    expect(repo.delete.filter((i: { tags: string[] }) => i.tags.length).map((i: { tags: string[] }) => i.tags)).toEqual([['dated']]);
  });

  test('a tagged image that a kept nested index lists through an untagged index stays, with the reason', async () => {
    const tOld = await p.pushImage('nest', ['t-old'], { kind: 'oci', created: day(1), seed: 't1' });
    const inner = await indexOf('nest', [tOld], []);
    await indexOf('nest', [inner], ['keep-me']);
    await p.pushImage('nest', ['t-new'], { created: day(5), seed: 't2' });
    const r = await runCli(['-r', reg.url, '-n', 'nest', '-k', '1', '--exclude', 'keep-me', '-y']);
    expect(r.code).toBe(0);
    expect(await sorted('nest')).toEqual(['keep-me', 't-new', 't-old']);
    expect(r.stdout).toMatch(/t-old .*referenced by kept index/);
    expect(await p.isPullable('nest', 'keep-me')).toBe(true);
  });

  test('a saved plan: an image that a nested index tagged since the plan lists through an untagged index is kept at re-verification', async () => {
    const old = await p.pushImage('renest', ['old'], { kind: 'oci', created: day(1), seed: 'r1' });
    await p.pushImage('renest', ['new'], { created: day(5), seed: 'r2' });
    const planFile = join(tmp, 'nested-since.json');
    expect((await runCli(['-r', reg.url, '-n', 'renest', '-k', '1', '--dry-run', '--plan-out', planFile])).code).toBe(0);
    const inner = await indexOf('renest', [old], []);
    await indexOf('renest', [inner], ['bundle']);
    const r = await runCli(['apply', planFile, '-y', '--output', 'json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).repositories[0].keptOnReverify).toEqual([expect.objectContaining({ digest: old.digest, reason: expect.stringMatching(/bundle/) })]);
    expect(await p.isPullable('renest', 'bundle')).toBe(true);
  });

  test('an OCI referrers fallback tag (sha256-<hex>) is an artifact, not an image', async () => {
    const v1 = await p.pushImage('ref', ['v1'], { created: day(1), seed: 'q1' });
    const v2 = await p.pushImage('ref', ['v2'], { created: day(2), seed: 'q2' });
    await p.pushArtifact('ref', v2.digest, [v2.digest.replace(':', '-')], { seed: 'qidx' });
    const r = await runCli(['-r', reg.url, '-n', 'ref', '-k', '1', '--order', 'name', '-y']);
    expect(r.code).toBe(0);
    expect(await p.resolve('ref', v1.digest)).toBeNull();
    expect((await sorted('ref'))).toEqual([v2.digest.replace(':', '-'), 'v2'].sort());
  });
});

describe('repos.conf with globs over a paged catalog', () => {
  registryPerTest((r, q) => ((reg = r), (p = q)), { catalogMaxEntries: 2 });

  test('first matching line wins; * stays in one segment, ** crosses; per-line options', async () => {
    const repos = ['team/a', 'team/b', 'team/sub/c', 'other/x', 'keepme'];
    for (const repo of repos) for (let i = 1; i <= 3; i++) await p.pushImage(repo, [`t${i}`, ...(i === 1 ? ['stable'] : [])], { created: day(i), seed: `${repo}${i}` });
    const conf = join(tmp, 'globs.conf');
    writeFileSync(
      conf,
      ['# first match wins', 'team/b 2', 'team/* 1 exclude=stable', '**/c   0   include="t.*"', 'keepme 3', ''].join('\n'),
    );
    const r = await runCli(['-r', reg.url, '-f', conf, '-y']);
    expect(r.code).toBe(0);
    expect(await sorted('team/b')).toEqual(['stable', 't1', 't2', 't3'].filter((t) => t !== 't1' && t !== 'stable'));
    expect(await sorted('team/a')).toEqual(['stable', 't1', 't3']);
    // team/sub/c: `team/*` does not reach it; `**/c` with include t.* deletes t2, t3; t1 is protected by stable.
    expect(await sorted('team/sub/c')).toEqual(['stable', 't1']);
    expect(await sorted('other/x')).toEqual(['stable', 't1', 't2', 't3']);
    expect(await sorted('keepme')).toEqual(['stable', 't1', 't2', 't3']);
    // The catalog was read across its pages (2 per page → at least 3 pages).
    expect(reg.accessEntries().filter((e) => e.uri.startsWith('/v2/_catalog')).length).toBeGreaterThanOrEqual(3);
  });

  test('lines that can never win are warned about, once each: globs every repository of which goes to earlier lines', async () => {
    for (const repo of ['team/a', 'team/b', 'team/c', 'team/d']) await p.pushImage(repo, ['t1'], { created: day(1), seed: `w-${repo}` });
    const conf = join(tmp, 'shadowed.conf');
    writeFileSync(conf, ['team/a 1', 'team/[a] 0', 'team/b 1', 'team/c 1', 'team/d 1', 'team/* 0', ''].join('\n'));
    const r = await runCli(['-r', reg.url, '-f', conf, '--dry-run']);
    expect(r.code).toBe(0);
    const warned = r.stderr.split('\n').filter((line) => line.includes('never applies'));
    expect(warned).toEqual([
      expect.stringContaining(`:2: "team/[a]" never applies: ${conf}:1 ("team/a") selects every repository it matches first (the first matching line wins)`),
      expect.stringMatching(/:6: "team\/\*" never applies: .*:1 \("team\/a"\), .*:3 \("team\/b"\), .*:4 \("team\/c"\) and 1 more select every repository it matches first/),
    ]);
    expect(r.stderr).not.toMatch(/matches no repository/);
  });

  test('a next-page link to another origin is an error, not the last page: nothing deleted', async () => {
    for (const repo of ['a1', 'a2', 'b1']) for (let i = 1; i <= 2; i++) await p.pushImage(repo, [`t${i}`], { created: day(i), seed: `o-${repo}${i}` });
    const front = await startFront(reg.url);
    try {
      // A proxy that writes the registry's own name into the links: the same server, another origin.
      front.link = (value) => value.replace('</v2/', `<${front.url.replace('127.0.0.1', 'localhost')}/v2/`);
      const r = await runCli(['-r', front.url, '-n', '**', '-k', '0', '-y']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/list the catalog.*next-page link leads to another origin \(http:\/\/localhost:\d+\), which cleanreg does not follow/);
      expect(r.stderr).toMatch(/hint: if that is this registry's own name for itself, pass it as -r\/--registry/);
      expect(front.seen.some((s) => s.startsWith('DELETE '))).toBe(false);
      for (const repo of ['a1', 'a2', 'b1']) expect(await sorted(repo)).toEqual(['t1', 't2']);
    } finally {
      await front.stop();
    }
  });

  test('repositories are read as the catalog pages come; a page that fails stops the run with nothing deleted', async () => {
    for (const repo of ['a1', 'a2', 'b1', 'b2', 'c1']) for (let i = 1; i <= 2; i++) await p.pushImage(repo, [`t${i}`], { created: day(i), seed: `${repo}${i}` });
    const front = await startFront(reg.url);
    try {
      // The third page (after b2) fails: by then the repositories of the first page are being read.
      front.fault = (_, path) => (path.startsWith('/v2/_catalog') && path.includes('last=b2') ? 500 : undefined);
      const r = await runCli(['-r', front.url, '-n', '**', '-k', '0', '-y', '--retries', '0']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/catalog.*500/);
      expect(front.seen).toContain('GET /v2/a1/tags/list');
      expect(front.seen.indexOf('GET /v2/a1/tags/list')).toBeLessThan(front.seen.findIndex((s) => s.includes('last=b2')));
      expect(front.seen.some((s) => s.startsWith('DELETE '))).toBe(false);
      for (const repo of ['a1', 'a2', 'b1', 'b2', 'c1']) expect(await sorted(repo)).toEqual(['t1', 't2']);
    } finally {
      await front.stop();
    }
  });
});

describe('plan files', () => {
  registryPerTest((r, q) => ((reg = r), (p = q)));

  test('plan → move a tag, add a tag, delete one image by hand → apply keeps and reports', async () => {
    const a = await p.pushImage('app', ['a'], { created: day(1), seed: 'p1' });
    const b = await p.pushImage('app', ['b'], { created: day(2), seed: 'p2' });
    const c = await p.pushImage('app', ['c'], { created: day(3), seed: 'p3' });
    const d = await p.pushImage('app', ['d'], { created: day(4), seed: 'p4' });
    const e = await p.pushImage('app', ['e'], { created: day(5), seed: 'p5' });
    const planFile = join(tmp, 'plan.json');
    const planned = await runCli(['-r', reg.url, '-n', 'app', '-k', '1', '--dry-run', '--plan-out', planFile]);
    expect(planned.code).toBe(0);
    const plan = JSON.parse(readFileSync(planFile, 'utf8'));
    expect(plan).toMatchObject({ kind: 'cleanreg-plan', version: 1, registry: reg.url });
    expect(plan.repositories[0].images.filter((i: { action: string }) => i.action === 'delete')).toHaveLength(4);

    // Meanwhile: tag "a" moves onto the newest image, "release" is added to image b, image c is deleted by hand.
    await p.tag('app', 'a', e.digest);
    await p.tag('app', 'release', b.digest);
    await p.send('DELETE', `/v2/app/manifests/${c.digest}`);

    const applied = await runCli(['apply', planFile, '-y', '--output', 'json']);
    expect(applied.code).toBe(0);
    const doc = JSON.parse(applied.stdout);
    const repo = doc.repositories[0];
    const kept = Object.fromEntries(repo.keptOnReverify.map((k: { tags: string[]; reason: string }) => [k.tags.join(','), k.reason]));
    expect(kept.a).toMatch(/tag "a" now points at sha256:.* \(moved since the plan\)/);
    expect(kept.b).toMatch(/tag "release" now points at this image \(added or moved here since the plan\)/);
    expect(repo.deleted).toEqual(expect.arrayContaining([{ digest: c.digest, tags: ['c'], alreadyGone: true }, { digest: d.digest, tags: ['d'], alreadyGone: false }]));
    expect(await p.resolve('app', a.digest)).toBe(a.digest);
    expect(await sorted('app')).toEqual(['a', 'b', 'e', 'release']);
  });

  test('a kept tag rolled back onto a doomed image protects it; its signature stays with it', async () => {
    const v1 = await p.pushImage('roll', ['v1'], { created: day(1), seed: 'r1' });
    await p.pushImage('roll', ['v2', 'latest'], { created: day(2), seed: 'r2' });
    const sig = await p.pushArtifact('roll', v1.digest, [`${v1.digest.replace(':', '-')}.sig`], { seed: 'rsig' });
    const planFile = join(tmp, 'roll.json');
    expect((await runCli(['-r', reg.url, '-n', 'roll', '-k', '1', '--dry-run', '--plan-out', planFile])).code).toBe(0);
    await p.tag('roll', 'latest', v1.digest); // rollback
    // A dry run of the saved plan already shows what the apply will keep.
    const preview = await runCli(['apply', planFile, '--dry-run', '--output', 'json']);
    expect(preview.code).toBe(0);
    const previewed = JSON.parse(preview.stdout).repositories[0];
    expect(previewed.delete).toEqual([]);
    expect(previewed.keep).toEqual(expect.arrayContaining([expect.objectContaining({ digest: v1.digest, reason: expect.stringMatching(/^kept now, the registry changed since the plan: tag "latest" now points at this image/) })]));
    expect(await p.resolve('roll', v1.digest)).toBe(v1.digest);
    const r = await runCli(['apply', planFile, '-y', '--output', 'json']);
    expect(r.code).toBe(0);
    const repo = JSON.parse(r.stdout).repositories[0];
    expect(repo.keptOnReverify.map((k: { digest: string }) => k.digest).sort()).toEqual([v1.digest, sig.digest].sort());
    expect(repo.deleted).toEqual([]);
    expect(await p.resolve('roll', 'latest')).toBe(v1.digest);
    expect(await p.resolve('roll', sig.digest)).toBe(sig.digest);
  });

  test('an index pushed since the plan protects the platform image it references', async () => {
    const amd = await p.pushImage('fan', ['amd64-old'], { created: day(1), seed: 'f1', arch: 'amd64' });
    await p.pushImage('fan', ['amd64-new'], { created: day(2), seed: 'f2', arch: 'amd64' });
    const planFile = join(tmp, 'fan.json');
    expect((await runCli(['-r', reg.url, '-n', 'fan', '-k', '1', '--dry-run', '--plan-out', planFile])).code).toBe(0);
    // `docker manifest create fan:1.0 fan:amd64-old ...`: an index now needs the doomed image.
    const manifest = await p.send('GET', `/v2/fan/manifests/${amd.digest}`, { headers: { accept: amd.mediaType } });
    const indexBody = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ mediaType: amd.mediaType, digest: amd.digest, size: manifest.body.length, platform: { architecture: 'amd64', os: 'linux' } }] }));
    await p.pushManifest('fan', 'application/vnd.oci.image.index.v1+json', indexBody, ['1.0']);
    const r = await runCli(['apply', planFile, '-y']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/platform of index/);
    expect(await p.isPullable('fan', '1.0')).toBe(true);
  });

  test('apply refuses a plan for another registry, and a malformed plan, with exit 2', async () => {
    const planFile = join(tmp, 'other.json');
    writeFileSync(planFile, JSON.stringify({ kind: 'cleanreg-plan', version: 1, createdAt: day(0), registry: 'https://elsewhere.example', repositories: [] }));
    const other = await runCli(['apply', planFile, '-r', reg.url, '-y']);
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/is for https:\/\/elsewhere.example/);
    writeFileSync(planFile, '{"kind": "something else"}');
    const bad = await runCli(['apply', planFile, '-y']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/not a cleanreg plan/);

    await p.pushImage('out', ['a'], { created: day(1), seed: 'out-a' });
    const json = await runCli(['-r', reg.url, '-n', 'out', '-k', '1', '--dry-run', '--output', 'json']);
    expect(json.code).toBe(0);
    writeFileSync(planFile, json.stdout);
    const output = await runCli(['apply', planFile, '-y']);
    expect(output.code).toBe(2);
    expect(output.stderr).toMatch(/hint: this is --output json; write a plan with --plan-out FILE and apply that/);
  });
});
