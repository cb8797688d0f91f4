/**
 * Outcomes of applyRepoPlan at moments a real registry cannot be made to produce, with a stub client:
 * - the halt: after a 405 in one repository, a DELETE of another repository that was already waiting for a place
 *   in the request limit is not sent (distribution answers 405 for every repository or none, and the first DELETE
 *   of a run goes alone). The limit here starts waiting tasks one at a time, each once the one before has settled.
 * - a plan file edited to keep an image but still delete what follows it;
 * - a platform manifest whose DELETE fails while its index's goes through.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, test } from '@jest/globals';
import { RegistryError } from '../../src/errors.js';
import { applyRepoPlan, type Halt } from '../../src/executor/apply.js';
import type { PlannedImage, RepoPlan } from '../../src/planner/types.js';
import type { RegistryClient } from '../../src/registry/client.js';
import { Logger } from '../../src/util/log.js';
import type { RequestLimit } from '../../src/util/request-limit.js';

const digest = (c: string) => `sha256:${c.repeat(64)}`;
const image = (d: string, tag: string): PlannedImage => ({ digest: d, tags: [tag], created: null, kind: 'image', mediaType: '', action: 'delete', reason: 'test' });
const plan = (name: string, d: string): RepoPlan => ({ name, keep: [], delete: [image(d, 'old')], empty: false, notes: [] });

/** Queues every task; `drain` runs them in arrival order, each after the one before has settled. */
function steppedLimit() {
  const waiting: (() => Promise<void>)[] = [];
  const limit: RequestLimit = (task) => new Promise((resolve, reject) => waiting.push(() => task().then(resolve, reject)));
  const drain = async (until: Promise<unknown>) => {
    let done = false;
    const stop = () => (done = true);
    until.then(stop, stop);
    while (!done) {
      await new Promise((r) => setImmediate(r)); // let both repositories queue what they will
      const next = waiting.shift();
      if (next) await next().catch(() => undefined);
    }
  };
  return { limit, drain };
}

describe('applyRepoPlan', () => {
  test('a DELETE waiting for its turn when another repository got a 405 is not sent: not attempted', async () => {
    const sent: string[] = [];
    const repos: Record<string, string> = { a: digest('a'), b: digest('b') };
    const client = {
      tags: async () => ['old', 'new'],
      resolve: async (repo: string, tag: string) => (tag === 'old' ? repos[repo] : digest('f')),
      getManifest: async () => ({ json: {} }),
      deleteManifest: async (repo: string, d: string) => {
        sent.push(`${repo}@${d}`);
        if (repo === 'a') throw Object.assign(new RegistryError('delete-disabled', `delete a@${d}: deletion is disabled on this registry (405)`), { what: `delete a@${d}` });
        return 'deleted' as const;
      },
    } as unknown as RegistryClient;
    const { limit, drain } = steppedLimit();
    const ctx = { client, limit, logger: new Logger(new PassThrough(), 0) };
    const halt: Halt = {};
    const both = Promise.all([applyRepoPlan(plan('a', repos.a), ctx, halt), applyRepoPlan(plan('b', repos.b), ctx, halt)]);
    await drain(both);
    const [a, b] = await both;

    expect(sent).toEqual([`a@${repos.a}`]);
    expect(halt.error?.kind).toBe('delete-disabled');
    expect(a.outcomes).toEqual([{ digest: repos.a, tags: ['old'], status: 'failed', detail: `delete a@${repos.a}: deletion is disabled on this registry (405)` }]);
    expect(b.outcomes).toEqual([{ digest: repos.b, tags: ['old'], status: 'not-attempted', detail: 'deletion is disabled on this registry (405)' }]);
  });

  test('a 401 on a DELETE ends the images of its repository, but what follows one already deleted still goes; a 403 ends nothing', async () => {
    const [index, platform, signature, first, second] = [digest('1'), digest('2'), digest('3'), digest('4'), digest('5')];
    const run = async (refused: number, refuse: string) => {
      const sent: string[] = [];
      const client = {
        tags: async () => ['multi', 'a', 'b'],
        resolve: async (_repo: string, tag: string) => ({ multi: index, a: first, b: second } as Record<string, string>)[tag],
        deleteManifest: async (_repo: string, d: string) => {
          sent.push(d);
          if (d === refuse) throw new RegistryError('forbidden', `delete app@${d}: refused (${refused})`, undefined, refused);
          return 'deleted' as const;
        },
      } as unknown as RegistryClient;
      const planned: RepoPlan = {
        name: 'app',
        keep: [],
        // Waves: the index alone; then its platform manifest, a and b; then the platform manifest's signature.
        delete: [
          { ...image(index, 'multi'), kind: 'index', children: [platform] },
          { ...image(platform, ''), tags: [], follows: index },
          { ...image(signature, ''), tags: [], kind: 'artifact', follows: platform, subject: platform },
          image(first, 'a'),
          image(second, 'b'),
        ],
        empty: false,
        notes: [],
      };
      const limit: RequestLimit = (task) => task();
      const result = await applyRepoPlan(planned, { client, limit, logger: new Logger(new PassThrough(), 0) });
      return { sent, status: new Map(result.outcomes.map((o) => [o.digest, o.status])) };
    };
    // The first DELETE (the index) refused with 401: no other image is sent.
    const atFirst = await run(401, index);
    expect(atFirst.sent).toEqual([index]);
    expect([first, second, platform, signature].map((d) => atFirst.status.get(d))).toEqual(['not-attempted', 'not-attempted', 'not-attempted', 'not-attempted']);
    // A 401 in the second wave: the signature of the platform manifest deleted in that wave still goes.
    const later = await run(401, first);
    expect(later.status.get(signature)).toBe('deleted');
    // A 403 on the index may be about that manifest alone: a and b are still sent.
    const forbidden = await run(403, index);
    expect(forbidden.sent.sort()).toEqual([index, first, second].sort());
    expect(forbidden.status.get(second)).toBe('deleted');
  });

  test('what follows an image the plan keeps (an edited plan file) is kept with it, not deleted', async () => {
    const sent: string[] = [];
    const leader = digest('1');
    const signature = digest('2');
    const client = {
      tags: async () => ['v1', `${leader.replace(':', '-')}.sig`],
      resolve: async (_repo: string, tag: string) => (tag === 'v1' ? leader : signature),
      deleteManifest: async (repo: string, d: string) => (sent.push(`${repo}@${d}`), 'deleted' as const),
    } as unknown as RegistryClient;
    const edited: RepoPlan = {
      name: 'app',
      keep: [{ ...image(leader, 'v1'), action: 'keep' }],
      delete: [{ ...image(signature, `${leader.replace(':', '-')}.sig`), kind: 'artifact', follows: leader }],
      empty: false,
      notes: [],
    };
    const limit: RequestLimit = (task) => task();
    const result = await applyRepoPlan(edited, { client, limit, logger: new Logger(new PassThrough(), 0) });
    expect(sent).toEqual([]);
    expect(result.outcomes).toEqual([{ digest: signature, tags: [`${leader.replace(':', '-')}.sig`], status: 'kept', detail: `it follows ${leader}, which is kept` }]);
  });

  test('an artifact named for deletion goes though its image stays; one that refers to a kept image without being named is kept', async () => {
    const sent: string[] = [];
    const [leader, named, other] = [digest('1'), digest('2'), digest('3')];
    const client = {
      tags: async () => ['v1'],
      resolve: async () => leader,
      deleteManifest: async (repo: string, d: string) => (sent.push(d), 'deleted' as const),
    } as unknown as RegistryClient;
    const artifact = (d: string, more: Partial<PlannedImage>): PlannedImage => ({ ...image(d, ''), tags: [], kind: 'artifact', subject: leader, ...more });
    const planned: RepoPlan = { name: 'app', keep: [{ ...image(leader, 'v1'), action: 'keep' }], delete: [artifact(named, { named: true }), artifact(other, {})], empty: false, notes: [] };
    const result = await applyRepoPlan(planned, { client, limit: (task) => task(), logger: new Logger(new PassThrough(), 0) });
    expect(sent).toEqual([named]);
    expect(result.outcomes).toEqual([
      { digest: other, tags: [], status: 'kept', detail: `it refers to ${leader}, which is kept` },
      { digest: named, tags: [], status: 'deleted', detail: undefined },
    ]);
  });

  test('a chain under an index kept because its tag moved away: its platform manifest and the referrer of that one are kept too', async () => {
    const sent: string[] = [];
    const [index, arm, signature, newer] = [digest('1'), digest('3'), digest('4'), digest('9')];
    const client = {
      tags: async () => ['multi'],
      resolve: async () => newer,
      getManifest: async () => ({ json: { manifests: [] } }),
      deleteManifest: async (_repo: string, d: string) => (sent.push(d), 'deleted' as const),
    } as unknown as RegistryClient;
    const planned: RepoPlan = {
      name: 'app',
      keep: [],
      delete: [
        { ...image(index, 'multi'), kind: 'index', children: [arm] },
        { ...image(arm, ''), tags: [], follows: index },
        { ...image(signature, ''), tags: [], kind: 'artifact', follows: arm, subject: arm },
      ],
      empty: false,
      notes: [],
    };
    const limit: RequestLimit = (task) => task();
    const result = await applyRepoPlan(planned, { client, limit, logger: new Logger(new PassThrough(), 0) });
    expect(sent).toEqual([]);
    expect(result.outcomes.map((o) => [o.digest, o.status, o.detail])).toEqual([
      [index, 'kept', `tag "multi" now points at ${newer} (moved since the plan)`],
      [arm, 'kept', `it follows ${index}, which is kept`],
      [signature, 'kept', `it refers to ${arm}, which is kept`],
    ]);
  });

  test('a platform image tagged on its own waits for the index being deleted that lists it: its DELETE first, and only if it went', async () => {
    const [index, amd] = [digest('5'), digest('6')];
    const run = async (indexFails: boolean) => {
      const sent: string[] = [];
      const client = {
        tags: async () => ['v1', 'v1-amd64'],
        resolve: async (_repo: string, tag: string) => (tag === 'v1' ? index : amd),
        deleteManifest: async (repo: string, d: string) => {
          sent.push(d);
          if (d === index && indexFails) throw new RegistryError('server', `delete ${repo}@${d}: the registry answered HTTP 500`, undefined, 500);
          return 'deleted' as const;
        },
      } as unknown as RegistryClient;
      // The platform image first in the plan: the order of the plan does not decide the order of the DELETEs.
      const planned: RepoPlan = { name: 'app', keep: [], delete: [image(amd, 'v1-amd64'), { ...image(index, 'v1'), kind: 'index', children: [amd] }], empty: false, notes: [] };
      const limit: RequestLimit = (task) => task();
      const result = await applyRepoPlan(planned, { client, limit, logger: new Logger(new PassThrough(), 0) });
      return { sent, result };
    };
    const fine = await run(false);
    expect(fine.sent).toEqual([index, amd]);
    const failed = await run(true);
    expect(failed.sent).toEqual([index]);
    expect(failed.result.outcomes.find((o) => o.digest === amd)).toEqual({ digest: amd, tags: ['v1-amd64'], status: 'not-attempted', detail: `it is listed by ${index}, which was not deleted` });
  });

  test('a signature of a platform manifest (cosign sign --recursive) waits for that manifest too: its DELETE failed, so the signature is not attempted', async () => {
    const sent: string[] = [];
    const [index, amd, arm, signature] = [digest('1'), digest('2'), digest('3'), digest('4')];
    const sigTag = `${arm.replace(':', '-')}.sig`;
    const client = {
      tags: async () => ['v1', sigTag],
      resolve: async (_repo: string, tag: string) => (tag === 'v1' ? index : signature),
      deleteManifest: async (repo: string, d: string) => {
        sent.push(d);
        if (d === arm) throw new RegistryError('server', `delete ${repo}@${d}: the registry answered HTTP 500`, undefined, 500);
        return 'deleted' as const;
      },
    } as unknown as RegistryClient;
    const child = (d: string): PlannedImage => ({ ...image(d, ''), tags: [], follows: index });
    const planned: RepoPlan = {
      name: 'app',
      keep: [],
      delete: [{ ...image(index, 'v1'), kind: 'index', children: [amd, arm] }, child(amd), child(arm), { ...image(signature, sigTag), kind: 'artifact', follows: index, subject: arm }],
      empty: false,
      notes: [],
    };
    const limit: RequestLimit = (task) => task();
    const result = await applyRepoPlan(planned, { client, limit, logger: new Logger(new PassThrough(), 0) });
    expect(sent.sort()).toEqual([index, amd, arm].sort());
    expect(result.outcomes.find((o) => o.digest === signature)).toEqual({ digest: signature, tags: [sigTag], status: 'not-attempted', detail: `it refers to ${arm}, which was not deleted` });
  });
});
