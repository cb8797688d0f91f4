import { describe, expect, test } from '@jest/globals';
import { PassThrough } from 'node:stream';
import type { RepoOutcome } from '../../src/executor/apply.js';
import type { PlannedImage, RepoPlan } from '../../src/planner/types.js';
import { planDocument, writePlanDocument } from '../../src/report/json.js';

const image = (n: number, action: 'keep' | 'delete'): PlannedImage => ({
  digest: `sha256:${String(n).padStart(64, '0')}`,
  tags: [`v${n}`, ...(n % 2 ? ['x"quoted"'] : [])],
  created: n % 3 ? `2024-01-0${n}T00:00:00.000Z` : null,
  kind: 'image',
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  action,
  reason: `reason\nwith a newline ${n}`,
});
const plans: RepoPlan[] = [
  { name: 'a', keep: [image(1, 'keep')], delete: [image(2, 'delete'), image(3, 'delete')], empty: false, notes: ['a note'], freedBytes: 10 },
  { name: 'b/c', keep: [], delete: [], empty: true, notes: [] },
];
const outcomes: RepoOutcome[] = [{ name: 'a', outcomes: [{ digest: image(2, 'delete').digest, tags: ['v2'], status: 'deleted' }, { digest: image(3, 'delete').digest, tags: ['v3'], status: 'failed', detail: 'boom' }] }];

function written(...args: Parameters<typeof writePlanDocument> extends [unknown, ...infer R] ? R : never): string {
  const out = new PassThrough();
  let text = '';
  out.on('data', (c) => (text += c));
  writePlanDocument(out, ...args);
  return text;
}

describe('writePlanDocument', () => {
  test.each([
    ['a plan', [plans, undefined, true]],
    ['an apply', [plans, outcomes, false]],
    ['no repositories', [[], undefined, true]],
    ['an apply with an error', [plans, outcomes, false, [{ repository: 'x', error: 'boom' }]]],
  ] as const)('%s: streamed byte for byte as the whole document would be', (_name, [p, o, dry, errors]) => {
    const streamed = written('https://r.example', p as RepoPlan[], o as RepoOutcome[] | undefined, dry, errors ? [...errors] : []);
    expect(streamed).toBe(JSON.stringify(planDocument('https://r.example', p as RepoPlan[], o as RepoOutcome[] | undefined, dry, errors ? [...errors] : []), null, 2) + '\n');
    expect(JSON.parse(streamed).registry).toBe('https://r.example');
  });
});
