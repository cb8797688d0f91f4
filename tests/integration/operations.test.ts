/**
 * Everyday operations on real registries: list, delete by reference, an apply interrupted or losing answers,
 * --gc-command, prune-empty, completion.
 */
import { afterAll, describe, expect, test } from '@jest/globals';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { stripVTControlCharacters as stripAnsi } from 'node:util';
import { main } from '../../src/main.js';
import { runBuiltCli, runCli } from '../helpers/cli.js';
import { registryPerTest } from '../helpers/fixture.js';
import { ImagePusher, MT } from '../helpers/images.js';
import { startFront, type Front } from '../helpers/front.js';
import { startRegistry, stopAllRegistries, type TestRegistry } from '../helpers/registry.js';

afterAll(stopAllRegistries);

const day = (n: number) => new Date(Date.UTC(2024, 0, 1 + n)).toISOString();
const tmp = mkdtempSync(join(tmpdir(), 'cleanreg-ops-'));
let reg: TestRegistry;
let p: ImagePusher;
const sorted = async (repo: string) => (await p.tags(repo))?.sort() ?? null;

registryPerTest((r, q) => ((reg = r), (p = q)));

/**
 * Runs cleanreg in-process at a (fake) terminal and answers "n" to its question: the exit code, stdout, and what
 * was shown on the terminal (stderr, without colours).
 */
async function answeredNo(args: string[]): Promise<{ code: number; out: string; asked: string }> {
  // As process.stderr, which the prompt's end() leaves open.
  const terminal = () => Object.assign(new PassThrough(), { isTTY: true, end() { return this; } });
  const [stdin, stdout, stderr] = [terminal(), new PassThrough(), terminal()];
  let out = '';
  let asked = '';
  let answered = false;
  stdout.on('data', (c) => (out += c));
  stderr.on('data', (c) => {
    asked += c;
    if (/\? Delete/.test(stripAnsi(asked)) && !answered) answered = !!setTimeout(() => stdin.write('n\r'), 200);
  });
  const code = await main(args, { stdout, stderr, stdin, env: { HOME: '/nonexistent-home', PATH: process.env.PATH } });
  return { code, out, asked: stripAnsi(asked) };
}

describe('list', () => {
  test('repositories, tags, types, created and sizes; an emptied repository is flagged', async () => {
    const img = await p.pushImage('web', ['1.0', 'latest'], { created: day(1), seed: 'l1', layers: 2 });
    const idx = await p.pushIndex('multi', ['2.0'], [{ arch: 'amd64', created: day(2), seed: 'la' }, { arch: 'arm64', created: day(3), seed: 'lb' }]);
    const gone = await p.pushImage('empty/repo', ['x'], { created: day(1), seed: 'l2' });
    await p.send('DELETE', `/v2/empty/repo/manifests/${gone.digest}`);

    const r = await runCli(['list', '-r', reg.url, '--output', 'json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    const repo = (name: string) => doc.repositories.find((x: { name: string }) => x.name === name);
    expect(repo('empty/repo')).toMatchObject({ empty: true, images: [] });
    expect(repo('web').images).toEqual([expect.objectContaining({ digest: img.digest, tags: ['1.0', 'latest'], type: 'image', created: day(1), size: img.size + img.contentSize })]);
    const multi = repo('multi').images[0];
    expect(multi).toMatchObject({ digest: idx.digest, type: 'index', created: day(3) });
    expect(multi.size).toBeGreaterThanOrEqual(idx.contentSize);

    const table = await runCli(['list', '-r', reg.url, '-n', 'empty/*']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/empty\/repo.*no tags: empty repository/);
    expect(table.stdout).toMatch(/1 repository, 0 images, 0 tags, 1 empty/);

    // A signature is listed, and counted apart from the images.
    await p.pushImage('web', [`${img.digest.replace(':', '-')}.sig`], { created: null, seed: 'l1-sig' });
    const signed = await runCli(['list', '-r', reg.url, '-n', 'web']);
    expect(signed.code).toBe(0);
    expect(signed.stdout).toMatch(/1 repository, 1 image \(and 1 artifact\), 3 tags/);
  });
});

describe('an index that lists a manifest the registry no longer has', () => {
  test('is listed and warned about with no age, not a failure of its repository; a plan keeps it; delete by reference removes it', async () => {
    const broken = await p.pushIndex('fan', ['old'], [{ arch: 'amd64', created: day(1), seed: 'b1' }, { arch: 'arm64', created: day(2), seed: 'b2' }]);
    await p.pushImage('fan', ['new'], { created: day(3), seed: 'b3' });
    // The newest child is gone: dated by the other, the index would look older than it is.
    const [left, gone] = broken.children;
    expect((await p.send('DELETE', `/v2/fan/manifests/${gone.digest}`)).status).toBe(202);

    const list = await runCli(['list', '-r', reg.url, '-n', 'fan', '--output', 'json']);
    expect(list.code).toBe(0);
    expect(list.stderr).toMatch(new RegExp(`fan: index ${broken.digest.slice(7, 19)} lists 1 manifest the registry does not have \\(${gone.digest.slice(7, 19)}\\): its age is unknown`));
    const doc = JSON.parse(list.stdout);
    expect(doc.errors).toEqual([]);
    expect(doc.repositories[0].images.find((i: { digest: string }) => i.digest === broken.digest)).toMatchObject({ type: 'index', created: null, size: null });

    const plan = await runCli(['-r', reg.url, '-n', 'fan', '-k', '0', '-y', '--no-cache', '--output', 'json']);
    expect(plan.code).toBe(0);
    expect(JSON.parse(plan.stdout).repositories[0].keep).toEqual([expect.objectContaining({ digest: broken.digest, reason: expect.stringMatching(/unknown age/) })]);
    expect(await sorted('fan')).toEqual(['old']);

    const r = await runCli(['delete', '-r', reg.url, 'fan:old', '-y']);
    expect(r.code).toBe(0);
    expect(await p.tags('fan')).toBeNull();
    expect(await p.resolve('fan', left.digest)).toBeNull();
  });
});

describe('delete by reference', () => {
  test('a tag that shares its digest: only that tag goes, the other tags survive', async () => {
    const shared = await p.pushImage('app', ['1.0', 'stable', 'old-name'], { created: day(1), seed: 'd1' });
    await reg.syncLog();
    reg.clearAccessLog();
    const r = await runCli(['delete', '-r', reg.url, 'app:old-name', 'app:stable', '-y']);
    expect(r.code).toBe(0);
    expect(await sorted('app')).toEqual(['1.0']);
    expect(await p.resolve('app', '1.0')).toBe(shared.digest);
    expect(await p.isPullable('app', '1.0')).toBe(true);
    expect(r.stdout).toMatch(/untag/);
    // One untag after the other: distribution answers 500 to a manifest DELETE while a tag link is being rewritten.
    const writes = reg
      .accessEntries()
      .filter((e) => (e.method === 'PUT' || e.method === 'DELETE') && e.uri.includes('/manifests/'))
      .map((e) => `${e.method} ${e.uri.replace(/sha256:[0-9a-f]{64}/, 'DIGEST')}`);
    const untagging = (tag: string) => [`DELETE /v2/app/manifests/${tag}`, `PUT /v2/app/manifests/${tag}`, 'DELETE /v2/app/manifests/DIGEST'];
    expect([[...untagging('old-name'), ...untagging('stable')], [...untagging('stable'), ...untagging('old-name')]]).toContainEqual(writes);
  });

  test('an untag whose throwaway manifest cannot be deleted puts the tag back where it was', async () => {
    const shared = await p.pushImage('app', ['1.0', 'stable'], { created: day(1), seed: 'd7' });
    // distribution 2.8 deletes no tag itself: the tag is pointed at a throwaway manifest, which is then deleted.
    const front = await startFront(reg.url);
    front.fault = (method, path) => (method === 'DELETE' && path.includes('/manifests/sha256:') ? 500 : undefined);
    try {
      const r = await runCli(['delete', '-r', front.url, 'app:stable', '-y', '--retries', '0']);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/app:stable.*untag.*failed/);
      expect(front.seen.filter((s) => s.startsWith('PUT /v2/app/manifests/stable'))).toHaveLength(2);
      expect(await sorted('app')).toEqual(['1.0', 'stable']);
      expect(await p.resolve('app', 'stable')).toBe(shared.digest);
      expect(await p.isPullable('app', 'stable')).toBe(true);
    } finally {
      await front.stop();
    }
  });

  test('an untag whose throwaway cannot be deleted nor the tag put back says where the tag is now and how to restore it', async () => {
    const shared = await p.pushImage('app', ['1.0', 'stable'], { created: day(1), seed: 'd8' });
    const front = await startFront(reg.url);
    let puts = 0;
    front.fault = (method, path) => {
      if (method === 'DELETE' && path.includes('/manifests/sha256:')) return 500;
      if (method === 'PUT' && path === '/v2/app/manifests/stable' && ++puts === 2) return 500;
      return undefined;
    };
    try {
      const r = await runCli(['delete', '-r', front.url, 'app:stable', '-y', '--retries', '0', '--output', 'json']);
      expect(r.code).toBe(1);
      const throwaway = await p.resolve('app', 'stable');
      expect(throwaway).not.toBe(shared.digest);
      const row = JSON.parse(r.stdout).references[0];
      expect(row).toMatchObject({ reference: 'app:stable', status: 'failed' });
      expect(row.detail).toContain(`app:stable now points at cleanreg's empty throwaway manifest ${throwaway}: deleting it failed`);
      expect(row.detail).toContain(`and so did putting the tag back on ${shared.digest}`);
      expect(r.stderr).toContain(`crane tag app@${shared.digest} stable`);
    } finally {
      await front.stop();
    }
  });

  test('all tags of a digest named: the manifest is deleted; host prefix accepted', async () => {
    const img = await p.pushImage('app', ['a', 'b'], { created: day(1), seed: 'd2' });
    const host = new URL(reg.url).host;
    const r = await runCli(['delete', '-r', reg.url, `${host}/app:a`, 'app:b', '-y', '--output', 'json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.references.map((x: { action: string; status: string }) => [x.action, x.status])).toEqual([['delete-manifest', 'deleted'], ['delete-manifest', 'deleted']]);
    expect(await p.resolve('app', img.digest)).toBeNull();
    expect(reg.accessEntries().filter((e) => e.method === 'DELETE')).toHaveLength(1);
  });

  test('a reference file with a missing entry: reported, the rest done, exit 1', async () => {
    await p.pushImage('app', ['keep'], { created: day(1), seed: 'd3' });
    const doomed = await p.pushImage('app', ['doomed'], { created: day(2), seed: 'd4' });
    const other = await p.pushImage('lib', ['0.1'], { created: day(2), seed: 'd5' });
    const file = join(tmp, 'refs.txt');
    writeFileSync(file, `# to delete\napp:doomed\napp:never-was   # typo\nnope/none:1\nlib@${other.digest}\n`);
    const r = await runCli(['delete', '-r', reg.url, '--from-file', file, '-y']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/app:never-was.*missing.*no such tag/);
    expect(r.stdout).toMatch(/nope\/none:1.*missing.*repository nope\/none not found/);
    expect(r.stdout).toMatch(/2 deleted, 0 untagged, 2 not found, 0 failed/);
    expect(await p.resolve('app', doomed.digest)).toBeNull();
    expect(await sorted('app')).toEqual(['keep']);
    expect(await p.tags('lib')).toBeNull();
  });

  test('a platform image of a multi-arch tag that stays: only its own tag goes; its digest is refused', async () => {
    const idx = await p.pushIndex('fan', ['1.0'], [{ arch: 'amd64', created: day(1), seed: 'pf1' }, { arch: 'arm64', created: day(1), seed: 'pf2' }]);
    const amd = idx.children[0];
    await p.tag('fan', 'amd64', amd.digest);
    const r = await runCli(['delete', '-r', reg.url, 'fan:amd64', `fan@${idx.children[1].digest}`, '-y']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/fan:amd64.*untag.*untagged.*a platform of 1\.0/);
    expect(r.stdout).toMatch(/refused.*delete the index first/);
    expect(await p.tags('fan')).toEqual(['1.0']);
    expect(await p.isPullable('fan', '1.0')).toBe(true);
  });

  test('a deleted image takes its signature along, after it; a deleted index its untagged platform manifests; what stays keeps its own', async () => {
    const sigTag = (digest: string) => `${digest.replace(':', '-')}.sig`;
    const old = await p.pushImage('app', ['old'], { created: day(1), seed: 'w1' });
    const oldSig = await p.pushArtifact('app', old.digest, [sigTag(old.digest)], { seed: 'w1-sig' });
    const multi = await p.pushIndex('app', ['multi'], [{ arch: 'amd64', created: day(2), seed: 'w2' }, { arch: 'arm64', created: day(2), seed: 'w3' }]);
    const cur = await p.pushImage('app', ['cur'], { created: day(3), seed: 'w4' });
    const curSig = await p.pushArtifact('app', cur.digest, [sigTag(cur.digest)], { seed: 'w4-sig' });
    await reg.syncLog();
    reg.clearAccessLog();

    const r = await runCli(['delete', '-r', reg.url, 'app:old', 'app:multi', '-y', '--output', 'json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    const rows = new Map(doc.references.map((x: { digest: string }) => [x.digest, x]));
    expect(rows.get(oldSig.digest)).toMatchObject({ reference: `app:${sigTag(old.digest)}`, action: 'delete-manifest', follows: old.digest, status: 'deleted', detail: expect.stringMatching(/^signature of deleted image/) });
    for (const child of multi.children) expect(rows.get(child.digest)).toMatchObject({ reference: `app@${child.digest}`, follows: multi.digest, status: 'deleted', detail: expect.stringMatching(/^platform manifest of deleted index/) });
    expect(rows.get(old.digest)).toMatchObject({ reference: 'app:old', follows: null, status: 'deleted' });
    expect(doc.summary).toMatchObject({ references: 2, alongside: 3, deleted: 5, failed: 0 });

    expect(await sorted('app')).toEqual(['cur', sigTag(cur.digest)].sort());
    for (const digest of [old.digest, oldSig.digest, multi.digest, ...multi.children.map((c) => c.digest)]) expect(await p.resolve('app', digest)).toBeNull();
    expect(await p.isPullable('app', 'cur')).toBe(true);
    expect(await p.resolve('app', curSig.digest)).toBe(curSig.digest);
    // Each goes only once what it follows is gone: no signature without its image, no index without its platforms.
    const deletes = reg.accessEntries().filter((e) => e.method === 'DELETE').map((e) => e.uri.replace('/v2/app/manifests/', ''));
    expect(deletes).toHaveLength(5);
    expect(deletes.indexOf(oldSig.digest)).toBeGreaterThan(deletes.indexOf(old.digest));
    for (const child of multi.children) expect(deletes.indexOf(child.digest)).toBeGreaterThan(deletes.indexOf(multi.digest));
  });

  test('--only-named leaves what follows; a dry run lists what goes along and changes nothing; a signature can be named alone', async () => {
    const sigTag = (digest: string) => `${digest.replace(':', '-')}.sig`;
    const img = await p.pushImage('app', ['v1'], { created: day(1), seed: 'n1' });
    const sig = await p.pushArtifact('app', img.digest, [sigTag(img.digest)], { seed: 'n1-sig' });
    const multi = await p.pushIndex('app', ['multi'], [{ arch: 'amd64', created: day(2), seed: 'n2' }, { arch: 'arm64', created: day(2), seed: 'n3' }]);

    const dry = await runCli(['delete', '-r', reg.url, 'app:v1', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(new RegExp(`app:${sigTag(img.digest)}.*delete-manifest.*dry run.*signature of deleted image`));
    expect(dry.stdout).toMatch(/^Would delete 2 manifests \(1 of them would go along with what is named: signatures, referrers, platform manifests\), untag 0; 0 not found \(dry run: nothing changed\)\.$/m);
    expect(await p.resolve('app', sig.digest)).toBe(sig.digest);

    const alone = await runCli(['delete', '-r', reg.url, `app:${sigTag(img.digest)}`, '-y', '--output', 'json']);
    expect(alone.code).toBe(0);
    expect(JSON.parse(alone.stdout).summary).toMatchObject({ references: 1, alongside: 0, deleted: 1 });
    expect(await p.resolve('app', sig.digest)).toBeNull();
    expect(await p.isPullable('app', 'v1')).toBe(true);

    const only = await runCli(['delete', '-r', reg.url, 'app:multi', '--only-named', '-y', '--output', 'json']);
    expect(only.code).toBe(0);
    expect(JSON.parse(only.stdout).summary).toMatchObject({ references: 1, alongside: 0, deleted: 1 });
    expect(await p.resolve('app', multi.digest)).toBeNull();
    for (const child of multi.children) expect(await p.resolve('app', child.digest)).toBe(child.digest);
  });

  test('an image named with its signature: the image goes first; an SBOM tagged by name, not named, stays', async () => {
    const sigTag = (digest: string) => `${digest.replace(':', '-')}.sig`;
    const img = await p.pushImage('app', ['v1'], { created: day(1), seed: 's1' });
    // As cosign pushes it without the referrers API: a manifest with no subject, found by its tag alone.
    const sig = await p.pushImage('app', [sigTag(img.digest)], { created: null, seed: 's1-sig' });
    const sbom = await p.pushArtifact('app', img.digest, ['sbom-v1'], { seed: 's1-sbom', artifactType: 'application/spdx+json' });
    await reg.syncLog();
    reg.clearAccessLog();
    const r = await runCli(['delete', '-r', reg.url, `app:${sigTag(img.digest)}`, 'app:v1', '-y', '--output', 'json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.references.map((x: { digest: string; follows: string | null; status: string }) => [x.digest, x.follows, x.status])).toEqual([[sig.digest, null, 'deleted'], [img.digest, null, 'deleted']]);
    const deletes = reg.accessEntries().filter((e) => e.method === 'DELETE').map((e) => e.uri.replace('/v2/app/manifests/', ''));
    expect(deletes).toEqual([img.digest, sig.digest]);
    expect(await sorted('app')).toEqual(['sbom-v1']);
    expect(await p.resolve('app', sbom.digest)).toBe(sbom.digest);
  });

  test('an untag and a deletion in one repository: the untag first, then the image and its signature', async () => {
    const shared = await p.pushImage('app', ['a', 'b'], { created: day(1), seed: 'm1' });
    const img = await p.pushImage('app', ['c'], { created: day(2), seed: 'm2' });
    const sig = await p.pushImage('app', [`${img.digest.replace(':', '-')}.sig`], { created: null, seed: 'm2-sig' });
    await reg.syncLog();
    reg.clearAccessLog();
    const r = await runCli(['delete', '-r', reg.url, 'app:a', 'app:c', '-y']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^2 deleted \(1 of them along with what was named\), 1 untagged, 0 not found, 0 failed\.$/m);
    expect(await sorted('app')).toEqual(['b']);
    expect(await p.resolve('app', 'b')).toBe(shared.digest);
    for (const gone of [img.digest, sig.digest]) expect(await p.resolve('app', gone)).toBeNull();
    const writes = reg.accessEntries().filter((e) => e.method === 'PUT' || e.method === 'DELETE').map((e) => `${e.method} ${e.uri.replace('/v2/app/manifests/', '')}`);
    expect(writes.slice(-2)).toEqual([`DELETE ${img.digest}`, `DELETE ${sig.digest}`]);
    expect(writes.indexOf('PUT a')).toBeGreaterThanOrEqual(0);
    expect(writes.indexOf('PUT a')).toBeLessThan(writes.indexOf(`DELETE ${img.digest}`));
  });

  test('a referrer named with the index whose platform manifest it refers to: deleted once, after the referrers-tag list that lists it', async () => {
    const multi = await p.pushIndex('app', ['multi'], [{ arch: 'amd64', created: day(1), seed: 'q1' }, { arch: 'arm64', created: day(1), seed: 'q2' }]);
    const arm = multi.children[1];
    const ref = await p.pushArtifact('app', arm.digest, [], { seed: 'q-ref', artifactType: 'application/vnd.cncf.notary.signature' });
    const list = { schemaVersion: 2, mediaType: MT.ociIndex, manifests: [{ mediaType: MT.ociManifest, digest: ref.digest, size: ref.size }] };
    const listDigest = await p.pushManifest('app', MT.ociIndex, Buffer.from(JSON.stringify(list)), [arm.digest.replace(':', '-')]);
    await reg.syncLog();
    reg.clearAccessLog();
    const r = await runCli(['delete', '-r', reg.url, 'app:multi', `app@${ref.digest}`, '-y', '--output', 'json']);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout).references as { digest: string; follows: string | null; status: string }[];
    expect(rows.filter((x) => x.digest === ref.digest)).toEqual([expect.objectContaining({ follows: null, status: 'deleted' })]);
    expect(new Set(rows.map((x) => x.digest))).toEqual(new Set([multi.digest, ref.digest, listDigest, ...multi.children.map((c) => c.digest)]));
    expect(rows.every((x) => x.status === 'deleted')).toBe(true);
    expect(await p.tags('app')).toBeNull();
    const deletes = reg.accessEntries().filter((e) => e.method === 'DELETE').map((e) => e.uri.replace('/v2/app/manifests/', ''));
    expect(deletes.indexOf(ref.digest)).toBeGreaterThan(deletes.indexOf(listDigest));
    expect(deletes.indexOf(ref.digest)).toBeGreaterThan(deletes.indexOf(arm.digest));
  });

  test('a reference named twice counts once; two references to one manifest delete it once; a malformed digest is a usage error', async () => {
    const shared = await p.pushImage('app', ['v3', 'latest'], { created: day(1), seed: 'u1' });
    const solo = await p.pushImage('app', ['a', 'b'], { created: day(2), seed: 'u2' });
    const r = await runCli(['delete', '-r', reg.url, 'app:v3', 'app:v3', 'app:a', 'app:b', '-y', '--output', 'json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.references.map((x: { reference: string; status: string }) => [x.reference, x.status])).toEqual([['app:v3', 'untagged'], ['app:a', 'deleted'], ['app:b', 'deleted']]);
    expect(doc.summary).toMatchObject({ references: 3, deleted: 1, untagged: 1, failed: 0 });
    expect(await sorted('app')).toEqual(['latest']);
    expect(await p.resolve('app', 'latest')).toBe(shared.digest);
    expect(await p.resolve('app', solo.digest)).toBeNull();
    for (const digest of [`sha256:${'A'.repeat(64)}`, `sha256:${'a'.repeat(32)}`, `md5:${'a'.repeat(32)}`]) {
      const bad = await runCli(['delete', '-r', reg.url, `app@${digest}`, '-y']);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/reference 1 has an invalid digest: write sha256: and 64 lowercase hex digits/);
    }
    // docker would read the digest alone and ignore the tag: every tag of that image would go.
    const both = await runCli(['delete', '-r', reg.url, `app:zzz@${shared.digest}`, '-y']);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/reference 1 names both a tag and a digest: write repo:tag to remove that tag, or repo@sha256:… to delete the image with every tag it has/);
    expect(await p.resolve('app', 'latest')).toBe(shared.digest);
  });

  test('asked on a terminal: what will happen is shown before the question; answered no, nothing changes', async () => {
    const img = await p.pushImage('app', ['old'], { created: day(1), seed: 't1' });
    await p.pushImage('app', [`${img.digest.replace(':', '-')}.sig`], { created: null, seed: 't1-sig' });
    const { code, out, asked } = await answeredNo(['delete', '-r', reg.url, 'app:old']);
    expect(code).toBe(2);
    expect(out).toMatch(/app:old .*delete-manifest.*planned/);
    expect(out).toMatch(/Would delete 2 manifests \(1 of them would go along with what is named/);
    expect(asked).toMatch(/Delete 2 manifests \(1 along with what is named\) and untag 0 in\s/);
    expect(await p.resolve('app', img.digest)).toBe(img.digest);
  });

  test('--dry-run changes nothing; another host is a usage error', async () => {
    await p.pushImage('app', ['x', 'y'], { created: day(1), seed: 'd6' });
    const dry = await runCli(['delete', '-r', reg.url, 'app:x', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/app:x.*untag.*dry run.*keeps y/);
    const other = await runCli(['delete', '-r', reg.url, 'registry.example.com/app:x', '-y']);
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/not on the registry/);
    expect(await sorted('app')).toEqual(['x', 'y']);
  });
});

describe('--output json asked at a terminal', () => {
  test('the plan is shown on stderr before the question (stdout is for the JSON document); answered no, nothing changes', async () => {
    await p.pushImage('app', ['old'], { created: day(1), seed: 'aj1' });
    await p.pushImage('app', ['new'], { created: day(2), seed: 'aj2' });
    const { code, out, asked } = await answeredNo(['-r', reg.url, '-n', 'app', '-k', '1', '--output', 'json', '--no-cache']);
    expect(code).toBe(2);
    expect(asked.indexOf('beyond the newest 1 (by created)')).toBeGreaterThanOrEqual(0);
    expect(asked.indexOf('beyond the newest 1 (by created)')).toBeLessThan(asked.indexOf('? Delete 1 image (1 tag)'));
    expect(out).toBe('');
    expect(await sorted('app')).toEqual(['new', 'old']);
  });
});

describe('delete by reference, deletion disabled', () => {
  test('after the first 405 nothing more is tried, an untag in another repository included: the tags stay', async () => {
    const off = await startRegistry({ deleteEnabled: false });
    const q = new ImagePusher({ url: off.url });
    try {
      await q.pushImage('app', ['old'], { created: day(1), seed: 'o1' });
      await q.pushImage('lib', ['x', 'y'], { created: day(1), seed: 'o2' });
      await off.syncLog();
      off.clearAccessLog();
      const r = await runCli(['delete', '-r', off.url, 'app:old', 'lib:x', '-y', '--output', 'json']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/REGISTRY_STORAGE_DELETE_ENABLED=true/);
      const rows = JSON.parse(r.stdout).references as { reference: string; status: string; detail: string }[];
      expect(rows.map((x) => [x.reference, x.status])).toEqual([['app:old', 'failed'], ['lib:x', 'not-attempted']]);
      expect(rows[1].detail).toMatch(/deletion is disabled/);
      expect(off.accessEntries().filter((e) => e.method !== 'GET' && e.method !== 'HEAD').map((e) => e.method)).toEqual(['DELETE']);
      expect(await q.tags('app')).toEqual(['old']);
      expect((await q.tags('lib'))?.sort()).toEqual(['x', 'y']);
    } finally {
      q.close();
      await off.stop();
    }
  });
});

describe('an apply interrupted, or losing answers', () => {
  const sigTag = (digest: string) => `${digest.replace(':', '-')}.sig`;
  /** An index (two platforms), a signed image and an image to delete under -k 1, and the newest to keep. */
  const seed = async () => {
    const multi = await p.pushIndex('app', ['multi'], [{ arch: 'amd64', created: day(1), seed: 'ia' }, { arch: 'arm64', created: day(1), seed: 'ib' }], { seed: 'i' });
    const a = await p.pushImage('app', ['a'], { created: day(2), seed: 'ja' });
    const sig = await p.pushImage('app', [sigTag(a.digest)], { created: null, seed: 'ja-sig' });
    const b = await p.pushImage('app', ['b'], { created: day(3), seed: 'jb' });
    await p.pushImage('app', ['c'], { created: day(4), seed: 'jc' });
    return { multi, a, sig, b };
  };
  /**
   * Runs the built CLI through `front` with `args`; the first request `at` picks is held, the signal sent, and the
   * request served once cleanreg has said it is stopping.
   */
  const interrupted = (front: Front, args: string[], signal: 'SIGINT' | 'SIGTERM', at: (method: string, path: string) => boolean) => {
    let child: import('node:child_process').ChildProcess | undefined;
    let stopping!: Promise<void>;
    let held = false;
    front.hold = (method, path) => {
      if (held || !at(method, path)) return undefined;
      held = true;
      child!.kill(signal);
      return stopping;
    };
    return runBuiltCli(['-r', front.url, ...args], {
      onSpawn: (c) => {
        child = c;
        stopping = new Promise((resolve) => c.stderr.on('data', (d) => String(d).includes(`${signal}: stopping`) && resolve()));
      },
    });
  };

  test.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('%s while the first DELETE is under way: no further image goes, what that one leaves behind does; exit %d; a re-run finishes', async (signal, code) => {
    const { multi, a, sig, b } = await seed();
    const front = await startFront(reg.url);
    try {
      // The first DELETE (the index goes first, alone) waits until cleanreg has taken the signal.
      const r = await interrupted(front, ['-n', 'app', '-k', '1', '-y', '--output', 'json'], signal, (method, path) => method === 'DELETE' && path.endsWith(multi.digest));
      expect(r.code).toBe(code);
      expect(r.stderr).toContain(`stopped: interrupted (${signal}); no further image was deleted (run the same command again to finish)`);
      const doc = JSON.parse(r.stdout);
      expect(doc.summary).toMatchObject({ deleted: 3, notAttempted: 3, failed: 0 });
      for (const gone of [multi, ...multi.children]) expect(await p.resolve('app', gone.digest)).toBeNull();
      for (const left of [a, sig, b]) expect(await p.resolve('app', left.digest)).toBe(left.digest);
    } finally {
      await front.stop();
    }
    const again = await runCli(['-r', reg.url, '-n', 'app', '-k', '1', '-y']);
    expect(again.code).toBe(0);
    for (const gone of [a, sig, b]) expect(await p.resolve('app', gone.digest)).toBeNull();
    expect(await sorted('app')).toEqual(['c']);
  });

  test('a signal while the last DELETE is under way stops nothing, and says so', async () => {
    const { sig } = await seed();
    const front = await startFront(reg.url);
    try {
      // The signature goes last, once its image is gone.
      const r = await interrupted(front, ['-n', 'app', '-k', '1', '-y', '--output', 'json'], 'SIGINT', (method, path) => method === 'DELETE' && path.endsWith(sig.digest));
      expect(r.code).toBe(130);
      expect(JSON.parse(r.stdout).summary).toMatchObject({ deleted: 6, notAttempted: 0 });
      expect(r.stderr).toMatch(/interrupted \(SIGINT\) after every deletion had been sent: nothing was left undone/);
      expect(r.stderr).not.toMatch(/stopped: /);
    } finally {
      await front.stop();
    }
    expect(await sorted('app')).toEqual(['c']);
  });

  test('a signal during re-verification: nothing is deleted, and the rest of it is not read', async () => {
    await seed();
    const front = await startFront(reg.url);
    try {
      const r = await interrupted(front, ['-n', 'app', '-k', '1', '-y', '--output', 'json', '-w', '1'], 'SIGTERM', (method) => method === 'HEAD');
      expect(r.code).toBe(143);
      expect(JSON.parse(r.stdout).summary).toMatchObject({ deleted: 0, notAttempted: 6 });
      expect(front.seen.some((s) => s.startsWith('DELETE '))).toBe(false);
      // One tag at a time (-w 1): the first HEAD was held, and none came after it.
      expect(front.seen.filter((s) => s.startsWith('HEAD '))).toHaveLength(1);
    } finally {
      await front.stop();
    }
    expect(await sorted('app')).toHaveLength(5);
  });

  test('a DELETE whose answer is lost is asked about: the registry no longer has it, so it counts as deleted and what follows it goes', async () => {
    const { multi } = await seed();
    const front = await startFront(reg.url);
    try {
      front.cut = (method, path) => (method === 'DELETE' && path.endsWith(multi.digest) ? 'after' : undefined);
      const r = await runCli(['-r', front.url, '-n', 'app', '-k', '1', '-y', '--retries', '0', '--output', 'json']);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout).summary).toMatchObject({ deleted: 6, failed: 0, notAttempted: 0 });
      for (const gone of [multi, ...multi.children]) expect(await p.resolve('app', gone.digest)).toBeNull();
      expect(await sorted('app')).toEqual(['c']);
    } finally {
      await front.stop();
    }
  });

  test('a registry that stops answering halts the apply: no further DELETE waits out its retries', async () => {
    await seed();
    const front = await startFront(reg.url);
    try {
      // From the first DELETE on, nothing is answered: the HEAD that asks about it fails too.
      let down = false;
      front.cut = (method) => (down || method === 'DELETE' ? ((down = true), 'before') : undefined);
      const r = await runCli(['-r', front.url, '-n', 'app', '-k', '1', '-y', '--retries', '0', '--output', 'json']);
      expect(r.code).toBe(1);
      expect(front.seen.filter((s) => s.startsWith('DELETE '))).toHaveLength(1);
      expect(JSON.parse(r.stdout).summary).toMatchObject({ deleted: 0, failed: 1, notAttempted: 5 });
      expect(r.stderr).toMatch(/stopped: no further deletion was attempted/);
      expect(r.stderr).toMatch(/run the same command again once the registry answers/);
    } finally {
      await front.stop();
    }
    expect(await sorted('app')).toEqual(['a', 'b', 'c', 'multi', sigTag((await p.resolve('app', 'a'))!)].sort());
  });

  test('a registry that goes away mid-apply (connections refused): no further DELETE is sent', async () => {
    await seed();
    const front = await startFront(reg.url);
    // The first DELETE finds the registry gone: its connection dropped, and every later one refused.
    front.hold = (method) => (method === 'DELETE' ? front.stop() : undefined);
    const r = await runCli(['-r', front.url, '-n', 'app', '-k', '1', '-y', '--retries', '1', '--output', 'json']);
    expect(r.code).toBe(1);
    expect(front.seen.filter((s) => s.startsWith('DELETE '))).toHaveLength(1);
    expect(JSON.parse(r.stdout).summary).toMatchObject({ deleted: 0, failed: 1, notAttempted: 5 });
    expect(r.stderr).toMatch(/connection refused/);
    expect(r.stderr).toMatch(/stopped: no further deletion was attempted/);
  });

  test('a DELETE lost while the registry still answers fails alone: what follows it stays, the others go', async () => {
    const { a, sig } = await seed();
    const front = await startFront(reg.url);
    try {
      front.cut = (method, path) => (method === 'DELETE' && path.endsWith(a.digest) ? 'before' : undefined);
      const r = await runCli(['-r', front.url, '-n', 'app', '-k', '1', '-y', '--retries', '0', '--output', 'json']);
      expect(r.code).toBe(1);
      expect(JSON.parse(r.stdout).summary).toMatchObject({ deleted: 4, failed: 1, notAttempted: 1 });
      expect(r.stderr).not.toMatch(/stopped: /);
      expect(await sorted('app')).toEqual(['a', 'c', sigTag(a.digest)].sort());
      expect(await p.resolve('app', sig.digest)).toBe(sig.digest);
    } finally {
      await front.stop();
    }
  });
});

describe('garbage collection command', () => {
  test('runs after deletions; kept images, multi-arch included, stay pullable; a failing command fails the run', async () => {
    await p.pushIndex('multi', ['old'], [{ arch: 'amd64', created: day(1), seed: 'g1' }, { arch: 'arm64', created: day(1), seed: 'g2' }]);
    await p.pushIndex('multi', ['new'], [{ arch: 'amd64', created: day(5), seed: 'g3' }, { arch: 'arm64', created: day(5), seed: 'g4' }]);
    await p.pushImage('single', ['old'], { created: day(1), seed: 'g5', layers: 2 });
    await p.pushImage('single', ['new'], { created: day(5), seed: 'g6', layers: 2 });
    const conf = join(tmp, 'gc.conf');
    writeFileSync(conf, 'multi 1\nsingle 1\n');
    const gc = `docker-registry garbage-collect ${reg.configPath}`;
    const r = await runCli(['-r', reg.url, '-f', conf, '-y', '--gc-command', gc]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/eligible for deletion/);
    expect(await p.isPullable('multi', 'new')).toBe(true);
    expect(await p.isPullable('single', 'new')).toBe(true);

    const nothing = await runCli(['-r', reg.url, '-f', conf, '-y', '--gc-command', 'echo GC-RAN']);
    expect(nothing.code).toBe(0);
    expect(nothing.stderr).not.toContain('GC-RAN');

    // The command's output is redacted as cleanreg's own is: a script calling the registry's API with the same
    // credentials (curl -v -u, set -x) prints them.
    await p.pushImage('single', ['newer'], { created: day(9), seed: 'g7' });
    const password = 'gc-s3cret:pw';
    const basic = Buffer.from(`admin:${password}`).toString('base64');
    const leaky = `echo "password=$CLEANREG_PASSWORD"; printf 'authorization: Basic ${basic}\\r'; echo "curl -u admin:$CLEANREG_PASSWORD" >&2; echo boom >&2; exit 3`;
    const failing = await runCli(['-r', reg.url, '-n', 'single', '-k', '1', '-y', '-u', 'admin', '--gc-command', leaky], { env: { CLEANREG_PASSWORD: password } });
    expect(failing.code).toBe(1);
    expect(failing.stderr).toContain('curl -u admin:[REDACTED]');
    expect(failing.stderr).not.toContain(password);
    expect(failing.stderr).not.toContain(basic);
    expect(failing.stderr).toMatch(/boom/);
    expect(failing.stderr).toMatch(/garbage collection command failed \(exit 3\)/);

    // With --output json the document is written before the command runs (it may run for hours, or be stopped):
    // what was deleted is on record whatever becomes of it.
    await p.pushImage('single', ['newest'], { created: day(10), seed: 'g8' });
    const json = await runCli(['-r', reg.url, '-n', 'single', '-k', '1', '-y', '-o', 'json', '--gc-command', 'echo boom >&2; exit 3']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout).summary.deleted).toBe(1);
  });
});

describe('prune-empty', () => {
  test('removes tagless repositories from stopped storage, never one with a tag or a nested one', async () => {
    await p.pushImage('team/app', ['1'], { created: day(1), seed: 'p1' });
    await p.pushImage('team/app/sub', ['1'], { created: day(1), seed: 'p2' });
    const gone = await p.pushImage('team/old', ['1'], { created: day(1), seed: 'p3' });
    const parentGone = await p.pushImage('parent', ['1'], { created: day(1), seed: 'p4' });
    // Pushed by digest only (deployments pull pinned@sha256:…): no tag, but not empty.
    const pinned = await p.pushImage('pinned', [], { created: day(1), seed: 'p6' });
    await p.pushImage('parent/child', ['1'], { created: day(1), seed: 'p5' });
    await p.send('DELETE', `/v2/team/old/manifests/${gone.digest}`);
    await p.send('DELETE', `/v2/parent/manifests/${parentGone.digest}`);
    await reg.stop();

    const dry = await runCli(['prune-empty', '--data-dir', reg.dataDir, '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/Would remove 2 repositories/);
    expect(dry.stderr).toMatch(/must be stopped or read-only/);
    expect(dry.stderr).toMatch(/Left alone \(no tags, but manifests that are used by digest\): pinned/);
    const repoDir = (name: string) => join(reg.dataDir, 'docker/registry/v2/repositories', name);
    expect(existsSync(repoDir('team/old'))).toBe(true);

    const noYes = await runCli(['prune-empty', '--data-dir', reg.dataDir]);
    expect(noYes.code).toBe(2);

    const r = await runCli(['prune-empty', '--data-dir', reg.dataDir, '-y']);
    expect(r.code).toBe(0);
    expect(existsSync(repoDir('team/old'))).toBe(false);
    expect(existsSync(join(repoDir('parent'), '_manifests'))).toBe(false);

    await reg.restart();
    const list = await runCli(['list', '-r', reg.url, '--output', 'json']);
    expect(list.stderr).toBe('');
    expect(JSON.parse(list.stdout).repositories.map((x: { name: string }) => x.name).sort()).toEqual(['parent/child', 'pinned', 'team/app', 'team/app/sub']);
    expect(await p.isPullable('parent/child', '1')).toBe(true);
    expect(await p.isPullable('pinned', pinned.digest)).toBe(true);

    const bad = await runCli(['prune-empty', '--data-dir', tmp]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/does not look like/);
  });
});

describe('completion and version', () => {
  test('prints a completion script and the version', async () => {
    const completion = await runCli(['completion']);
    expect(completion.code).toBe(0);
    expect(completion.stdout).toMatch(/cleanreg-completions/);
    const version = await runCli(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  test('completes the commands (not "$0"), the default command\'s options, and a command\'s own (no "--r")', async () => {
    const complete = async (...words: string[]) => (await runCli(['--get-yargs-completions', 'cleanreg', ...words])).stdout.trim().split('\n');
    const commands = await complete('');
    expect(commands).toEqual(expect.arrayContaining(['apply', 'delete', 'list', 'prune-empty']));
    expect(commands).not.toContain('$0');
    const top = await complete('-r', 'x', '-');
    expect(top).toEqual(expect.arrayContaining(['--cacert', '-c', '--reponame', '-n', '--keepimages', '-k', '--reposfile', '--dry-run', '--older-than', '--no-cache']));
    expect(top).not.toContain('-q');
    // What is on the line already is not offered again, under any of its names.
    const again = await complete('-r', 'x', '--reponame', 'app', '--no-cache', '-');
    expect(again).toEqual(expect.arrayContaining(['--keepimages', '-k']));
    for (const given of ['--registry', '-r', '--reponame', '-n', '--no-cache']) expect(again).not.toContain(given);
    // A counted option may be given again.
    expect(await complete('-v', '-')).toEqual(expect.arrayContaining(['-v', '--verbose']));
    const ofDelete = await complete('delete', '--');
    expect(ofDelete).toEqual(expect.arrayContaining(['--registry', '--only-named', '--from-file']));
    expect(ofDelete).not.toContain('--r');
    expect(ofDelete).not.toContain('--keepimages');
  });
});
