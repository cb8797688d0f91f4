/** The core job on real distribution registries: keep-N, shared digests, -i, -k 0, multi-arch, dates, dry-run, GC. */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { CLI_PATH, runBuiltCli, runCli } from '../helpers/cli.js';
import { registryPerTest } from '../helpers/fixture.js';
import { ImagePusher } from '../helpers/images.js';
import { startRegistry, stopAllRegistries, type TestRegistry } from '../helpers/registry.js';
import { VERSION } from '../../src/version.js';

afterAll(stopAllRegistries);

const day = (n: number) => new Date(Date.UTC(2024, 0, 1 + n)).toISOString();
const tmp = mkdtempSync(join(tmpdir(), 'cleanreg-core-'));
const notPem = join(tmp, 'not.pem');
writeFileSync(notPem, 'not a certificate\n');
/** Looks like a certificate, but OpenSSL cannot read it. */
const brokenPem = join(tmp, 'broken.pem');
writeFileSync(brokenPem, '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n');

describe('keep-N on a plain registry', () => {
  let reg: TestRegistry;
  let p: ImagePusher;

  registryPerTest((r, q) => ((reg = r), (p = q)));

  /** demo/nginx: v1..v5 by day, v5 also tagged latest. */
  async function seedNginx() {
    const images = [];
    for (let i = 1; i <= 5; i++) images.push(await p.pushImage('demo/nginx', i === 5 ? ['v5', 'latest'] : [`v${i}`], { created: day(i), seed: `nginx${i}` }));
    return images;
  }

  test('keeps the newest N images (not tags) in a nested repository and deletes the rest', async () => {
    const images = await seedNginx();
    const r = await runCli(['-r', reg.url, '-n', 'demo/nginx', '-k', '2', '-y']);
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    expect((await p.tags('demo/nginx'))?.sort()).toEqual(['latest', 'v4', 'v5']);
    for (const i of [0, 1, 2]) expect(await p.resolve('demo/nginx', images[i].digest)).toBeNull();
    expect(r.stdout).toMatch(/Deleted 3 images/);
    // Every request of cleanreg names it in the registry's access log (the test's pusher sends no User-Agent).
    const agents = new Set(reg.accessEntries().filter((e) => e.userAgent !== '').map((e) => e.userAgent));
    expect([...agents]).toEqual([`cleanreg/${VERSION}`]);
  });

  test('--dry-run deletes nothing; --output json is one document on stdout', async () => {
    await seedNginx();
    const r = await runCli(['-r', reg.url, '-n', 'demo/nginx', '-k', '2', '--dry-run', '--output', 'json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.registry).toBe(reg.url);
    expect(doc.repositories).toHaveLength(1);
    const repo = doc.repositories[0];
    expect(repo.name).toBe('demo/nginx');
    expect(repo.keep.map((i: { tags: string[] }) => i.tags)).toEqual(expect.arrayContaining([['latest', 'v5'], ['v4']]));
    expect(repo.delete).toHaveLength(3);
    for (const image of [...repo.keep, ...repo.delete]) expect(image).toEqual(expect.objectContaining({ digest: expect.stringMatching(/^sha256:/), created: expect.any(String), reason: expect.any(String) }));
    expect(doc.summary).toMatchObject({ imagesToDelete: 3, tagsToDelete: 3 });
    expect((await p.tags('demo/nginx'))?.length).toBe(6);
  });

  test('-k 0 deletes every image, and the emptied repository is reported', async () => {
    await seedNginx();
    const r = await runCli(['-r', reg.url, '-n', 'demo/nginx', '-k', '0', '-y']);
    expect(r.code).toBe(0);
    expect(await p.tags('demo/nginx')).toBeNull();
    expect(r.stderr).toMatch(/without tags.*demo\/nginx/);
    expect(r.stderr).toMatch(/prune-empty/);
  });

  test('--output json of an apply names the repositories it emptied', async () => {
    await seedNginx();
    await p.pushImage('app', ['1', '2'], { created: day(1), seed: 'json-emptied' });
    const r = await runCli(['-r', reg.url, '-n', '**', '-k', '0', '--exclude', '2', '-y', '--output', 'json']);
    expect(r.code).toBe(0);
    const { summary } = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ failed: 0, emptiedRepositories: ['demo/nginx'] });
    expect(summary.deleted).toBeGreaterThan(0);
    expect((await p.tags('app'))?.sort()).toEqual(['1', '2']);
  });

  test('a digest with several tags counts once; -i leaves it alone', async () => {
    const shared = await p.pushImage('app', ['1.0', 'stable', 'prod'], { created: day(1), seed: 'shared' });
    await p.pushImage('app', ['2.0'], { created: day(2), seed: 'a2' });
    await p.pushImage('app', ['3.0'], { created: day(3), seed: 'a3' });

    const withI = await runCli(['-r', reg.url, '-n', 'app', '-k', '1', '-i', '-y']);
    expect(withI.code).toBe(0);
    expect((await p.tags('app'))?.sort()).toEqual(['1.0', '3.0', 'prod', 'stable']);
    expect(withI.stdout).toMatch(/-i\/--ignore-ref-tags/);

    const without = await runCli(['-r', reg.url, '-n', 'app', '-k', '1', '-y']);
    expect(without.code).toBe(0);
    expect(await p.tags('app')).toEqual(['3.0']);
    expect(await p.resolve('app', shared.digest)).toBeNull();
  });

  test('an image without a creation date is kept and takes no keep slot', async () => {
    await p.pushImage('undated', ['old'], { created: day(1), seed: 'u1' });
    await p.pushImage('undated', ['new'], { created: day(2), seed: 'u2' });
    await p.pushImage('undated', ['mystery'], { created: null, seed: 'u3' });
    const r = await runCli(['-r', reg.url, '-n', 'undated', '-k', '1', '-y']);
    expect(r.code).toBe(0);
    expect((await p.tags('undated'))?.sort()).toEqual(['mystery', 'new']);
    expect(r.stdout).toMatch(/unknown age/);
  });

  test('multi-arch indexes: age from the newest child, the kept index stays pullable after garbage collection', async () => {
    const oldIndex = await p.pushIndex('multi', ['1.0'], [
      { arch: 'amd64', created: day(1), seed: 'm1a' },
      { arch: 'arm64', created: day(2), seed: 'm1b' },
    ]);
    // Its amd64 child is older than 1.0's arm64 child, but its arm64 child is the newest of all.
    const newIndex = await p.pushIndex('multi', ['2.0'], [
      { arch: 'amd64', created: day(0), seed: 'm2a' },
      { arch: 'arm64', created: day(9), seed: 'm2b' },
    ], { kind: 'docker' });
    await p.pushImage('multi', ['single'], { created: day(5), seed: 'm3' });

    const r = await runCli(['-r', reg.url, '-n', 'multi', '-k', '1', '-y']);
    expect(r.code).toBe(0);
    expect(await p.tags('multi')).toEqual(['2.0']);
    expect(await p.resolve('multi', oldIndex.digest)).toBeNull();

    await reg.stop();
    await reg.garbageCollect();
    await reg.restart();
    expect(await p.resolve('multi', '2.0')).toBe(newIndex.digest);
    expect(await p.isPullable('multi', '2.0')).toBe(true);
  });

  test('repos.conf in cleanreg format with comments and blank lines', async () => {
    await seedNginx();
    await p.pushImage('tools', ['a'], { created: day(1), seed: 't1' });
    await p.pushImage('tools', ['b'], { created: day(2), seed: 't2' });
    const file = join(tmp, 'repos.conf');
    writeFileSync(file, '# repositories to clean\n\ndemo/nginx   3   # keep three\n\ttools\t1\n');
    const r = await runCli(['-r', reg.url, '-f', file, '-y']);
    expect(r.code).toBe(0);
    expect((await p.tags('demo/nginx'))?.sort()).toEqual(['latest', 'v3', 'v4', 'v5']);
    expect(await p.tags('tools')).toEqual(['b']);
  });

  test('the password from CLEANREG_PASSWORD is not needed on a plain registry and is never printed', async () => {
    await seedNginx();
    const r = await runCli(['-r', reg.url, '-n', 'demo/nginx', '-k', '4', '-y', '-vvv'], { env: { CLEANREG_USERNAME: 'bob', CLEANREG_PASSWORD: 's3cr3t-Pa55' } });
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).not.toContain('s3cr3t-Pa55');
    expect(r.stdout + r.stderr).not.toContain(Buffer.from('bob:s3cr3t-Pa55').toString('base64'));
  });
});

describe('refusals and failures delete nothing', () => {
  let reg: TestRegistry;
  let p: ImagePusher;

  beforeEach(async () => {
    reg = await startRegistry();
    p = new ImagePusher({ url: reg.url });
    await p.pushImage('app', ['old'], { created: day(1), seed: 'r1' });
    await p.pushImage('app', ['new'], { created: day(2), seed: 'r2' });
  });
  afterEach(async () => {
    p.close();
    await reg.stop();
  });

  const untouched = async () => expect((await p.tags('app'))?.sort()).toEqual(['new', 'old']);
  const deletes = () => reg.accessEntries().filter((e) => e.method === 'DELETE').length;

  test('no --yes and no terminal: exit 2 and a hint', async () => {
    const r = await runBuiltCli(['-r', reg.url, '-n', 'app', '-k', '1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no terminal/);
    expect(r.stderr).toMatch(/--yes/);
    await untouched();
  });

  test('-q still means yes, with a deprecation warning; -pw works as a two-letter option', async () => {
    const r = await runBuiltCli(['-r', reg.url, '-n', 'app', '-k', '1', '-q', '-u', 'x', '-pw', 'topsecret']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/deprecated/);
    expect(r.stderr + r.stdout).not.toContain('topsecret');
    expect(await p.tags('app')).toEqual(['new']);
  });

  test('values attached to short options work as with cleanreg.py (-rURL read as -r -h showed the help, exit 0)', async () => {
    const r = await runCli([`-r${reg.url}`, '-napp', '-k1', '-y']);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(/Options:/);
    expect(await p.tags('app')).toEqual(['new']);
  });

  test.each([
    [['-n', 'app'], /-k/],
    [['-n', 'app', '-k', 'x'], /--keepimages: invalid number of images to keep "x"/],
    // As in a repos file: a whole number, written as one.
    [['-n', 'app', '-k', '3.0'], /--keepimages: invalid number of images to keep "3.0"/],
    [['-n', 'app', '-k', '+3'], /--keepimages: invalid number of images to keep "\+3"/],
    [['-n', 'app', '-k'], /error: -k needs a value \(one that begins with "-" is written -k=VALUE\)/],
    [['-n', '-k', '5'], /error: -n needs a value/],
    // A regex that begins with "-" is read as an option unless written with "=": the message says so.
    [['-n', 'app', '-k', '1', '--exclude', '-rc.*'], /error: --exclude needs a value \(one that begins with "-" is written --exclude=VALUE\)/],
    [['-n', 'app', '-k', '1', '-w', 'many'], /-w\/--metadata-workers must be a whole number from 1 to 256, not many/],
    [['-n', 'app', '-k', '1', '--retries', 'some'], /--retries must be a whole number, 0 or more, not some/],
    [['-n', 'app', '-k', '1', '--timeout', '3000000'], /--timeout must be at most 2147483 seconds \(about 24 days\), not 3000000/],
    [['-n', 'app', '-k', '-1'], /keep/],
    [['-n', 'app', '-k', '1', '-f', 'repos.conf'], /-f.*-n|-n.*-f/],
    [['-n', 'App', '-k', '1'], /invalid repository name/],
    [['-n', 'app', '-k', '1', '--exclude', '('], /--exclude.*regular expression/],
    [['-n', 'app', '-k', '0', '--exclude', ''], /--exclude: empty pattern: it would match no tag \(protect nothing\)/],
    [['-n', 'app', '-k', '0', '--include', ' '], /--include: empty pattern/],
    [['-n', 'app', '-k', '0x2'], /--keepimages: invalid number of images to keep "0x2"/],
    [['-n', 'app', '-k', '1e1'], /--keepimages: invalid number of images to keep "1e1"/],
    [['-n', 'app', '-k', '1', '-w', '0x10'], /-w\/--metadata-workers must be a whole number from 1 to 256, not 0x10/],
    [['-n', 'app', '-k', '1', '--before', 'last tuesday'], /--before.*invalid date/],
    [['-n', 'app', '-k', '1', '--older-than', '3 parsecs'], /--older-than.*invalid age/],
    [['-n', 'app', '-k', '1', '--after', '2024-06-01', '--before', '2024-06-01'], /--after: the date window is empty/],
    [['-n', 'app', '-k', '1', '--older-than', '2w', '--newer-than', '14d'], /--newer-than: the date window is empty/],
    [['-n', 'app', '-k', '1', '-w', '0'], /metadata-workers/],
    [['-n', 'app', '-k', '1', '--bogus'], /unknown argument: bogus/],
    [['-n', 'app', '-k', '1', '-c', notPem], /-c\/--cacert .*no PEM certificate/],
    [['-n', 'app', '-k', '1', '-c', brokenPem], /-c\/--cacert .*broken\.pem: a certificate in it cannot be read/],
    [['-n', 'app', '-k', '1', '--cert', notPem, '--key', notPem], /--cert\/--key cannot be used/],
    // Given twice, yargs makes a list: two --exclude became the one regex "new,old", which protected nothing.
    [['-n', 'app', '-k', '0', '--exclude', 'new', '--exclude', 'old'], /--exclude given more than once: give each once \(one REGEX can match several tags: a\|b\)/],
    [['-n', 'app', '-n', 'other', '-k', '1'], /--reponame given more than once/],
    [['-n', 'app', '-k', '1', '-k', '2'], /--keepimages given more than once/],
    [['-n', 'app', '-k', '1', '--before', '2024-06-01', '--before', '2024-05-01', '--shard', '0/2', '--shard', '1/2'], /--before, --shard given more than once/],
    [['-n', 'app', '-k', '1', '-u', 'a', '--username', 'b'], /error: --basicauth-user given more than once: give each once\n/],
    [['-n', 'app', '-k', '0', '--exclude.a', 'new'], /unknown argument: exclude\.a/],
    // Two options given twice with the same values are named apart.
    [['-n', 'app', '-k', '0', '--include', 'a', '--include', 'b', '--exclude', 'a', '--exclude', 'b'], /error: --include, --exclude given more than once/],
    // A value missing or empty would read as no option at all: an unsharded run, no plan written (and -y deletes).
    [['-n', 'app', '-k', '1', '--shard'], /error: --shard needs a value/],
    [['-n', 'app', '-k', '1', '--shard', '-1/2'], /--shard must be I\/N with 0 <= I < N \(e\.g\. 0\/4\), not "-1\/2"/],
    [['-n', 'app', '-k', '1', '--shard='], /error: --shard given an empty value\n/],
    [['-n', 'app', '-k', '1', '--plan-out', ''], /error: --plan-out given an empty value\n/],
    [['-n', 'app', '-k', '1', '-u', ''], /error: --basicauth-user given an empty value\n/],
    [['-n', 'app', '-k', '1', '--older-than', '-5d'], /--older-than: invalid age "-5d"/],
  ])('usage error %j → exit 2', async (args, message) => {
    const r = await runCli(['-r', reg.url, ...args, '-y']);
    expect(r.stderr).toMatch(message);
    expect(r.code).toBe(2);
    expect(deletes()).toBe(0);
    await untouched();
  });

  test('counted options may be given again: -vv, --verbose --verbose', async () => {
    for (const verbose of [['-vv'], ['--verbose', '--verbose'], ['-v', '-v']]) {
      const r = await runCli(['-r', reg.url, '-n', 'app', '-k', '1', '--dry-run', ...verbose]);
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/app: 2 tags, 1 manifest kept, 1 to delete/);
    }
  });

  test('a key given twice on a repos.conf line is an error of that line, not the last one winning', async () => {
    const file = join(tmp, 'twice.conf');
    writeFileSync(file, 'app 0 exclude=new exclude=old\n');
    const r = await runCli(['-r', reg.url, '-f', file, '-y']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file}:1: exclude is given twice: give it once (one regex can match several tags: a|b)`);
    expect(deletes()).toBe(0);
    await untouched();
  });

  test('a reader that goes away (cleanreg … | head) stops the run quietly, before any deletion: exit 141', async () => {
    const child = spawn(process.execPath, [CLI_PATH, '-r', reg.url, '-n', 'app', '-k', '0', '-y', '--no-cache'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy(); // the read end closes before cleanreg writes its plan
    let stderr = '';
    child.stderr.on('data', (c) => (stderr += c));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(141);
    expect(stderr).not.toMatch(/EPIPE|Unhandled|internal error/);
    expect(deletes()).toBe(0);
    await untouched();
  });

  test('a malformed repos.conf names the file and line, before any request', async () => {
    const file = join(tmp, 'bad.conf');
    writeFileSync(file, '# ok\napp 1\n\nother five\n');
    await reg.syncLog();
    const before = reg.accessEntries().length;
    const r = await runCli(['-r', reg.url, '-f', file, '-y']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file}:4`);
    expect(reg.accessEntries().length - before).toBe(0);
    await untouched();
  });

  test('a bad URL is a usage error', async () => {
    for (const url of ['ftp://127.0.0.1', 'http://exa mple', `${reg.url}/?token=abc`, `${reg.url}#x`]) {
      const r = await runCli(['-r', url, '-n', 'app', '-k', '1', '-y']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/invalid registry URL/);
    }
  });

  test('connection refused names the URL', async () => {
    const r = await runCli(['-r', 'http://127.0.0.1:9', '-n', 'app', '-k', '1', '-y', '--retries', '0']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/could not connect to http:\/\/127\.0\.0\.1:9/);
  });

  test('a repos.conf naming a repository the registry lacks: the others are cleaned, exit 1', async () => {
    const file = join(tmp, 'ghost.conf');
    writeFileSync(file, 'ghost/repo 1\napp 1\n');
    const dry = await runCli(['-r', reg.url, '-f', file, '--dry-run', '--output', 'json']);
    expect(dry.code).toBe(1);
    // The JSON document names it too, as `list` does.
    expect(JSON.parse(dry.stdout).errors).toEqual([{ repository: 'ghost/repo', error: expect.stringMatching(/repository "ghost\/repo" not found/) }]);
    const r = await runCli(['-r', reg.url, '-f', file, '-y']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/repository "ghost\/repo" not found/);
    expect(await p.tags('app')).toEqual(['new']);
  });

  test('empty credential variables (as CI sets unavailable secrets) count as unset', async () => {
    const r = await runCli(['-r', reg.url, '-n', 'app', '-k', '1', '--dry-run'], { env: { CLEANREG_USERNAME: '', CLEANREG_PASSWORD: '' } });
    expect(r.code).toBe(0);
    await untouched();
  });

  test('a config that cannot be read while the tags are still being walked: that repository is reported, nothing is deleted', async () => {
    // b0's config blob is gone from the storage; with -w 1 its GET fails while b1..b7 are still being read.
    const broken = [];
    for (let i = 0; i < 8; i++) broken.push(await p.pushImage('broken', [`b${i}`], { created: day(i), seed: `broken${i}` }));
    const hex = broken[0].configDigest.slice('sha256:'.length);
    rmSync(join(reg.dataDir, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex), { recursive: true });
    const file = join(tmp, 'broken.conf');
    writeFileSync(file, 'broken 1\napp 1\n');
    // The built CLI, not runCli: a rejection nobody handles ends a real process, not a test's.
    const r = await runBuiltCli(['-r', reg.url, '-f', file, '-w', '1', '-y']);
    expect(r.stderr).not.toMatch(/internal error|Unhandled/i);
    expect(r.stderr).toMatch(/broken: get blob sha256:\w+ of broken: not found/);
    expect(r.code).toBe(1);
    expect(deletes()).toBe(0);
    await untouched();
    expect((await p.tags('broken'))?.length).toBe(8);
  });

  test('an unknown repository is named, exit 1', async () => {
    const r = await runCli(['-r', reg.url, '-n', 'nope/missing', '-k', '1', '-y']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/repository "nope\/missing" not found/);
    await untouched();
    // With --output json, the document is still there, empty, and says why.
    const json = await runCli(['-r', reg.url, '-n', 'nope/missing', '-k', '1', '--dry-run', '--output', 'json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ repositories: [], errors: [{ repository: 'nope/missing', error: expect.stringMatching(/not found/) }], summary: { imagesToDelete: 0 } });
  });
});

describe('deletion disabled', () => {
  test('405 says how to enable deletion, exit 1, nothing deleted', async () => {
    const reg = await startRegistry({ deleteEnabled: false });
    const p = new ImagePusher({ url: reg.url });
    await p.pushImage('app', ['old'], { created: day(1), seed: 'd1' });
    await p.pushImage('app', ['mid'], { created: day(2), seed: 'd2' });
    await p.pushImage('app', ['new'], { created: day(3), seed: 'd3' });
    const r = await runCli(['-r', reg.url, '-n', 'app', '-k', '1', '-y']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/deletion is disabled/);
    // Said once, after the report, with what stopped the apply.
    expect(r.stderr.match(/REGISTRY_STORAGE_DELETE_ENABLED=true/g)).toHaveLength(1);
    expect(r.stderr).toMatch(/stopped: no further deletion was attempted\nhint: enable it with REGISTRY_STORAGE_DELETE_ENABLED=true/);
    // After the first 405 no further DELETE is sent.
    expect(reg.accessEntries().filter((e) => e.method === 'DELETE')).toHaveLength(1);
    expect((await p.tags('app'))?.sort()).toEqual(['mid', 'new', 'old']);

    // The image tried names the 405 and failed; each other is reported as not attempted, under its own digest,
    // also in a repository after the stop.
    // lib's old and mid are the same images as app's (same digests): whichever app tried, lib did not.
    await p.pushImage('lib', ['old'], { created: day(1), seed: 'd1' });
    await p.pushImage('lib', ['mid'], { created: day(2), seed: 'd2' });
    await p.pushImage('lib', ['new'], { created: day(3), seed: 'd5' });
    const json = await runCli(['-r', reg.url, '-n', '*', '-k', '1', '-y', '--output', 'json', '-w', '1']);
    expect(json.code).toBe(1);
    type Entry = { digest: string; error?: string; reason?: string };
    const doc = JSON.parse(json.stdout) as { repositories: { name: string; deleted: unknown[]; keptOnReverify: unknown[]; failed: Entry[]; notAttempted: Entry[] }[]; summary: Record<string, unknown> };
    expect(doc.repositories.map((r) => [r.name, r.deleted, r.keptOnReverify, r.failed.length, r.notAttempted.length])).toEqual([['app', [], [], 1, 1], ['lib', [], [], 0, 2]]);
    expect(doc.summary).toMatchObject({ deleted: 0, failed: 1, notAttempted: 3 });
    const tried = doc.repositories[0].failed[0];
    expect(tried.error).toContain(`app@${tried.digest}: deletion is disabled`);
    const others = doc.repositories.flatMap((r) => r.notAttempted);
    for (const o of others) expect(o.reason).toMatch(/^deletion is disabled on this registry \(405/);
    expect(others.some((o) => o.reason!.includes('sha256:'))).toBe(false);

    await reg.syncLog();
    reg.clearAccessLog();
    const table = await runCli(['-r', reg.url, '-n', '*', '-k', '1', '-y']);
    expect(table.code).toBe(1);
    // After the 405 in app, lib is not even re-read: its tags were listed once, by the scan.
    await reg.syncLog();
    expect(reg.accessEntries().filter((e) => e.method === 'GET' && e.uri.startsWith('/v2/lib/tags/list'))).toHaveLength(1);
    expect(table.stdout).toMatch(/^lib: (old|mid): not attempted \(deletion is disabled on this registry/m);
    expect(table.stdout).toMatch(/Deleted 0 images, 1 failed, 3 manifests not attempted\./);
    p.close();
    await reg.stop();
  });
});

describe('deletion disabled, with a signature', () => {
  test('the signature of the image whose DELETE failed is not attempted: it follows that image', async () => {
    const reg = await startRegistry({ deleteEnabled: false });
    const p = new ImagePusher({ url: reg.url });
    const old = await p.pushImage('app', ['old'], { created: day(1), seed: 'f1' });
    await p.pushImage('app', ['new'], { created: day(2), seed: 'f2' });
    const sig = await p.pushArtifact('app', old.digest, [`${old.digest.replace(':', '-')}.sig`]);
    const r = await runCli(['-r', reg.url, '-n', 'app', '-k', '1', '-y', '--output', 'json']);
    expect(r.code).toBe(1);
    const repo = JSON.parse(r.stdout).repositories[0];
    expect(repo.failed.map((f: { digest: string }) => f.digest)).toEqual([old.digest]);
    expect(repo.notAttempted).toEqual([{ digest: sig.digest, tags: [`${old.digest.replace(':', '-')}.sig`], reason: `it follows ${old.digest}, which was not deleted` }]);
    expect(reg.accessEntries().filter((e) => e.method === 'DELETE')).toHaveLength(1);
    p.close();
    await reg.stop();
  });
});

describe('TLS with a private CA and htpasswd', () => {
  let reg: TestRegistry;
  let p: ImagePusher;
  const user = { user: 'admin', password: 'Corr3ct-Horse' };

  beforeAll(async () => {
    reg = await startRegistry({ tls: true, htpasswd: user });
    p = new ImagePusher({ url: reg.url, ca: reg.caPem, basic: user });
    await p.pushImage('secure/app', ['old'], { created: day(1), seed: 's1' });
    await p.pushImage('secure/app', ['new'], { created: day(2), seed: 's2' });
  });
  afterAll(async () => {
    p.close();
    await reg.stop();
  });

  test('an untrusted certificate points at -c/--cacert', async () => {
    const r = await runCli(['-r', reg.url, '-n', 'secure/app', '-k', '1', '-y', '-u', user.user, '-pw', user.password]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not trusted/);
    expect(r.stderr).toMatch(/-c\/--cacert/);
  });

  test('with -c naming another CA: the hint says that CA did not sign it (not "pass -c"), nothing deleted', async () => {
    const other = await startRegistry({ tls: true });
    try {
      const r = await runCli(['-r', reg.url, '-c', other.caFile!, '-n', 'secure/app', '-k', '1', '-y', '-u', user.user, '-pw', user.password]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/not trusted/);
      expect(r.stderr).toContain(`hint: the CA in ${other.caFile} (-c/--cacert) did not sign it: pass the CA that did`);
      expect((await p.tags('secure/app'))?.sort()).toEqual(['new', 'old']);
    } finally {
      await other.stop();
    }
  });

  test('a wrong password is a credentials error and nothing is deleted', async () => {
    const r = await runCli(['-r', reg.url, '-c', reg.caFile!, '-n', 'secure/app', '-k', '1', '-y', '-u', user.user, '--basicauth-pw', 'wrong-password']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/rejected the credentials/);
    expect(r.stderr).not.toContain('wrong-password');
    expect((await p.tags('secure/app'))?.sort()).toEqual(['new', 'old']);
  });

  test('no credentials at all says which flags to pass', async () => {
    const r = await runCli(['-r', reg.url, '-c', reg.caFile!, '-n', 'secure/app', '-k', '1', '-y']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/requires credentials/);
    expect(r.stderr).toMatch(/-u USER/);
  });

  test('-c and the password from CLEANREG_PASSWORD: deletes', async () => {
    const r = await runCli(['-r', reg.url, '-c', reg.caFile!, '-n', 'secure/app', '-k', '1', '-y', '-u', user.user], { env: { CLEANREG_PASSWORD: user.password } });
    expect(r.stderr).not.toMatch(/error|warning/);
    expect(r.code).toBe(0);
    expect(await p.tags('secure/app')).toEqual(['new']);
  });
});
