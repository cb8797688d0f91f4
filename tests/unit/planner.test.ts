/**
 * The planner's rules, one table row per situation. Every row names every image of its inventory and says what
 * happens to it and why (substrings of the reason). Images are named by a label; the digest is derived from it.
 */
import { createHash } from 'node:crypto';
import { describe, expect, jest, test } from '@jest/globals';
import { buildPolicy, type RuleInput } from '../../src/config/rules.js';
import { planNamed, planRepository } from '../../src/planner/plan.js';
import { renderPlanTable } from '../../src/report/table.js';
import { inZone } from '../helpers/in-zone.js';
import type { Action, Image, ImageKind, PlannedImage, RepoInventory, RepoPlan } from '../../src/planner/types.js';

// ---------------------------------------------------------------------------------------------------------------
// A tiny builder
// ---------------------------------------------------------------------------------------------------------------

const NOW = new Date('2024-07-01T00:00:00Z');
const DAY = 24 * 60 * 60 * 1000;

const hex = (label: string) => createHash('sha256').update(label).digest('hex');
const digestOf = (label: string) => `sha256:${hex(label)}`;
/** How the planner abbreviates a digest in its reasons. */
const shortOf = (label: string) => hex(label).slice(0, 12);
/** ISO date `days` before NOW. */
const ago = (days: number) => new Date(NOW.getTime() - days * DAY).toISOString();

const labels = new Map<string, string>();

function build(label: string, tags: string[], created: string | null, kind: ImageKind, more: Partial<Image> = {}): Image {
  labels.set(digestOf(label), label);
  const mediaType = kind === 'index' ? 'application/vnd.oci.image.index.v1+json' : 'application/vnd.oci.image.manifest.v1+json';
  return { digest: digestOf(label), tags, created, kind, mediaType, ...more };
}

/** A plain image. */
const img = (label: string, tags: string[], created: string | null) => build(label, tags, created, 'image');

/** A multi-arch index; its `created` is its newest child's (as gathered); children by label. */
const index = (label: string, tags: string[], created: string | null, children: string[]) =>
  build(label, tags, created, 'index', { children: children.map(digestOf) });

/** A cosign signature/attestation/SBOM: an ordinary manifest tagged `sha256-<subject hex>.<suffix>`. */
const cosign = (label: string, suffix: 'sig' | 'att' | 'sbom', subject: string, created: string | null = ago(0)) =>
  build(label, [cosignTag(subject, suffix)], created, 'image');
const cosignTag = (subject: string, suffix: 'sig' | 'att' | 'sbom') => `sha256-${hex(subject)}.${suffix}`;

/** An OCI 1.1 artifact with a `subject` (a referrer). */
const referrer = (label: string, subject: string, tags: string[] = [`${label}-ref`]) =>
  build(label, tags, null, 'artifact', { subject: digestOf(subject) });

const repo = (images: Image[], name = 'team/app'): RepoInventory => ({ name, tags: images.flatMap((i) => i.tags), images });

const planned = (plan: RepoPlan): PlannedImage[] => [...plan.keep, ...plan.delete];

function find(plan: RepoPlan, label: string): PlannedImage {
  const found = planned(plan).find((p) => p.digest === digestOf(label));
  if (!found) throw new Error(`image "${label}" is missing from the plan`);
  return found;
}

// ---------------------------------------------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------------------------------------------

/** label → [action, ...substrings of the reason]. */
type Expectation = Record<string, [Action, ...string[]]>;

interface Case {
  name: string;
  keep: number;
  rules?: RuleInput;
  images: Image[];
  expect: Expectation;
  /** Substrings that must each appear in some note; without it, no notes are expected. */
  notes?: string[];
}

const cases: Case[] = [
  // --- keep-N by created -------------------------------------------------------------------------------------
  {
    name: 'keep-N by created: the newest N are kept, whatever order they are listed in',
    keep: 2,
    images: [img('c', ['c'], ago(3)), img('a', ['a'], ago(1)), img('d', ['d'], ago(4)), img('b', ['b'], ago(2))],
    expect: {
      a: ['keep', 'newest 2 (by created)'],
      b: ['keep', 'newest 2 (by created)'],
      c: ['delete', 'beyond the newest 2 (by created)'],
      d: ['delete', 'beyond the newest 2 (by created)'],
    },
  },
  {
    name: '-k 0: every unprotected image is deleted',
    keep: 0,
    images: [img('a', ['a'], ago(1)), img('b', ['b'], ago(2))],
    expect: { a: ['delete', 'beyond the newest 0'], b: ['delete', 'beyond the newest 0'] },
  },
  {
    name: 'keep larger than the repository: nothing is deleted',
    keep: 5,
    images: [img('a', ['a'], ago(1)), img('b', ['b'], ago(2))],
    expect: { a: ['keep', 'newest 5'], b: ['keep', 'newest 5'] },
  },
  {
    name: 'the same created date: the higher tag name is the newer (a stable tie-break)',
    keep: 1,
    images: [img('a', ['build-9'], ago(1)), img('b', ['build-10'], ago(1))],
    expect: { b: ['keep', 'newest 1'], a: ['delete', 'beyond the newest 1'] },
    notes: ['2 images share the creation date', 'the highest tag names were kept'],
  },

  // --- tags sharing a digest ---------------------------------------------------------------------------------
  {
    name: 'tags sharing a digest: the image is the unit, keep counts images not tags',
    keep: 2,
    images: [img('a', ['v3', 'latest', 'stable'], ago(1)), img('b', ['v2'], ago(2)), img('c', ['v1'], ago(3))],
    expect: { a: ['keep', 'newest 2'], b: ['keep', 'newest 2'], c: ['delete', 'beyond the newest 2'] },
  },
  {
    name: 'tags sharing a digest are deleted together',
    keep: 1,
    images: [img('a', ['v3'], ago(1)), img('b', ['v2', 'previous'], ago(2))],
    expect: { a: ['keep', 'newest 1'], b: ['delete', 'beyond the newest 1'] },
  },

  // --- -i / --ignore-ref-tags ----------------------------------------------------------------------------------
  {
    name: 'ignoreRefTags: a digest with several tags is kept and takes no keep slot',
    keep: 1,
    rules: { ignoreRefTags: true },
    images: [img('a', ['v3', 'latest'], ago(1)), img('b', ['v2'], ago(2)), img('c', ['v1'], ago(3))],
    expect: {
      a: ['keep', 'digest carries 2 tags', '-i/--ignore-ref-tags'],
      b: ['keep', 'newest 1'],
      c: ['delete', 'beyond the newest 1'],
    },
  },
  {
    name: 'ignoreRefTags protects old multi-tag digests too',
    keep: 0,
    rules: { ignoreRefTags: true },
    images: [img('a', ['v1'], ago(1)), img('b', ['v0', 'first', 'oldest'], ago(100))],
    expect: { a: ['delete', 'beyond the newest 0'], b: ['keep', 'digest carries 3 tags'] },
  },

  // --- include / exclude -----------------------------------------------------------------------------------
  {
    name: 'include: only images whose tags all match may be deleted',
    keep: 0,
    rules: { include: 'v\\d+' },
    images: [img('a', ['v1'], ago(1)), img('b', ['v2', 'latest'], ago(2)), img('c', ['nightly'], ago(3))],
    expect: {
      a: ['delete', 'beyond the newest 0'],
      b: ['keep', 'tag "latest" does not match --include /v\\d+/'],
      c: ['keep', 'tag "nightly" does not match --include'],
    },
  },
  {
    name: 'include is anchored to the whole tag',
    keep: 0,
    rules: { include: 'v1' },
    images: [img('a', ['v1'], ago(1)), img('b', ['v10'], ago(2)), img('c', ['xv1'], ago(3))],
    expect: {
      a: ['delete', 'beyond the newest 0'],
      b: ['keep', 'tag "v10" does not match --include /v1/'],
      c: ['keep', 'tag "xv1" does not match --include /v1/'],
    },
  },
  {
    name: 'include: protected images take no keep slot',
    keep: 1,
    rules: { include: 'pr-.*' },
    images: [img('main', ['main'], ago(0)), img('p3', ['pr-3'], ago(1)), img('p2', ['pr-2'], ago(2)), img('p1', ['pr-1'], ago(3))],
    expect: {
      main: ['keep', 'does not match --include'],
      p3: ['keep', 'newest 1'],
      p2: ['delete', 'beyond the newest 1'],
      p1: ['delete', 'beyond the newest 1'],
    },
  },
  {
    name: 'exclude: a matching tag protects the digest and its other tags; the reason names the shared tag',
    keep: 0,
    rules: { exclude: 'stable|release-.*' },
    images: [
      img('a', ['v3', 'stable'], ago(1)),
      img('b', ['release-1'], ago(2)),
      img('c', ['v1'], ago(3)),
      img('d', ['stable-old'], ago(4)),
    ],
    expect: {
      a: ['keep', 'shares its digest with tag "stable"', '--exclude /stable|release-.*/'],
      b: ['keep', 'matches --exclude /stable|release-.*/'],
      c: ['delete', 'beyond the newest 0'],
      // whole-tag: "stable-old" is neither "stable" nor "release-…"
      d: ['delete', 'beyond the newest 0'],
    },
  },
  {
    name: 'exclude: protected images take no keep slot',
    keep: 1,
    rules: { exclude: 'stable' },
    images: [img('s', ['stable'], ago(30)), img('a', ['a'], ago(1)), img('b', ['b'], ago(2))],
    expect: { s: ['keep', 'matches --exclude'], a: ['keep', 'newest 1'], b: ['delete', 'beyond the newest 1'] },
  },
  {
    name: 'include × exclude: exclude protects what include selects; include protects what it does not select',
    keep: 0,
    rules: { include: 'v.*', exclude: 'v1\\..*' },
    images: [
      img('a', ['v1.0'], ago(1)),
      img('b', ['v2.0'], ago(2)),
      img('c', ['latest'], ago(3)),
      img('d', ['v2.1', 'latest-2'], ago(4)),
      img('e', ['v1.1', 'other'], ago(5)),
    ],
    expect: {
      a: ['keep', 'matches --exclude /v1\\..*/'],
      b: ['delete', 'beyond the newest 0'],
      c: ['keep', 'tag "latest" does not match --include /v.*/'],
      d: ['keep', 'tag "latest-2" does not match --include'],
      e: ['keep', 'shares its digest with tag "v1.1"', '--exclude'],
    },
  },

  // --- date rules ------------------------------------------------------------------------------------------
  {
    name: 'before: only images created before the date are deleted',
    keep: 0,
    rules: { before: '2024-06-20' },
    images: [img('new', ['new'], '2024-06-30T00:00:00Z'), img('old', ['old'], '2024-06-11T00:00:00Z')],
    expect: {
      new: ['keep', 'outside the date window', 'created before'],
      old: ['delete', 'inside the date window', 'created before'],
    },
  },
  {
    name: 'before is strict: an image created at that instant is outside',
    keep: 0,
    rules: { before: '2024-06-20' },
    images: [img('edge', ['edge'], '2024-06-20T00:00:00Z'), img('just', ['just'], '2024-06-19T23:59:59Z')],
    expect: { edge: ['keep', 'outside the date window'], just: ['delete', 'inside the date window'] },
  },
  {
    name: 'after: only images created after the date are deleted',
    keep: 0,
    rules: { after: '2024-06-20' },
    images: [img('new', ['new'], '2024-06-30T00:00:00Z'), img('old', ['old'], '2024-06-11T00:00:00Z')],
    expect: {
      new: ['delete', 'inside the date window', 'created after'],
      old: ['keep', 'outside the date window', 'created after'],
    },
  },
  {
    name: 'before and after together: a window between two dates',
    keep: 0,
    rules: { after: '2024-06-01', before: '2024-06-20' },
    images: [img('a', ['a'], '2024-06-25T00:00:00Z'), img('b', ['b'], '2024-06-10T00:00:00Z'), img('c', ['c'], '2024-05-10T00:00:00Z')],
    expect: {
      a: ['keep', 'outside the date window'],
      b: ['delete', 'inside the date window', 'created before', 'created after'],
      c: ['keep', 'outside the date window'],
    },
  },
  {
    name: 'olderThan: only images older than the age are deleted',
    keep: 0,
    rules: { olderThan: '30d' },
    images: [img('young', ['young'], ago(10)), img('aged', ['aged'], ago(40))],
    expect: {
      young: ['keep', 'outside the date window (older than 30 days)'],
      aged: ['delete', 'inside the date window (older than 30 days)'],
    },
  },
  {
    name: 'newerThan: only images newer than the age are deleted',
    keep: 0,
    rules: { newerThan: '7d' },
    images: [img('young', ['young'], ago(3)), img('aged', ['aged'], ago(10))],
    expect: {
      young: ['delete', 'inside the date window (newer than 7 days)'],
      aged: ['keep', 'outside the date window (newer than 7 days)'],
    },
  },
  {
    name: 'olderThan × newerThan: a window between two ages',
    keep: 0,
    rules: { olderThan: '1w', newerThan: '30d' },
    images: [img('a', ['a'], ago(3)), img('b', ['b'], ago(14)), img('c', ['c'], ago(60))],
    expect: {
      a: ['keep', 'outside the date window', 'older than 1 week', 'newer than 30 days'],
      b: ['delete', 'inside the date window'],
      c: ['keep', 'outside the date window'],
    },
  },
  {
    name: 'keep-N first, then the date window for the rest',
    keep: 1,
    rules: { olderThan: '7d' },
    images: [img('a', ['a'], ago(1)), img('b', ['b'], ago(3)), img('c', ['c'], ago(10)), img('d', ['d'], ago(20))],
    expect: {
      a: ['keep', 'newest 1 (by created)'],
      b: ['keep', 'outside the date window'],
      c: ['delete', 'beyond the newest 1 (by created), inside the date window'],
      d: ['delete', 'inside the date window'],
    },
  },
  {
    name: 'keep-N holds even when every image is old',
    keep: 1,
    rules: { olderThan: '7d' },
    images: [img('a', ['a'], ago(10)), img('b', ['b'], ago(20))],
    expect: { a: ['keep', 'newest 1'], b: ['delete', 'inside the date window'] },
  },

  // --- unknown created ---------------------------------------------------------------------------------------
  {
    name: 'unknown created under order created: kept, takes no keep slot',
    keep: 1,
    images: [img('x', ['x'], null), img('y', ['y'], 'not a date'), img('a', ['a'], ago(1)), img('b', ['b'], ago(2))],
    expect: {
      x: ['keep', 'unknown age', 'takes no keep slot'],
      y: ['keep', 'unknown age'],
      a: ['keep', 'newest 1'],
      b: ['delete', 'beyond the newest 1'],
    },
  },
  {
    name: 'unknown created with a date rule (order semver): kept',
    keep: 0,
    rules: { order: 'semver', olderThan: '7d' },
    images: [img('x', ['1.0.0'], null), img('a', ['0.9.0'], ago(30)), img('b', ['0.8.0'], ago(1))],
    expect: {
      x: ['keep', 'unknown age'],
      a: ['delete', 'inside the date window'],
      b: ['keep', 'outside the date window'],
    },
  },
  {
    name: 'unknown created does not matter under semver without date rules',
    keep: 1,
    rules: { order: 'semver' },
    images: [img('a', ['2.0.0'], null), img('b', ['1.0.0'], null)],
    expect: { a: ['keep', 'newest 1 (by semver)'], b: ['delete', 'beyond the newest 1 (by semver)'] },
  },
  {
    name: 'unknown created does not matter under name without date rules',
    keep: 0,
    rules: { order: 'name' },
    images: [img('a', ['a'], null)],
    expect: { a: ['delete', 'beyond the newest 0 (by name)'] },
  },

  // --- order semver --------------------------------------------------------------------------------------------
  {
    name: 'semver: versions decide, not created; v prefix allowed; a prerelease is below its release',
    keep: 2,
    rules: { order: 'semver' },
    images: [
      img('g', ['2.0.0'], ago(25)),
      img('rc', ['2.0.0-rc.1'], ago(20)),
      img('a', ['1.10.0'], ago(30)),
      img('b', ['v1.9.0'], ago(1)),
      img('f', ['1.2.5'], ago(3)),
    ],
    expect: {
      g: ['keep', 'newest 2 (by semver)'],
      rc: ['keep', 'newest 2 (by semver)'],
      a: ['delete', 'beyond the newest 2 (by semver)'],
      b: ['delete', 'beyond the newest 2 (by semver)'],
      f: ['delete', 'beyond the newest 2 (by semver)'],
    },
  },
  {
    name: 'semver: 1.3 counts as 1.3.0 and beats 1.2.9; V1.4 (capital v) is a version',
    keep: 2,
    rules: { order: 'semver' },
    images: [img('h', ['1.3'], ago(10)), img('i', ['1.2.9'], ago(1)), img('j', ['V1.4'], ago(20))],
    expect: { j: ['keep', 'newest 2'], h: ['keep', 'newest 2'], i: ['delete', 'beyond the newest 2'] },
  },
  {
    name: 'semver: 1.2 counts as 1.2.0, above 1.2.0-beta',
    keep: 1,
    rules: { order: 'semver' },
    images: [img('a', ['1.2.0-beta'], ago(1)), img('b', ['1.2'], ago(9))],
    expect: { b: ['keep', 'newest 1'], a: ['delete', 'beyond the newest 1'] },
  },
  {
    name: 'semver: non-version tags are kept as "not a version" and take no slot',
    keep: 1,
    rules: { order: 'semver' },
    images: [img('l', ['latest'], ago(0)), img('m', ['1.1.0', 'main'], ago(0)), img('a', ['1.0.0'], ago(5)), img('b', ['0.9.0'], ago(6))],
    expect: {
      l: ['keep', 'tag "latest" is not a version (--order semver)'],
      m: ['keep', 'tag "main" is not a version'],
      a: ['keep', 'newest 1 (by semver)'],
      b: ['delete', 'beyond the newest 1 (by semver)'],
    },
  },
  {
    // Found by an audit: semver's loose mode read these as versions (1.0.0, 1.5.0-beta, 1.2.3--).
    name: 'semver: only versions as written (a leading v, 1 or 1.2) rank; vv1.0.0, 1.5.0beta, 1.2.3-, 1-rc are not versions',
    keep: 0,
    rules: { order: 'semver' },
    images: [img('vv', ['vv1.0.0'], ago(9)), img('beta', ['1.5.0beta'], ago(9)), img('dash', ['1.2.3-'], ago(9)), img('rc', ['1-rc'], ago(9)), img('ok', ['v1.0.0'], ago(9))],
    expect: {
      vv: ['keep', 'tag "vv1.0.0" is not a version'],
      beta: ['keep', 'tag "1.5.0beta" is not a version'],
      dash: ['keep', 'tag "1.2.3-" is not a version'],
      rc: ['keep', 'tag "1-rc" is not a version'],
      ok: ['delete', 'beyond the newest 0 (by semver)'],
    },
  },
  {
    // Found by a review: strict semver refuses leading zeros, which calendar versions have.
    name: 'semver: calendar versions with leading zeros rank by their numbers (22.04 is 22.4.0)',
    keep: 2,
    rules: { order: 'semver' },
    images: [img('a', ['22.04'], ago(9)), img('b', ['22.10'], ago(9)), img('c', ['2024.01.15'], ago(9)), img('d', ['20.04.6'], ago(1))],
    expect: {
      c: ['keep', 'newest 2 (by semver)'],
      b: ['keep', 'newest 2 (by semver)'],
      a: ['delete', 'beyond the newest 2'],
      d: ['delete', 'beyond the newest 2'],
    },
  },
  {
    name: 'semver: an image with several version tags is ranked by its highest',
    keep: 1,
    rules: { order: 'semver' },
    images: [img('a', ['1.0.0', '3.0.0'], ago(9)), img('b', ['2.0.0'], ago(1))],
    expect: { a: ['keep', 'newest 1'], b: ['delete', 'beyond the newest 1'] },
  },

  // --- order name ----------------------------------------------------------------------------------------------
  {
    name: 'name: tag names decide (numeric-aware), not created',
    keep: 1,
    rules: { order: 'name' },
    images: [img('a', ['build-9'], ago(1)), img('b', ['build-10'], ago(30)), img('c', ['build-2'], ago(2))],
    expect: {
      b: ['keep', 'newest 1 (by name)'],
      a: ['delete', 'beyond the newest 1 (by name)'],
      c: ['delete', 'beyond the newest 1 (by name)'],
    },
  },

  // --- multi-arch indexes ------------------------------------------------------------------------------------
  {
    name: 'a multi-arch index is an image like any other (created = its newest child)',
    keep: 1,
    images: [index('idx', ['v2'], ago(1), ['amd64', 'arm64']), img('old', ['v1'], ago(5))],
    expect: { idx: ['keep', 'newest 1'], old: ['delete', 'beyond the newest 1'] },
  },
  {
    name: 'an old index is deleted like any other image',
    keep: 1,
    images: [img('new', ['v2'], ago(1)), index('idx', ['v1'], ago(5), ['amd64', 'arm64'])],
    expect: { new: ['keep', 'newest 1'], idx: ['delete', 'beyond the newest 1'] },
  },
  {
    name: 'a kept index protects an image that is one of its children',
    keep: 1,
    images: [index('idx', ['latest'], ago(1), ['child', 'other']), img('mid', ['mid'], ago(2)), img('child', ['v1-amd64'], ago(3))],
    expect: {
      idx: ['keep', 'newest 1'],
      mid: ['delete', 'beyond the newest 1'],
      child: ['keep', `referenced by kept index ${shortOf('idx')}`, 'latest'],
    },
  },
  {
    name: 'an index protected by exclude protects its child too',
    keep: 0,
    rules: { exclude: 'stable' },
    images: [index('idx', ['stable'], ago(9), ['child']), img('child', ['stable-amd64'], ago(9))],
    expect: { idx: ['keep', 'matches --exclude'], child: ['keep', 'referenced by kept index'] },
  },
  {
    name: 'a deleted index takes its tagged platform images along',
    keep: 0,
    images: [index('idx', ['v1'], ago(2), ['child']), img('child', ['v1-amd64'], ago(3))],
    expect: { idx: ['delete', 'beyond the newest 0'], child: ['delete', `platform image of deleted index ${shortOf('idx')} (v1)`] },
  },
  {
    // Found by an audit (docker manifest create): each release is an index and its platform images, tagged on
    // their own. Ranked alone, 2-arm64 tied with index 2 (an index is as old as its newest child), won the only
    // slot by its name, and index 2 went: the release no longer pulled as multi-arch, its amd64 image was deleted.
    name: 'platform images tagged on their own take no keep slot: -k counts releases',
    keep: 1,
    images: [
      index('r2', ['2'], ago(5), ['2-amd64', '2-arm64']),
      img('2-amd64', ['2-amd64'], ago(6)),
      img('2-arm64', ['2-arm64'], ago(5)),
      index('r1', ['1'], ago(9), ['1-amd64', '1-arm64']),
      img('1-amd64', ['1-amd64'], ago(10)),
      img('1-arm64', ['1-arm64'], ago(9)),
    ],
    expect: {
      r2: ['keep', 'newest 1'],
      '2-amd64': ['keep', `referenced by kept index ${shortOf('r2')} (2)`],
      '2-arm64': ['keep', `referenced by kept index ${shortOf('r2')} (2)`],
      r1: ['delete', 'beyond the newest 1'],
      '1-amd64': ['delete', `platform image of deleted index ${shortOf('r1')} (1)`],
      '1-arm64': ['delete', `platform image of deleted index ${shortOf('r1')} (1)`],
    },
  },
  {
    // Found by a review: one that is newer than what is kept, or outside the date window, stays as any image would.
    name: 'a platform image tagged on its own stays when it is newer than the last image kept, though its index goes',
    keep: 1,
    rules: { order: 'semver' },
    images: [index('old-list', ['0.9.0'], ago(9), ['x']), img('x', ['1.0.1'], ago(9)), img('plain', ['1.0.0'], ago(5))],
    expect: {
      plain: ['keep', 'newest 1 (by semver)'],
      x: ['keep', 'newest 1 (by semver): newer than the last image kept, though its index goes'],
      'old-list': ['delete', 'beyond the newest 1'],
    },
  },
  {
    // Found by a review: by the name tie-break (every date the same, as ko and nix give), amd64-1.0 outranked both
    // indexes, stayed, and took the next run's slot from index 1.1 as an image of its own.
    name: 'a platform image tagged on its own is newer than the last image kept by its date only, not by its name',
    keep: 1,
    images: [
      index('i10', ['1.0'], '1970-01-01T00:00:00Z', ['amd64-1.0', 'arm64v8-1.0']),
      img('amd64-1.0', ['amd64-1.0'], '1970-01-01T00:00:00Z'),
      img('arm64v8-1.0', ['arm64v8-1.0'], '1970-01-01T00:00:00Z'),
      index('i11', ['1.1'], '1970-01-01T00:00:00Z', ['amd64-1.1', 'arm64v8-1.1']),
      img('amd64-1.1', ['amd64-1.1'], '1970-01-01T00:00:00Z'),
      img('arm64v8-1.1', ['arm64v8-1.1'], '1970-01-01T00:00:00Z'),
    ],
    expect: {
      i11: ['keep', 'newest 1 (by created)'],
      'amd64-1.1': ['keep', `referenced by kept index ${shortOf('i11')}`],
      'arm64v8-1.1': ['keep', `referenced by kept index ${shortOf('i11')}`],
      i10: ['delete', 'beyond the newest 1'],
      'amd64-1.0': ['delete', `platform image of deleted index ${shortOf('i10')}`],
      'arm64v8-1.0': ['delete', `platform image of deleted index ${shortOf('i10')}`],
    },
    notes: ['2 images share the creation date 1970-01-01T00:00:00Z and only 1 of them fit in the newest 1'],
  },
  {
    name: 'a platform image tagged on its own outside the date window stays when its index goes',
    keep: 0,
    rules: { newerThan: '90d' },
    images: [index('r1', ['1'], ago(10), ['1-amd64', '1-arm64']), img('1-amd64', ['1-amd64'], ago(500)), img('1-arm64', ['1-arm64'], ago(10))],
    expect: {
      r1: ['delete', 'inside the date window'],
      '1-amd64': ['keep', 'outside the date window (newer than 90 days)'],
      '1-arm64': ['delete', `platform image of deleted index ${shortOf('r1')}`],
    },
  },
  {
    // An outer index whose entry for the inner one has no index media type: the outer's children lack the inner's.
    name: 'a platform image tagged on its own listed only by a nested index goes with that index',
    keep: 0,
    rules: { order: 'name' },
    images: [index('outer', ['o'], null, ['inner']), index('inner', [], null, ['c']), img('c', ['c-amd64'], null)],
    expect: {
      outer: ['delete', 'beyond the newest 0'],
      inner: ['delete', `platform image of deleted index ${shortOf('outer')}`],
      c: ['delete', `platform image of deleted index ${shortOf('inner')}`],
    },
  },
  {
    name: 'a platform image tagged on its own that --exclude protects stays when its index goes',
    keep: 0,
    rules: { exclude: '.*-amd64' },
    images: [index('r1', ['1'], ago(9), ['1-amd64', '1-arm64']), img('1-amd64', ['1-amd64'], ago(10)), img('1-arm64', ['1-arm64'], ago(9))],
    expect: {
      r1: ['delete', 'beyond the newest 0'],
      '1-amd64': ['keep', 'matches --exclude'],
      '1-arm64': ['delete', `platform image of deleted index ${shortOf('r1')}`],
    },
  },

  // --- cosign signatures, attestations, SBOMs ----------------------------------------------------------------
  {
    name: 'cosign tags are not counted for keep-N and follow their subject',
    keep: 2,
    images: [
      img('a', ['v3'], ago(1)),
      img('b', ['v2'], ago(2)),
      img('c', ['v1'], ago(3)),
      cosign('sig-a', 'sig', 'a'),
      cosign('sig-b', 'sig', 'b'),
      cosign('sig-c', 'sig', 'c'),
      cosign('att-c', 'att', 'c'),
      cosign('sbom-a', 'sbom', 'a'),
    ],
    expect: {
      a: ['keep', 'newest 2'],
      b: ['keep', 'newest 2'],
      c: ['delete', 'beyond the newest 2'],
      'sig-a': ['keep', `signature of kept image ${shortOf('a')}`],
      'sig-b': ['keep', `signature of kept image ${shortOf('b')}`],
      'sig-c': ['delete', `signature of deleted image ${shortOf('c')}`],
      'att-c': ['delete', `attestation of deleted image ${shortOf('c')}`],
      'sbom-a': ['keep', `SBOM of kept image ${shortOf('a')}`],
    },
  },
  {
    name: 'cosign tags are not touched by include, exclude or -k: they follow a protected subject',
    keep: 0,
    rules: { include: 'v.*', exclude: 'v9' },
    images: [img('p', ['v9'], ago(1)), img('d', ['v1'], ago(2)), cosign('sig-p', 'sig', 'p'), cosign('sig-d', 'sig', 'd')],
    expect: {
      p: ['keep', 'matches --exclude'],
      d: ['delete', 'beyond the newest 0'],
      'sig-p': ['keep', 'signature of kept image'],
      'sig-d': ['delete', 'signature of deleted image'],
    },
  },
  {
    name: 'a signature of a child kept by its index is kept',
    keep: 0,
    rules: { exclude: 'stable' },
    images: [index('idx', ['stable'], ago(1), ['child']), img('child', ['amd64'], ago(1)), cosign('sig-child', 'sig', 'child')],
    expect: {
      idx: ['keep', 'matches --exclude'],
      child: ['keep', 'referenced by kept index'],
      'sig-child': ['keep', `signature of kept image ${shortOf('child')}`],
    },
  },

  // --- OCI referrers (subject) --------------------------------------------------------------------------------
  {
    name: 'an artifact with a subject follows its subject',
    keep: 1,
    images: [img('a', ['v2'], ago(1)), img('b', ['v1'], ago(2)), referrer('ref-a', 'a'), referrer('ref-b', 'b')],
    expect: {
      a: ['keep', 'newest 1'],
      b: ['delete', 'beyond the newest 1'],
      'ref-a': ['keep', `referrer of kept image ${shortOf('a')}`],
      'ref-b': ['delete', `referrer of deleted image ${shortOf('b')}`],
    },
  },
  {
    name: 'a signature of a referrer follows the chain to the image',
    keep: 0,
    images: [img('a', ['v1'], ago(1)), referrer('ref-a', 'a'), cosign('sig-ref', 'sig', 'ref-a')],
    expect: {
      a: ['delete', 'beyond the newest 0'],
      'ref-a': ['delete', `referrer of deleted image ${shortOf('a')}`],
      'sig-ref': ['delete', `signature of deleted image ${shortOf('a')}`],
    },
  },

  // --- orphans ---------------------------------------------------------------------------------------------------
  {
    name: 'an orphaned signature (subject not in the repository) is kept with a note',
    keep: 0,
    images: [img('a', ['v1'], ago(1)), cosign('sig-ghost', 'sig', 'ghost')],
    expect: {
      a: ['delete', 'beyond the newest 0'],
      'sig-ghost': ['keep', 'orphaned signature', `its subject ${shortOf('ghost')} is not in the repository`],
    },
    notes: [`orphaned signature ${cosignTag('ghost', 'sig')}`, `subject ${shortOf('ghost')} is gone`],
  },
  {
    name: 'an orphaned referrer is kept with a note',
    keep: 0,
    images: [referrer('ref-ghost', 'ghost', ['sbom-1'])],
    expect: { 'ref-ghost': ['keep', 'orphaned referrer'] },
    notes: ['orphaned referrer sbom-1', `subject ${shortOf('ghost')} is gone`],
  },
];

describe('planRepository: the rules', () => {
  test.each(cases)('$name', ({ keep, rules, images, expect: expected, notes }) => {
    const plan = planRepository(repo(images), buildPolicy(keep, rules ?? {}), NOW);

    // the table row names every image of its inventory, and the plan decides each exactly once
    expect(Object.keys(expected).sort()).toEqual(images.map((i) => labels.get(i.digest)!).sort());
    // ...plus the untagged platform manifests of deleted indexes, which follow their index (checked below)
    const children = planned(plan).filter((p) => p.reason.startsWith('platform manifest of deleted index'));
    expect(planned(plan).filter((p) => !children.includes(p)).map((p) => p.digest).sort()).toEqual(images.map((i) => i.digest).sort());

    for (const [label, [action, ...why]] of Object.entries(expected)) {
      const p = find(plan, label);
      expect({ label, action: p.action }).toEqual({ label, action });
      for (const part of why) expect({ label, reason: p.reason }).toEqual({ label, reason: expect.stringContaining(part) });
    }
    expect(plan.keep.every((p) => p.action === 'keep')).toBe(true);
    expect(plan.delete.every((p) => p.action === 'delete')).toBe(true);

    if (notes) for (const part of notes) expect(plan.notes).toContainEqual(expect.stringContaining(part));
    else expect(plan.notes).toEqual([]);
    expect(plan.empty).toBe(false);
  });
});

describe('planRepository: untagged platform manifests', () => {
  test('go with their deleted index, after it; one shared with a kept index stays', () => {
    const images = [index('new', ['v2'], ago(1), ['shared', 'arm-new']), index('old', ['v1'], ago(5), ['shared', 'amd-old', 'arm-old'])];
    const plan = planRepository(repo(images), buildPolicy(1, {}), NOW);
    const old = find(plan, 'old');
    expect(old.action).toBe('delete');
    const children = plan.delete.filter((p) => p.follows === old.digest);
    expect(children.map((c) => c.digest).sort()).toEqual([digestOf('amd-old'), digestOf('arm-old')].sort());
    for (const child of children) expect(child).toMatchObject({ tags: [], action: 'delete', reason: expect.stringContaining('platform manifest of deleted index') });
    expect(planned(plan).some((p) => p.digest === digestOf('shared'))).toBe(false);
    expect(find(plan, 'new').children).toEqual([digestOf('shared'), digestOf('arm-new')]);
  });
});

describe('planRepository: empty repositories', () => {
  test.each([
    { name: '"tags": null', tags: null },
    { name: 'an empty tag list', tags: [] },
  ])('$name → empty, nothing to keep or delete', ({ tags }) => {
    const plan = planRepository({ name: 'gone', tags, images: [] }, buildPolicy(3, {}), NOW);
    expect(plan).toMatchObject({ name: 'gone', empty: true, keep: [], delete: [], notes: [] });
  });
});

test('an age is counted in UTC days, whatever the machine zone: a local day across a DST change has 23 hours', () => {
  // Berlin moves to summer time on 2026-03-29: one local day before 12:00Z that day is 13:00Z, one UTC day 12:00Z.
  const deleted = (tz: string) =>
    inZone<string[]>(tz, `
      const { planRepository } = await import(DIST + 'planner/plan.js');
      const { buildPolicy } = await import(DIST + 'config/rules.js');
      const image = (tag, created) => ({ digest: 'sha256:' + tag.padEnd(64, '0'), tags: [tag], created, kind: 'image', mediaType: 'application/vnd.oci.image.manifest.v1+json' });
      const images = [image('a', '2026-03-28T11:59:00Z'), image('b', '2026-03-28T12:30:00Z')];
      const plan = planRepository({ name: 'app', tags: ['a', 'b'], images }, buildPolicy(0, { olderThan: '1d' }), new Date('2026-03-29T12:00:00Z'));
      return plan.delete.map((p) => p.tags[0]);`);
  expect(deleted('UTC')).toEqual(['a']);
  expect(deleted('Europe/Berlin')).toEqual(['a']);
});

describe('planRepository as a function', () => {
  const inventory = () =>
    repo([
      index('idx', ['v3', 'latest'], ago(1), ['child']),
      img('child', ['v3-amd64'], ago(1)),
      img('b', ['v2'], ago(10)),
      img('c', ['v1', 'stable'], ago(40)),
      img('d', ['v0'], ago(50)),
      img('x', ['unknown'], null),
      cosign('sig-b', 'sig', 'b'),
      cosign('sig-ghost', 'sig', 'ghost'),
      referrer('ref-d', 'd'),
    ]);
  const policy = () => buildPolicy(1, { exclude: 'stable', olderThan: '7d' });

  function deepFreeze<T>(value: T): T {
    if (value && typeof value === 'object' && !Object.isFrozen(value)) {
      Object.freeze(value);
      for (const v of Object.values(value)) deepFreeze(v);
    }
    return value;
  }

  test('does not mutate its input', () => {
    const inv = inventory();
    const before = JSON.stringify(inv);
    const pol = policy();
    const polBefore = JSON.stringify(pol);
    deepFreeze(inv);
    expect(() => planRepository(inv, pol, NOW)).not.toThrow();
    expect(JSON.stringify(inv)).toBe(before);
    expect(JSON.stringify(pol)).toBe(polBefore);
  });

  test('the plan does not share arrays with the inventory', () => {
    const inv = inventory();
    const plan = planRepository(inv, policy(), NOW);
    for (const p of planned(plan)) {
      const source = inv.images.find((i) => i.digest === p.digest)!;
      expect(p.tags).not.toBe(source.tags);
    }
  });

  test('is deterministic: the same inputs give the same plan', () => {
    const first = planRepository(inventory(), policy(), NOW);
    const second = planRepository(inventory(), policy(), new Date(NOW.getTime()));
    expect(second).toEqual(first);
  });

  test('decisions do not depend on the order of the inventory', () => {
    const decisions = (plan: RepoPlan) =>
      Object.fromEntries(
        planned(plan)
          .map((p) => [p.digest, `${p.action}: ${p.reason}`])
          .sort(),
      );
    const inv = inventory();
    const reversed = { ...inv, images: [...inv.images].reverse() };
    expect(decisions(planRepository(reversed, policy(), NOW))).toEqual(decisions(planRepository(inv, policy(), NOW)));
  });

  test('only `now` moves the age window (no clock inside)', () => {
    const inv = repo([img('a', ['a'], ago(10))]);
    const pol = buildPolicy(0, { olderThan: '30d' });
    expect(find(planRepository(inv, pol, NOW), 'a').action).toBe('keep');
    expect(find(planRepository(inv, pol, new Date(NOW.getTime() + 30 * DAY)), 'a').action).toBe('delete');
  });

  test('planned images carry their tags sorted, created, kind and subject', () => {
    const plan = planRepository(repo([img('a', ['b-tag', 'a-tag'], ago(1)), referrer('r', 'a')]), buildPolicy(1, {}), NOW);
    expect(find(plan, 'a')).toMatchObject({ tags: ['a-tag', 'b-tag'], created: ago(1), kind: 'image' });
    expect(find(plan, 'r')).toMatchObject({ kind: 'artifact', subject: digestOf('a') });
  });

  test('freedBytes: blobs still used by a kept image are not counted', () => {
    const blob = (d: string, size: number) => ({ digest: `sha256:${d}`, size });
    const a = { ...img('a', ['v2'], ago(1)), blobs: [blob('shared', 100), blob('a-only', 10)] };
    const b = { ...img('b', ['v1'], ago(2)), blobs: [blob('shared', 100), blob('b-only', 7)] };
    expect(planRepository(repo([a, b]), buildPolicy(1, {}), NOW).freedBytes).toBe(7);
    expect(planRepository(repo([a, b]), buildPolicy(0, {}), NOW).freedBytes).toBe(117);
    expect(planRepository(repo([img('a', ['v2'], ago(1)), img('b', ['v1'], ago(2))]), buildPolicy(1, {}), NOW).freedBytes).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Regressions: each of these crashed or misplanned once.
// ---------------------------------------------------------------------------------------------------------------

describe('planner regressions', () => {
  test('an artifact without a subject (e.g. an OCI Helm chart) is planned instead of crashing the run', () => {
    // describe.ts gives kind "artifact" to any manifest whose config is not an image config (Helm charts, WASM,
    // standalone SBOMs), subject or not. plan.ts once called short(undefined) on them and threw a TypeError.
    const chart = (label: string, tag: string, created: string | null) => build(label, [tag], created, 'artifact');
    const inv = repo([chart('c1', '0.1.0', null), chart('c2', '0.2.0', null)], 'charts/app');
    let plan: RepoPlan | undefined;
    expect(() => {
      plan = planRepository(inv, buildPolicy(1, { order: 'semver' }), NOW);
    }).not.toThrow();
    expect(planned(plan!).map((p) => p.digest).sort()).toEqual([digestOf('c1'), digestOf('c2')].sort());
  });

  test('a signature of an untagged index child (cosign sign --recursive) follows the index, it is not "orphaned"', () => {
    const images = (idxTag: string) => [
      index('idx', [idxTag], ago(1), ['amd64', 'arm64']),
      cosign('sig-idx', 'sig', 'idx'),
      cosign('sig-amd64', 'sig', 'amd64'),
    ];
    const kept = planRepository(repo(images('stable')), buildPolicy(0, { exclude: 'stable' }), NOW);
    expect(find(kept, 'sig-amd64')).toMatchObject({ action: 'keep', reason: `signature of kept index ${shortOf('idx')} (it refers to ${shortOf('amd64')})` });
    expect(kept.notes).toEqual([]);

    const deleted = planRepository(repo(images('v1')), buildPolicy(0, {}), NOW);
    expect(find(deleted, 'idx').action).toBe('delete');
    expect(find(deleted, 'sig-amd64')).toMatchObject({ action: 'delete', reason: `signature of deleted index ${shortOf('idx')} (it refers to ${shortOf('amd64')})` });
    // It names the platform manifest it signs: re-verification keeps it if that manifest stays.
    expect(find(deleted, 'sig-amd64')).toMatchObject({ follows: find(deleted, 'idx').digest, subject: digestOf('amd64') });
  });

  test('a referrers-tag index (sha256-<hex>, notation/oras without the API) takes the untagged referrers it lists along', () => {
    const images = (subjectTag: string) => [
      img('a', [subjectTag], ago(1)),
      build('list', [`sha256-${hex('a')}`], null, 'index', { children: [digestOf('nsig'), digestOf('sbom')] }),
    ];
    const deleted = planRepository(repo(images('v1')), buildPolicy(0, {}), NOW);
    expect(find(deleted, 'list')).toMatchObject({ action: 'delete', kind: 'artifact', follows: digestOf('a') });
    for (const label of ['nsig', 'sbom']) {
      expect(find(deleted, label)).toMatchObject({ action: 'delete', kind: 'artifact', follows: digestOf('list'), subject: digestOf('a'), reason: `referrer listed by deleted sha256-${hex('a')}` });
    }
    const kept = planRepository(repo(images('stable')), buildPolicy(0, { exclude: 'stable' }), NOW);
    expect(find(kept, 'list').action).toBe('keep');
    expect(kept.delete).toEqual([]);
  });

  test('a platform manifest two indexes share: its signature stays while either index stays, and no list plans it twice', () => {
    const inv = repo([
      index('old', ['v1'], ago(3), ['amd64', 'arm64']),
      index('new', ['v2'], ago(1), ['arm64', 'riscv']),
      cosign('sig-arm64', 'sig', 'arm64'),
      build('list', [`sha256-${hex('old')}`], null, 'index', { children: [digestOf('arm64'), digestOf('nsig')] }),
    ]);
    const plan = planRepository(inv, buildPolicy(1, {}), NOW);
    expect(find(plan, 'old').action).toBe('delete');
    expect(find(plan, 'sig-arm64')).toMatchObject({ action: 'keep', subject: digestOf('arm64') });
    expect(plan.delete.map((p) => p.digest).sort()).toEqual([digestOf('old'), digestOf('amd64'), digestOf('list'), digestOf('nsig')].sort());
  });

  test('reasons do not depend on the machine time zone (before/after are shown with formatISO, in local time)', () => {
    const inv = repo([img('a', ['a'], '2024-06-30T00:00:00Z')]);
    const pol = buildPolicy(0, { before: '2024-06-01', after: '2024-01-01' });
    const inUtc = find(planRepository(inv, pol, NOW), 'a').reason;
    // a laptop in Tokyo: Date#getTimezoneOffset() is -540 there
    const spy = jest.spyOn(Date.prototype, 'getTimezoneOffset').mockReturnValue(-540);
    try {
      const inTokyo = find(planRepository(inv, pol, NOW), 'a').reason;
      expect(inTokyo).toBe(inUtc);
    } finally {
      spy.mockRestore();
    }
  });
});

describe('planNamed (cleanreg delete)', () => {
  const inv = () =>
    repo([
      img('a', ['a'], ago(3)),
      cosign('sig-a', 'sig', 'a'),
      referrer('sbom-a', 'a', []),
      img('b', ['b'], ago(2)),
      cosign('sig-b', 'sig', 'b'),
      index('multi', ['multi'], ago(1), ['amd64', 'arm64']),
    ]);

  test('the named manifests go with what follows them; every other image stays with its own artifacts', () => {
    const plan = planNamed(inv(), new Map([[digestOf('a'), 'named: app:a'], [digestOf('multi'), 'named: app:multi']]));
    expect(find(plan, 'a')).toMatchObject({ action: 'delete', reason: 'named: app:a' });
    expect(find(plan, 'sig-a')).toMatchObject({ action: 'delete', kind: 'artifact', follows: digestOf('a') });
    expect(find(plan, 'sbom-a')).toMatchObject({ action: 'delete', follows: digestOf('a'), subject: digestOf('a') });
    for (const child of ['amd64', 'arm64']) expect(find(plan, child)).toMatchObject({ action: 'delete', follows: digestOf('multi') });
    expect(find(plan, 'b')).toMatchObject({ action: 'keep', reason: 'not named' });
    expect(find(plan, 'sig-b')).toMatchObject({ action: 'keep', follows: digestOf('b') });
    expect(plan.delete).toHaveLength(6);
  });

  test('an artifact named alone goes by itself, as an artifact; its image stays', () => {
    const plan = planNamed(inv(), new Map([[digestOf('sig-b'), 'named: app:sig']]));
    expect(plan.delete).toEqual([expect.objectContaining({ digest: digestOf('sig-b'), kind: 'artifact', reason: 'named: app:sig' })]);
    expect(plan.delete[0].follows).toBeUndefined();
    expect(find(plan, 'b').action).toBe('keep');
  });

  test('an artifact tagged by name stays unless named; the signature of a named SBOM follows the SBOM', () => {
    const inv = repo([img('a', ['a'], ago(3)), referrer('sbom', 'a', ['sbom-1.0']), cosign('sig-sbom', 'sig', 'sbom'), referrer('att', 'a', [])]);
    const withImage = planNamed(inv, new Map([[digestOf('a'), 'named: app:a']]));
    expect(find(withImage, 'sbom')).toMatchObject({ action: 'keep', kind: 'artifact', reason: 'tagged sbom-1.0, not named' });
    expect(find(withImage, 'sig-sbom')).toMatchObject({ action: 'keep', follows: digestOf('sbom') });
    expect(find(withImage, 'att')).toMatchObject({ action: 'delete', follows: digestOf('a') });
    const sbomAlone = planNamed(inv, new Map([[digestOf('sbom'), 'named: app:sbom-1.0']]));
    expect(find(sbomAlone, 'sbom')).toMatchObject({ action: 'delete', named: true, subject: digestOf('a') });
    expect(find(sbomAlone, 'sig-sbom')).toMatchObject({ action: 'delete', follows: digestOf('sbom'), reason: `signature of deleted artifact ${shortOf('sbom')}` });
    expect(find(sbomAlone, 'a').action).toBe('keep');
  });
});

describe('how a plan is shown', () => {
  test('under --order semver or name the table lists images in that ranking (none has a date), unversioned last', async () => {
    const inv = repo([img('a', ['1.2'], null), img('b', ['v1.10.0'], null), img('c', ['v1.9.0'], null), img('d', ['v2.0.0'], null), img('e', ['latest'], null)]);
    const semver = await renderPlanTable(planRepository(inv, buildPolicy(1, { order: 'semver' }), NOW), NOW, false);
    const rows = (table: string, tags: string[]) => tags.map((t) => table.indexOf(`│ ${t} `));
    const [v1_10, v1_9, v1_2] = rows(semver, ['v1.10.0', 'v1.9.0', '1.2']);
    expect(v1_10).toBeLessThan(v1_9);
    expect(v1_9).toBeLessThan(v1_2);
    expect(semver.indexOf('│ v2.0.0 ')).toBeLessThan(semver.indexOf('│ latest '));
    const names = repo([img('f1', ['feat-1'], null), img('f10', ['feat-10'], null), img('f2', ['feat-2'], null)]);
    const byName = await renderPlanTable(planRepository(names, buildPolicy(0, { order: 'name' }), NOW), NOW, false);
    const [f10, f2, f1] = rows(byName, ['feat-10', 'feat-2', 'feat-1']);
    expect(f10).toBeLessThan(f2);
    expect(f2).toBeLessThan(f1);
  });

  test('an image created in the future is noted: it counts as the newest, most likely by a wrong clock', () => {
    const plan = planRepository(repo([img('a', ['a'], ago(1)), img('z', ['z'], ago(-30))]), buildPolicy(1, {}), NOW);
    expect(find(plan, 'z').action).toBe('keep');
    expect(plan.notes).toEqual([`z: created ${ago(-30)}, in the future (a build machine's clock?); it counts as the newest`]);
  });

  test('images created at one moment on both sides of the newest-N line are noted: tag names decided', () => {
    const same = ago(400);
    const inv = repo([img('v1', ['v1'], same), img('v2', ['v2'], same), img('v3', ['v3'], same), img('v4', ['v4'], same), img('old', ['old'], ago(500))]);
    const plan = planRepository(inv, buildPolicy(2, {}), NOW);
    expect(['v4', 'v3'].map((t) => find(plan, t).action)).toEqual(['keep', 'keep']);
    expect(plan.notes).toEqual([`4 images share the creation date ${same} and only 2 of them fit in the newest 2: the highest tag names were kept (use --order semver or name to choose by tag)`]);
    // No note when the line falls between two dates, when all fit, or when the order is not by date.
    expect(planRepository(inv, buildPolicy(4, {}), NOW).notes).toEqual([]);
    expect(planRepository(inv, buildPolicy(5, {}), NOW).notes).toEqual([]);
    expect(planRepository(inv, buildPolicy(2, { order: 'name' }), NOW).notes).toEqual([]);
    expect(planRepository(inv, buildPolicy(0, {}), NOW).notes).toEqual([]);
    // Nor when the date window keeps the tied images beyond the line anyway.
    expect(planRepository(inv, buildPolicy(2, { olderThan: '450d' }), NOW).notes).toEqual([]);
  });
});
