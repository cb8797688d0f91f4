/**
 * Retries and digests on a fake registry (node:http), for what distribution 2.8 cannot be made to do:
 * 429 + Retry-After, 503 bursts, dropped connections, a DELETE whose answer got lost, no Docker-Content-Digest, a
 * page link that loops.
 */
import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, test } from '@jest/globals';
import { runBuiltCli, runCli } from '../helpers/cli.js';
import { failFirst, sha256, startFakeRegistry, type FakeRegistry, type FakeRegistryOptions } from './fake-registry.js';

let reg: FakeRegistry | undefined;
afterEach(async () => {
  await reg?.stop();
  reg = undefined;
});

async function fake(opts: FakeRegistryOptions = {}): Promise<FakeRegistry> {
  reg = await startFakeRegistry(opts);
  return reg;
}

const args = (r: FakeRegistry, ...more: string[]) => ['-r', r.url, '-n', r.repo, '-k', '1', '-y', '--no-cache', ...more];
const is = (method: string, suffix: string) => (q: { method: string; path: string }) => q.method === method && q.path.endsWith(suffix);
const oldDigest = (r: FakeRegistry) => r.images[0].digest;
const deletes = (r: FakeRegistry) => r.seen.filter((q) => q.method === 'DELETE');

describe('retried faults', () => {
  test('429 with Retry-After: 1, then success: waits as told and goes on', async () => {
    const r = await fake();
    r.fault = failFirst(is('GET', '/tags/list'), [{ status: 429, headers: { 'retry-after': '1' } }]);
    const run = await runCli(args(r));
    expect(run.stderr).not.toMatch(/error/);
    expect(run.code).toBe(0);
    expect(r.tags()).toEqual(['new']);
    const tagLists = r.seen.filter(is('GET', '/tags/list'));
    expect(tagLists[0].outcome).toBe(429);
    expect(tagLists[1].outcome).toBe(200);
    // A lower bound only: the retry did not come before the second the registry asked for.
    expect(tagLists[1].at - tagLists[0].at).toBeGreaterThanOrEqual(900);
  });

  test('503 twice, then success', async () => {
    const r = await fake();
    r.fault = failFirst(is('GET', '/manifests/old'), [{ status: 503 }, { status: 503 }]);
    const run = await runCli(args(r));
    expect(run.stderr).not.toMatch(/error/);
    expect(run.code).toBe(0);
    expect(r.tags()).toEqual(['new']);
    expect(r.seen.filter(is('GET', '/manifests/old')).map((q) => q.outcome)).toEqual([503, 503, 200]);
  });

  test('a dropped connection once, then success', async () => {
    const r = await fake();
    r.fault = failFirst(is('GET', `/blobs/${r.images[0].configDigest}`), ['drop']);
    const run = await runCli(args(r));
    expect(run.stderr).not.toMatch(/error/);
    expect(run.code).toBe(0);
    expect(r.tags()).toEqual(['new']);
    expect(r.seen.filter(is('GET', `/blobs/${r.images[0].configDigest}`)).map((q) => q.outcome)).toEqual(['dropped', 200]);
  });

  test('a request that hangs past --timeout is retried', async () => {
    const r = await fake();
    r.fault = failFirst(is('GET', '/manifests/new'), ['hang']);
    const run = await runCli(args(r, '--timeout', '1', '-v'));
    expect(run.stderr).not.toMatch(/error/);
    expect(run.code).toBe(0);
    expect(r.tags()).toEqual(['new']);
    expect(r.seen.filter(is('GET', '/manifests/new')).map((q) => q.outcome)).toEqual(['hung', 200]);
    expect(run.stderr).toMatch(/retry 1\/4: GET \S+\/manifests\/new \(ETIMEDOUT\)/);
  });

  test('each retry is shown at -v (and not without it)', async () => {
    const r = await fake();
    r.fault = failFirst(is('GET', '/tags/list'), [{ status: 503 }]);
    const verbose = await runCli(args(r, '-v', '--dry-run'));
    expect(verbose.code).toBe(0);
    expect(verbose.stderr).toMatch(/retry 1\/4: GET http:\/\/127\.0\.0\.1:\d+\/v2\/app\/tags\/list \(HTTP 503\)/);

    r.fault = failFirst(is('GET', '/tags/list'), [{ status: 503 }]);
    const quiet = await runCli(args(r, '--dry-run'));
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).not.toMatch(/retry/);
  });
});

describe('--retries 0', () => {
  test('a 503: exit 1, the request and the status are named, nothing deleted', async () => {
    const r = await fake();
    r.fault = failFirst(is('GET', '/tags/list'), [{ status: 503 }]);
    const run = await runCli(args(r, '--retries', '0'));
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/list tags of app: the registry answered HTTP 503/);
    expect(run.stderr).toMatch(/hint: /);
    expect(run.stderr).not.toMatch(/internal error|retry \d/);
    expect(r.seen.filter(is('GET', '/tags/list'))).toHaveLength(1);
    expect(deletes(r)).toEqual([]);
  });

  test('a 429: exit 1, "rate limited"', async () => {
    const r = await fake();
    r.fault = failFirst(is('GET', '/manifests/old'), [{ status: 429, headers: { 'retry-after': '1' } }]);
    const run = await runCli(args(r, '--retries', '0'));
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/get manifest app:old: rate limited by the registry \(429\)/);
    expect(deletes(r)).toEqual([]);
  });

  test('a dropped connection: exit 1, "connection ... was dropped"', async () => {
    const r = await fake();
    r.fault = failFirst(is('GET', '/tags/list'), ['drop']);
    const run = await runCli(args(r, '--retries', '0'));
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/list tags of app: the connection to http:\/\/127\.0\.0\.1:\d+ was dropped \(ECONNRESET\)/);
    expect(run.stderr).not.toMatch(/internal error/);
    expect(deletes(r)).toEqual([]);
  });
});

describe('a broken page link', () => {
  test('a next-page link back to a page already read: exit 1, named, nothing deleted (not an endless loop)', async () => {
    const r = await fake();
    const page = { status: 200, headers: { link: '</v2/app/tags/list?n=1>; rel="next"' }, body: JSON.stringify({ name: 'app', tags: ['old'] }) };
    r.fault = (q) => (is('GET', '/tags/list')(q) ? page : undefined);
    const run = await runCli(args(r));
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/list tags of app: the registry's next-page link leads back to a page already read/);
    expect(r.seen.filter(is('GET', '/tags/list'))).toHaveLength(2);
    expect(deletes(r)).toEqual([]);
  });
});

describe('DELETE', () => {
  test('the first attempt answered 503 after deleting, the retry 404: counted as already gone, not a failure', async () => {
    const r = await fake();
    r.fault = failFirst(is('DELETE', `/manifests/${oldDigest(r)}`), [{ status: 503, apply: true }]);
    const run = await runCli(args(r));
    expect(run.stderr).not.toMatch(/error/);
    expect(run.code).toBe(0);
    expect(r.tags()).toEqual(['new']);
    expect(deletes(r).map((q) => q.outcome)).toEqual([503, 404]);
    expect(run.stdout).toMatch(/app: old: already gone/);
    expect(run.stdout).toMatch(/Deleted 0 images, 1 already gone, 0 failed\./);
  });

  test('the same in --output json: alreadyGone, nothing failed', async () => {
    const r = await fake();
    r.fault = failFirst(is('DELETE', `/manifests/${oldDigest(r)}`), [{ status: 503, apply: true }]);
    const run = await runCli(args(r, '--output', 'json'));
    expect(run.code).toBe(0);
    const doc = JSON.parse(run.stdout);
    expect(doc.repositories[0].deleted).toEqual([{ digest: oldDigest(r), tags: ['old'], alreadyGone: true }]);
    expect(doc.repositories[0].failed).toEqual([]);
    expect(doc.summary).toMatchObject({ alreadyGone: 1, failed: 0 });
  });

  test('a DELETE answered 500 is not retried: reported as failed, exit 1', async () => {
    // distribution removes the manifest before it reads the tag links that can make it answer 500: a retry would
    // find it gone and report the half-done delete as "already gone".
    const r = await fake();
    r.fault = failFirst(is('DELETE', `/manifests/${oldDigest(r)}`), [{ status: 500 }]);
    const run = await runCli(args(r));
    expect(run.code).toBe(1);
    expect(deletes(r).map((q) => q.outcome)).toEqual([500]);
    expect(run.stdout).toMatch(/app: old: failed \(delete app@sha256:\w+: the registry answered HTTP 500/);
    expect(run.stdout).toMatch(/Deleted 0 images, 1 failed\./);
  });

  test('re-verification answered 500: no DELETE sent, the image is reported as not attempted, exit 1', async () => {
    const r = await fake();
    let tagLists = 0;
    // The first tag list is the scan's; the second is re-verification's, right before deleting.
    r.fault = (q) => (is('GET', '/tags/list')(q) && ++tagLists === 2 ? { status: 500 } : undefined);
    const run = await runCli(args(r));
    expect(run.code).toBe(1);
    expect(deletes(r)).toEqual([]);
    expect(run.stderr).toMatch(/app: list tags of app: the registry answered HTTP 500/);
    expect(run.stdout).toMatch(/^app: old: not attempted \(re-verification failed: list tags of app: the registry answered HTTP 500 UNAVAILABLE\)$/m);
    expect(run.stdout).toMatch(/Deleted 0 images, 0 failed, 1 manifest not attempted\./);
    tagLists = 0;
    const json = await runCli(args(r, '--output', 'json'));
    expect(json.code).toBe(1);
    const doc = JSON.parse(json.stdout);
    expect(doc.repositories[0]).toMatchObject({ deleted: [], failed: [], notAttempted: [{ digest: oldDigest(r), tags: ['old'], reason: 're-verification failed: list tags of app: the registry answered HTTP 500 UNAVAILABLE' }] });
    expect(doc.summary).toMatchObject({ deleted: 0, failed: 0, notAttempted: 1 });
  });

  test('with CI set and stdout a pipe, the failure report has no colour codes', async () => {
    // picocolors' default colours whenever CI is set: the report is written for a log file, not a terminal.
    const r = await fake();
    r.fault = failFirst(is('DELETE', `/manifests/${oldDigest(r)}`), [{ status: 500 }]);
    const run = await runBuiltCli(args(r), { env: { CI: 'true' } });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/app: old: failed \(delete app@/);
    expect(run.stdout).not.toContain('\x1b[');
  });

  test('a 500 to a GET is not retried: exit 1, nothing deleted, no request left in flight', async () => {
    const r = await fake();
    // `old` is answered 500 only once the config read for `new` has arrived, and that read is held 300 ms.
    const oldGets: number[] = [];
    let held: ServerResponse | undefined;
    let configArrived = false;
    let configAnswered = false;
    const failOld = (res: ServerResponse) => res.writeHead(500, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNKNOWN","message":"unknown error"}]}');
    r.extra = (req, res) => {
      if (req.url === `/v2/${r.repo}/manifests/old`) {
        oldGets.push(Date.now());
        if (configArrived) failOld(res);
        else held = res;
        return true;
      }
      if (req.url === `/v2/${r.repo}/blobs/${r.images[1].configDigest}`) {
        configArrived = true;
        if (held) failOld(held);
        setTimeout(() => {
          configAnswered = true;
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(r.images[1].config.length) }).end(r.images[1].config);
        }, 300);
        return true;
      }
      return false;
    };
    const run = await runCli(args(r));
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/get manifest app:old: the registry answered HTTP 500/);
    expect(oldGets).toHaveLength(1);
    expect(deletes(r)).toEqual([]);
    // The run ended only once that config read was answered.
    expect(configAnswered).toBe(true);
  });

  test('a DELETE that keeps failing (503 with --retries 1) is a failure: exit 1', async () => {
    const r = await fake();
    r.fault = failFirst(is('DELETE', `/manifests/${oldDigest(r)}`), [{ status: 503 }, { status: 503 }]);
    const run = await runCli(args(r, '--retries', '1'));
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/1 failed/);
    expect(r.tags()).toEqual(['new', 'old']);
  });
});

describe('no Docker-Content-Digest', () => {
  test('the digest is the sha256 of the manifest bytes, and the DELETE goes to it', async () => {
    // Pretty-printed manifests: hashing a re-serialisation would give another digest.
    const r = await fake({ omitDigest: true, pretty: true });
    const body = r.images[0].manifest;
    expect(JSON.stringify(JSON.parse(body.toString()))).not.toBe(body.toString());
    const run = await runCli(args(r, '-v'));
    expect(run.stderr).not.toMatch(/error/);
    expect(run.code).toBe(0);
    expect(r.tags()).toEqual(['new']);
    expect(deletes(r).map((q) => `${q.path} ${q.outcome}`)).toEqual([`/v2/app/manifests/${sha256(body)} 202`]);
    expect(run.stderr).toContain(`deleted app@${sha256(body)}`);
  });

  test('--dry-run --output json shows those digests', async () => {
    const r = await fake({ omitDigest: true, pretty: true });
    const run = await runCli(args(r, '--dry-run', '--output', 'json'));
    expect(run.code).toBe(0);
    const doc = JSON.parse(run.stdout);
    expect(doc.repositories[0].delete.map((i: { digest: string }) => i.digest)).toEqual([sha256(r.images[0].manifest)]);
    expect(doc.repositories[0].keep.map((i: { digest: string }) => i.digest)).toEqual([sha256(r.images[1].manifest)]);
    expect(deletes(r)).toEqual([]);
  });
});
