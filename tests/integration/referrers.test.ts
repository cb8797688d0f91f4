/**
 * OCI 1.1 referrers pushed by digest, without a tag (cosign's and notation's OCI 1.1 mode, `oras attach`), can only
 * be found through the referrers API. distribution 2.8 stores them but has no such API: here a front adds it (see
 * front.ts) and everything else is the real registry.
 */
import { afterAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { registryPerTest } from '../helpers/fixture.js';
import { ImagePusher, MT } from '../helpers/images.js';
import { startFront, type Front } from '../helpers/front.js';
import { stopAllRegistries, type TestRegistry } from '../helpers/registry.js';
import { shortDigest } from '../../src/util/digest.js';

afterAll(stopAllRegistries);

const day = (n: number) => new Date(Date.UTC(2024, 0, 1 + n)).toISOString();
const tmp = mkdtempSync(join(tmpdir(), 'cleanreg-referrers-'));

interface PlannedJson { digest: string; tags: string[]; kind: string; reason: string; subject?: string }

let reg: TestRegistry;
let direct: ImagePusher;

/**
 * A notation signature of `subject` in app, as notation and oras push one without the API: the signature untagged,
 * found through an index tagged `sha256-<hex>` for its subject (the referrers tag schema).
 */
async function signWithReferrersList(subject: string, seed: string): Promise<{ sig: { digest: string }; list: string }> {
  const sig = await direct.pushArtifact('app', subject, [], { seed, artifactType: 'application/vnd.cncf.notary.signature' });
  const list = { schemaVersion: 2, mediaType: MT.ociIndex, manifests: [{ mediaType: MT.ociManifest, digest: sig.digest, size: sig.size, artifactType: 'application/vnd.cncf.notary.signature' }] };
  return { sig, list: await direct.pushManifest('app', MT.ociIndex, Buffer.from(JSON.stringify(list)), [subject.replace(':', '-')]) };
}

/** The test's registry behind a front with the referrers API, and a pusher through it; both closed afterwards. */
async function withFront(pageSize: number | undefined, body: (front: Front, p: ImagePusher) => Promise<void>): Promise<void> {
  const front = await startFront(reg.url, pageSize);
  const p = new ImagePusher({ url: front.url });
  try {
    await body(front, p);
  } finally {
    p.close();
    await front.stop();
  }
}

describe('OCI referrers, with and without the API', () => {
  registryPerTest((r, q) => ((reg = r), (direct = q)));

  test('referrers of deleted images, of their platform manifests and of other referrers are deleted after them; a kept image keeps its own', async () => {
    // One descriptor a page, so that every list of two or more is read through its Link header.
    await withFront(1, async (front, p) => {
      const old = await p.pushImage('app', ['old'], { created: day(1), seed: 'r1' });
      const multi = await p.pushIndex('app', ['multi'], [{ arch: 'amd64', created: day(2) }, { arch: 'arm64', created: day(2) }], { seed: 'r2' });
      const cur = await p.pushImage('app', ['cur'], { created: day(3), seed: 'r3' });
      const sig = await p.pushArtifact('app', old.digest, [], { seed: 'sig-old' });
      const sbom = await p.pushArtifact('app', old.digest, [], { seed: 'sbom-old', artifactType: 'application/spdx+json' });
      const sbomSig = await p.pushArtifact('app', sbom.digest, [], { seed: 'sig-sbom' });
      const arm = multi.children[1];
      const armSig = await p.pushArtifact('app', arm.digest, [], { seed: 'sig-arm' });
      const curSig = await p.pushArtifact('app', cur.digest, [], { seed: 'sig-cur' });

      const dry = await runCli(['-r', front.url, '-n', 'app', '-k', '1', '--dry-run', '--output', 'json']);
      expect(dry.code).toBe(0);
      const plan = JSON.parse(dry.stdout).repositories[0] as { keep: PlannedJson[]; delete: PlannedJson[] };
      const planned = new Map(plan.delete.map((i) => [i.digest, i]));
      expect(new Set(planned.keys())).toEqual(new Set([old.digest, multi.digest, ...multi.children.map((c) => c.digest), sig.digest, sbom.digest, sbomSig.digest, armSig.digest]));
      expect(planned.get(sbom.digest)).toMatchObject({ kind: 'artifact', subject: old.digest, reason: `referrer (application/spdx+json) of deleted image ${old.digest.slice(7, 19)}` });
      expect(planned.get(sbomSig.digest)).toMatchObject({ subject: sbom.digest, reason: expect.stringMatching(/of deleted artifact/) });
      expect(planned.get(armSig.digest)).toMatchObject({ subject: arm.digest, reason: expect.stringMatching(/of deleted platform manifest/) });
      // A kept image's referrers are not looked up at all; each list of two came in two pages.
      const lookups = front.seen.filter((s) => s.includes('/referrers/'));
      expect(lookups.some((s) => s.includes(cur.digest))).toBe(false);
      expect(lookups.filter((s) => s.includes(`/referrers/${old.digest}`))).toEqual([`GET /v2/app/referrers/${old.digest}`, `GET /v2/app/referrers/${old.digest}?page=1`]);

      const before = front.seen.length;
      const r = await runCli(['-r', front.url, '-n', 'app', '-k', '1', '-y', '--output', 'json']);
      expect(r.code).toBe(0);
      for (const gone of [old, multi, ...multi.children, sig, sbom, sbomSig, armSig]) expect(await direct.resolve('app', gone.digest)).toBeNull();
      expect(await direct.isPullable('app', 'cur')).toBe(true);
      expect(await direct.resolve('app', curSig.digest)).toBe(curSig.digest);
      // Each went only after what it refers to, down the chain (every DELETE is in the list: checked first).
      const deletes = front.seen.slice(before).filter((s) => s.startsWith('DELETE '));
      const at = (digest: string) => deletes.indexOf(`DELETE /v2/app/manifests/${digest}`);
      expect(deletes).toHaveLength(8);
      for (const gone of [old, multi, ...multi.children, sig, sbom, sbomSig, armSig]) expect(at(gone.digest)).toBeGreaterThanOrEqual(0);
      for (const follower of [sig, sbom]) expect(at(follower.digest)).toBeGreaterThan(at(old.digest));
      expect(at(sbomSig.digest)).toBeGreaterThan(at(sbom.digest));
      expect(at(arm.digest)).toBeGreaterThan(at(multi.digest));
      expect(at(armSig.digest)).toBeGreaterThan(at(arm.digest));
      expect(JSON.parse(r.stdout).summary).toMatchObject({ deleted: 8, alreadyGone: 0, failed: 0, notAttempted: 0 });
    });
  });

  test('a saved plan: referrers pushed since go too; a platform manifest a new index still uses keeps its own', async () => {
    await withFront(undefined, async (front, p) => {
      const old = await p.pushImage('app', ['old'], { created: day(1), seed: 's1' });
      const multi = await p.pushIndex('app', ['multi'], [{ arch: 'amd64', created: day(2) }, { arch: 'arm64', created: day(2) }], { seed: 's2' });
      await p.pushImage('app', ['cur'], { created: day(3), seed: 's3' });
      const arm = multi.children[1];
      const armSig = await p.pushArtifact('app', arm.digest, [], { seed: 's-arm' });
      const planFile = join(tmp, 'saved.json');
      expect((await runCli(['-r', front.url, '-n', 'app', '-k', '1', '--dry-run', '--plan-out', planFile])).code).toBe(0);

      // Since the plan: a signature of old, and an index of its own (tagged arm) for the arm64 image.
      const lateSig = await p.pushArtifact('app', old.digest, [], { seed: 's-late' });
      const armIndex = { schemaVersion: 2, mediaType: MT.ociIndex, manifests: [{ mediaType: arm.mediaType, digest: arm.digest, size: arm.size, platform: { architecture: 'arm64', os: 'linux' } }] };
      await p.pushManifest('app', MT.ociIndex, Buffer.from(JSON.stringify(armIndex)), ['arm']);

      const r = await runCli(['apply', planFile, '-y', '--output', 'json']);
      expect(r.code).toBe(0);
      for (const gone of [old, lateSig, multi, multi.children[0]]) expect(await direct.resolve('app', gone.digest)).toBeNull();
      expect(await direct.isPullable('app', 'arm')).toBe(true);
      expect(await direct.resolve('app', armSig.digest)).toBe(armSig.digest);
      const repo = JSON.parse(r.stdout).repositories[0];
      expect(repo.keptOnReverify).toEqual([
        { digest: arm.digest, tags: [], reason: expect.stringMatching(/^platform of index .* \(arm\), which stays$/) },
        { digest: armSig.digest, tags: [], reason: `it refers to ${arm.digest}, which is kept` },
      ]);
    });
  });

  test('a saved plan, on a registry without the API: a cosign signature tagged since the plan goes with its image; one of a kept image stays', async () => {
    const sigTag = (digest: string) => `${digest.replace(':', '-')}.sig`;
    const old = await direct.pushImage('app', ['old'], { created: day(1), seed: 'ts1' });
    const cur = await direct.pushImage('app', ['cur'], { created: day(2), seed: 'ts2' });
    const planFile = join(tmp, 'saved-tagged.json');
    expect((await runCli(['-r', reg.url, '-n', 'app', '-k', '1', '--dry-run', '--plan-out', planFile])).code).toBe(0);
    // As cosign pushes without the API: a manifest with no subject, found by its tag alone.
    const lateSig = await direct.pushImage('app', [sigTag(old.digest)], { created: null, seed: 'ts1-sig' });
    const curSig = await direct.pushImage('app', [sigTag(cur.digest)], { created: null, seed: 'ts2-sig' });
    await reg.syncLog();
    reg.clearAccessLog();
    const r = await runCli(['apply', planFile, '-y', '--output', 'json']);
    expect(r.code).toBe(0);
    expect(await direct.resolve('app', old.digest)).toBeNull();
    expect(await direct.resolve('app', lateSig.digest)).toBeNull();
    expect(await direct.tags('app')).toEqual(expect.arrayContaining(['cur', sigTag(cur.digest)]));
    expect(await direct.resolve('app', curSig.digest)).toBe(curSig.digest);
    const deletes = reg.accessEntries().filter((e) => e.method === 'DELETE').map((e) => e.uri.replace('/v2/app/manifests/', ''));
    expect(deletes).toEqual([old.digest, lateSig.digest]);
    expect(JSON.parse(r.stdout).repositories[0].delete).toEqual(expect.arrayContaining([expect.objectContaining({ digest: lateSig.digest, reason: expect.stringMatching(/^signature of deleted image .*, pushed since the plan$/) })]));
  });

  test('a saved plan lists the tags of a repository once, dry run or not: the look for signatures pushed since and re-verification share that list, and each tag is read once', async () => {
    const sigTag = (digest: string) => `${digest.replace(':', '-')}.sig`;
    const old = await direct.pushImage('app', ['old'], { created: day(1), seed: 'once1' });
    await direct.pushImage('app', ['cur'], { created: day(2), seed: 'once2' });
    const planFile = join(tmp, 'saved-once.json');
    expect((await runCli(['-r', reg.url, '-n', 'app', '-k', '1', '--dry-run', '--plan-out', planFile])).code).toBe(0);
    const lateSig = await direct.pushImage('app', [sigTag(old.digest)], { created: null, seed: 'once1-sig' });
    const tagLists = () => reg.accessEntries().filter((e) => e.method === 'GET' && e.uri.startsWith('/v2/app/tags/list'));
    const sigReads = () => reg.accessEntries().filter((e) => e.uri === `/v2/app/manifests/${sigTag(old.digest)}`);
    const named = `app: 1 referrer (signature, SBOM, ...) pushed since the plan goes with what it refers to: ${shortDigest(lateSig.digest)}`;

    await reg.syncLog();
    reg.clearAccessLog();
    const preview = await runCli(['apply', planFile, '--dry-run', '--output', 'json']);
    expect(preview.code).toBe(0);
    expect(tagLists()).toHaveLength(1);
    expect(sigReads()).toHaveLength(1);
    expect(preview.stderr).toContain(named);
    expect((JSON.parse(preview.stdout).repositories[0].delete as PlannedJson[]).map((d) => d.digest)).toEqual([old.digest, lateSig.digest]);

    reg.clearAccessLog();
    const r = await runCli(['apply', planFile, '-y', '--output', 'json']);
    expect(r.code).toBe(0);
    expect(tagLists()).toHaveLength(1);
    expect(sigReads()).toHaveLength(1);
    expect(r.stderr).toContain(named);
    const deletes = reg.accessEntries().filter((e) => e.method === 'DELETE').map((e) => e.uri.replace('/v2/app/manifests/', ''));
    expect(deletes).toEqual([old.digest, lateSig.digest]);
    expect(JSON.parse(r.stdout).summary).toMatchObject({ deleted: 2, failed: 0, notAttempted: 0, keptOnReverify: 0 });
    expect(await direct.resolve('app', old.digest)).toBeNull();
    expect(await direct.resolve('app', lateSig.digest)).toBeNull();
    expect(await direct.tags('app')).toEqual(['cur']);
  });

  test('a saved plan, on a registry without the API: a referrers list tagged sha256-<hex> since the plan goes with its image, and so do the referrers it lists', async () => {
    const old = await direct.pushImage('app', ['old'], { created: day(1), seed: 'tl1' });
    const cur = await direct.pushImage('app', ['cur'], { created: day(2), seed: 'tl2' });
    const planFile = join(tmp, 'saved-list.json');
    expect((await runCli(['-r', reg.url, '-n', 'app', '-k', '1', '--dry-run', '--plan-out', planFile])).code).toBe(0);
    const oldSigned = await signWithReferrersList(old.digest, 'tl-old');
    const curSigned = await signWithReferrersList(cur.digest, 'tl-cur');
    const r = await runCli(['apply', planFile, '-y', '--output', 'json']);
    expect(r.code).toBe(0);
    for (const gone of [old.digest, oldSigned.list, oldSigned.sig.digest]) expect(await direct.resolve('app', gone)).toBeNull();
    for (const kept of [cur.digest, curSigned.list, curSigned.sig.digest]) expect(await direct.resolve('app', kept)).toBe(kept);
    const deleted = new Map((JSON.parse(r.stdout).repositories[0].delete as PlannedJson[]).map((d) => [d.digest, d]));
    expect(deleted.get(oldSigned.sig.digest)).toMatchObject({ subject: old.digest, reason: `referrer listed by ${old.digest.replace(':', '-')}, pushed since the plan` });
  });

  test('a saved plan: an artifact pushed since under a .att tag and also named by a referrers list goes once, with its image', async () => {
    const old = await direct.pushImage('app', ['old'], { created: day(1), seed: 'tw1' });
    await direct.pushImage('app', ['cur'], { created: day(2), seed: 'tw2' });
    const planFile = join(tmp, 'saved-twice.json');
    expect((await runCli(['-r', reg.url, '-n', 'app', '-k', '1', '--dry-run', '--plan-out', planFile])).code).toBe(0);
    const att = await direct.pushImage('app', [`${old.digest.replace(':', '-')}.att`], { created: null, seed: 'tw1-att' });
    const list = { schemaVersion: 2, mediaType: MT.ociIndex, manifests: [{ mediaType: att.mediaType, digest: att.digest, size: att.size }] };
    const listDigest = await direct.pushManifest('app', MT.ociIndex, Buffer.from(JSON.stringify(list)), [old.digest.replace(':', '-')]);
    const r = await runCli(['apply', planFile, '-y', '--output', 'json']);
    expect(r.code).toBe(0);
    const repo = JSON.parse(r.stdout).repositories[0];
    expect(repo.keptOnReverify).toEqual([]);
    expect((repo.delete as PlannedJson[]).filter((d) => d.digest === att.digest)).toHaveLength(1);
    for (const gone of [old.digest, att.digest, listDigest]) expect(await direct.resolve('app', gone)).toBeNull();
    expect(await direct.tags('app')).toEqual(['cur']);
  });

  test('a saved plan: an image signed again since the plan takes its new signature along; the old one, its tag moved, stays', async () => {
    const sigTag = (digest: string) => `${digest.replace(':', '-')}.sig`;
    const old = await direct.pushImage('app', ['old'], { created: day(1), seed: 'rs1' });
    await direct.pushImage('app', ['cur'], { created: day(2), seed: 'rs2' });
    const firstSig = await direct.pushImage('app', [sigTag(old.digest)], { created: null, seed: 'rs1-sig-a' });
    const planFile = join(tmp, 'saved-resigned.json');
    expect((await runCli(['-r', reg.url, '-n', 'app', '-k', '1', '--dry-run', '--plan-out', planFile])).code).toBe(0);
    const secondSig = await direct.pushImage('app', [sigTag(old.digest)], { created: null, seed: 'rs1-sig-b' });
    const r = await runCli(['apply', planFile, '-y', '--output', 'json']);
    expect(r.code).toBe(0);
    for (const gone of [old.digest, secondSig.digest]) expect(await direct.resolve('app', gone)).toBeNull();
    expect(JSON.parse(r.stdout).repositories[0].keptOnReverify).toEqual([expect.objectContaining({ digest: firstSig.digest, reason: expect.stringMatching(/moved since the plan/) })]);
  });

  test('a dry run of a saved plan whose re-verification fails in one repository: that one deletes nothing, the others are shown, and it exits 1 as the apply would', async () => {
    await withFront(undefined, async (front, p) => {
      await p.pushImage('app', ['old'], { created: day(1), seed: 'pv1' });
      await p.pushImage('app', ['cur'], { created: day(2), seed: 'pv2' });
      const lib = await p.pushImage('lib', ['old'], { created: day(1), seed: 'pv3' });
      await p.pushImage('lib', ['cur'], { created: day(2), seed: 'pv4' });
      const planFile = join(tmp, 'saved-preview.json');
      expect((await runCli(['-r', front.url, '-n', '*', '-k', '1', '--dry-run', '--plan-out', planFile])).code).toBe(0);
      front.fault = (method, path) => (method === 'HEAD' && path.startsWith('/v2/app/manifests/') ? 500 : undefined);
      const r = await runCli(['apply', planFile, '--dry-run', '--retries', '0', '--output', 'json']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/app: .*500/);
      expect(r.stderr).toContain('1 repository could not be re-verified: an apply would delete nothing there');
      const doc = JSON.parse(r.stdout);
      expect(doc.errors).toEqual([{ repository: 'app', error: expect.stringMatching(/500/) }]);
      const repos = new Map(doc.repositories.map((x: { name: string }) => [x.name, x]));
      expect(repos.get('app')).toMatchObject({ delete: [] });
      expect((repos.get('app') as { keep: { reason: string }[] }).keep.some((k) => /^re-verification failed: /.test(k.reason))).toBe(true);
      expect((repos.get('lib') as { delete: { digest: string }[] }).delete.map((d) => d.digest)).toEqual([lib.digest]);

      // The apply itself names it under `errors` too, and deletes in the other repository.
      const applied = await runCli(['apply', planFile, '-y', '--retries', '0', '--output', 'json']);
      expect(applied.code).toBe(1);
      expect(JSON.parse(applied.stdout).errors).toEqual([{ repository: 'app', error: expect.stringMatching(/500/) }]);
      expect(await direct.resolve('lib', lib.digest)).toBeNull();
      expect((await direct.tags('app'))?.sort()).toEqual(['cur', 'old']);
    });
  });

  test('a saved plan whose first repository is gone since: the others still look for new referrers', async () => {
    await withFront(undefined, async (front, p) => {
      for (const repo of ['a-gone', 'app']) {
        await p.pushImage(repo, ['old'], { created: day(1), seed: `${repo}1` });
        await p.pushImage(repo, ['cur'], { created: day(2), seed: `${repo}2` });
      }
      const planFile = join(tmp, 'two.json');
      expect((await runCli(['-r', front.url, '-n', '*', '-k', '1', '--dry-run', '--plan-out', planFile])).code).toBe(0);
      const old = await direct.resolve('app', 'old');
      const lateSig = await p.pushArtifact('app', old!, [], { seed: 'gone-late' });
      // A registry with the API answers NAME_UNKNOWN for a repository it no longer has. Repositories take the
      // request limit in plan order, so a-gone's lookup is the first (checked below): the one that finds out.
      front.fault = (_, path) => (path.startsWith('/v2/a-gone/') ? { status: 404, code: 'NAME_UNKNOWN' } : undefined);
      const before = front.seen.length;
      const r = await runCli(['apply', planFile, '-y']);
      expect(front.seen.slice(before).find((s) => s.includes('/referrers/'))).toMatch(/^GET \/v2\/a-gone\/referrers\//);
      expect(r.code).toBe(0);
      expect(await direct.resolve('app', old!)).toBeNull();
      expect(await direct.resolve('app', lateSig.digest)).toBeNull();
    });
  });

  test('a saved plan whose referrers lookup fails (500): the apply stops before any DELETE', async () => {
    await withFront(undefined, async (front, p) => {
      const old = await p.pushImage('app', ['old'], { created: day(1), seed: 'q1' });
      await p.pushImage('app', ['cur'], { created: day(2), seed: 'q2' });
      const planFile = join(tmp, 'failing.json');
      expect((await runCli(['-r', front.url, '-n', 'app', '-k', '1', '--dry-run', '--plan-out', planFile])).code).toBe(0);
      front.fault = (_, path) => (path.includes('/referrers/') ? 500 : undefined);
      const r = await runCli(['apply', planFile, '-y', '--retries', '0']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`list referrers of app@${old.digest}: the registry answered HTTP 500`);
      expect(front.seen.filter((s) => s.startsWith('DELETE '))).toEqual([]);
      expect(await direct.resolve('app', old.digest)).toBe(old.digest);
    });
  });

  test('a referrer of a platform manifest waits for that manifest: when its DELETE fails, the referrer is not attempted', async () => {
    await withFront(undefined, async (front, p) => {
      const multi = await p.pushIndex('app', ['multi'], [{ arch: 'amd64', created: day(1) }, { arch: 'arm64', created: day(1) }], { seed: 'w1' });
      await p.pushImage('app', ['cur'], { created: day(3), seed: 'w3' });
      const arm = multi.children[1];
      const armSig = await p.pushArtifact('app', arm.digest, [], { seed: 'w-arm' });
      front.fault = (method, path) => (method === 'DELETE' && path.endsWith(arm.digest) ? 500 : undefined);
      const r = await runCli(['-r', front.url, '-n', 'app', '-k', '1', '-y', '--retries', '0', '--output', 'json']);
      expect(r.code).toBe(1);
      expect(await direct.resolve('app', multi.digest)).toBeNull();
      expect(await direct.resolve('app', armSig.digest)).toBe(armSig.digest);
      const repo = JSON.parse(r.stdout).repositories[0];
      expect(repo.failed.map((f: { digest: string }) => f.digest)).toEqual([arm.digest]);
      expect(repo.notAttempted).toEqual([{ digest: armSig.digest, tags: [], reason: `it follows ${arm.digest}, which was not deleted` }]);
    });
  });

  test('cleanreg delete: the referrers of a named image go after it, level by level; when its DELETE fails they are not attempted', async () => {
    await withFront(1, async (front, p) => {
      const old = await p.pushImage('app', ['old'], { created: day(1), seed: 'x1' });
      const cur = await p.pushImage('app', ['cur'], { created: day(2), seed: 'x2' });
      const sig = await p.pushArtifact('app', old.digest, [], { seed: 'x-sig' });
      const sbom = await p.pushArtifact('app', old.digest, [], { seed: 'x-sbom', artifactType: 'application/spdx+json' });
      const sbomSig = await p.pushArtifact('app', sbom.digest, [], { seed: 'x-sbom-sig' });
      const curSig = await p.pushArtifact('app', cur.digest, [], { seed: 'x-cur-sig' });
      const chain = [old.digest, sig.digest, sbom.digest, sbomSig.digest];

      front.fault = (method, path) => (method === 'DELETE' && path.endsWith(old.digest) ? 500 : undefined);
      const failed = await runCli(['delete', '-r', front.url, 'app:old', '-y', '--retries', '0', '--output', 'json']);
      expect(failed.code).toBe(1);
      const rows = JSON.parse(failed.stdout).references as { digest: string; follows: string | null; status: string; detail: string }[];
      expect(new Map(rows.map((x) => [x.digest, x.status]))).toEqual(new Map([[old.digest, 'failed'], [sig.digest, 'not-attempted'], [sbom.digest, 'not-attempted'], [sbomSig.digest, 'not-attempted']]));
      expect(rows.find((x) => x.digest === sbomSig.digest)).toMatchObject({ follows: sbom.digest, detail: `it follows ${sbom.digest}, which was not deleted` });
      for (const digest of chain) expect(await direct.resolve('app', digest)).toBe(digest);

      front.fault = undefined;
      const done = await runCli(['delete', '-r', front.url, 'app:old', '-y', '--output', 'json']);
      expect(done.code).toBe(0);
      expect(JSON.parse(done.stdout).summary).toMatchObject({ references: 1, alongside: 3, deleted: 4 });
      for (const digest of chain) expect(await direct.resolve('app', digest)).toBeNull();
      expect(await direct.resolve('app', curSig.digest)).toBe(curSig.digest);
      const deletes = front.seen.filter((x) => x.startsWith('DELETE ')).map((x) => x.slice(x.lastIndexOf('/') + 1));
      const at = (digest: string) => deletes.lastIndexOf(digest);
      expect(at(sig.digest)).toBeGreaterThan(at(old.digest));
      expect(at(sbomSig.digest)).toBeGreaterThan(at(sbom.digest));
    });
  });

  test('a referrers list that breaks after its first page (404) fails the plan; it is not taken as empty', async () => {
    await withFront(1, async (front, p) => {
      const old = await p.pushImage('app', ['old'], { created: day(1), seed: 'b1' });
      await p.pushImage('app', ['cur'], { created: day(2), seed: 'b2' });
      const sigs = [await p.pushArtifact('app', old.digest, [], { seed: 'b-sig1' }), await p.pushArtifact('app', old.digest, [], { seed: 'b-sig2' })];
      front.fault = (_, path) => (path.endsWith('?page=1') ? 404 : undefined);
      const r = await runCli(['-r', front.url, '-n', 'app', '-k', '1', '-y', '--retries', '0']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`list referrers of app@${old.digest}`);
      for (const kept of [old, ...sigs]) expect(await direct.resolve('app', kept.digest)).toBe(kept.digest);
    });
  });

  test('a listed referrer without a valid digest is left alone with a warning, never put in a request path', async () => {
    await withFront(undefined, async (front, p) => {
      const old = await p.pushImage('app', ['old'], { created: day(1), seed: 'x1' });
      await p.pushImage('app', ['cur'], { created: day(2), seed: 'x2' });
      const sig = await p.pushArtifact('app', old.digest, [], { seed: 'x-sig' });
      front.extraReferrers = (subject) => (subject === old.digest ? [{ mediaType: MT.ociManifest, digest: '../../_catalog', size: 1 }, { mediaType: MT.ociManifest, size: 1 }] : []);
      const r = await runCli(['-r', front.url, '-n', 'app', '-k', '1', '-y']);
      expect(r.code).toBe(0);
      expect(r.stderr.match(/the registry lists a referrer of [0-9a-f]{12} without a valid digest; left alone/g)).toHaveLength(2);
      for (const gone of [old, sig]) expect(await direct.resolve('app', gone.digest)).toBeNull();
      expect(front.seen.filter((s) => s.includes('_catalog') || s.includes('undefined'))).toEqual([]);
    });
  });

  test('a lookup answered 500 fails the plan of that repository: nothing is deleted', async () => {
    await withFront(undefined, async (front, p) => {
      const v1 = await p.pushImage('app', ['v1'], { created: day(1), seed: 'f1' });
      const v2 = await p.pushImage('app', ['v2'], { created: day(2), seed: 'f2' });
      await p.pushImage('app', ['v3'], { created: day(3), seed: 'f3' });
      const sig = await p.pushArtifact('app', v1.digest, [], { seed: 'fsig' });
      // The first lookup (which finds out whether the API is there) or a later one.
      for (const subject of ['sha256:', v2.digest]) {
        front.fault = (_, path) => (path.includes(`/referrers/${subject}`) ? 500 : undefined);
        const r = await runCli(['-r', front.url, '-n', 'app', '-k', '1', '-y', '--retries', '0']);
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/list referrers of app@sha256:[0-9a-f]{64}: the registry answered HTTP 500/);
        for (const kept of [v1, v2, sig]) expect(await direct.resolve('app', kept.digest)).toBe(kept.digest);
      }
      expect(front.seen.filter((s) => s.startsWith('DELETE '))).toEqual([]);
    });
  });

  test('a registry that refuses the API (403) is warned about, and the plan goes on without referrers', async () => {
    await withFront(undefined, async (front, p) => {
      const v1 = await p.pushImage('app', ['v1'], { created: day(1), seed: 'g1' });
      await p.pushImage('app', ['v2'], { created: day(2), seed: 'g2' });
      const sig = await p.pushArtifact('app', v1.digest, [], { seed: 'gsig' });
      front.fault = (_, path) => (path.includes('/referrers/') ? 403 : undefined);
      const r = await runCli(['-r', front.url, '-n', 'app', '-k', '1', '-y']);
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/refused the OCI referrers API \(access denied \(403.*untagged signatures and SBOMs of deleted images are not looked for/);
      expect(await direct.resolve('app', v1.digest)).toBeNull();
      expect(await direct.resolve('app', sig.digest)).toBe(sig.digest);
      expect(front.seen.filter((s) => s.includes('/referrers/'))).toHaveLength(1);
    });
  });

  test('without the API, the referrers tag schema (notation, oras): the index tagged sha256-<hex> and the referrers it lists go with the image', async () => {
    const old = await direct.pushImage('app', ['v1'], { created: day(1), seed: 't1' });
    const cur = await direct.pushImage('app', ['v2'], { created: day(2), seed: 't2' });
    const oldSigned = await signWithReferrersList(old.digest, 't-old');
    const curSigned = await signWithReferrersList(cur.digest, 't-cur');
    const r = await runCli(['-r', reg.url, '-n', 'app', '-k', '1', '-y']);
    expect(r.code).toBe(0);
    for (const gone of [old.digest, oldSigned.list, oldSigned.sig.digest]) expect(await direct.resolve('app', gone)).toBeNull();
    for (const kept of [cur.digest, curSigned.list, curSigned.sig.digest]) expect(await direct.resolve('app', kept)).toBe(kept);
    expect(r.stdout).toMatch(/referrer listed by deleted sha256-/);
  });

  test('without the API (distribution 2.8 itself), one probe finds out and no further lookup is made', async () => {
    for (let i = 1; i <= 4; i++) await direct.pushImage(`repo${i % 2}`, [`v${i}`], { created: day(i), seed: `n${i}` });
    await reg.syncLog();
    const before = reg.accessEntries().length;
    const r = await runCli(['-r', reg.url, '-n', 'repo*', '-k', '1', '--dry-run', '--output', 'json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).summary.imagesToDelete).toBe(2);
    const probes = reg.accessEntries().slice(before).filter((e) => e.uri.includes('/referrers/'));
    expect(probes.map((e) => e.status)).toEqual([404]);
  });
});
