import semverGt from 'semver/functions/gt.js';
import semverParse from 'semver/functions/parse.js';
import semverRcompare from 'semver/functions/rcompare.js';
import type { SemVer } from 'semver';
import type { Image, Order } from './types.js';

/**
 * A tag as a semantic version: a leading `v` is allowed, `1` and `1.2` count as `1.0.0` and `1.2.0`, and leading
 * zeros are read as numbers (calendar versions: `22.04` is 22.4.0, `2024.01.15` 2024.1.15). Strict otherwise:
 * semver's loose mode would also read `vv1.0.0`, `1.5.0beta` and `1.2.3-` as versions, to be deleted.
 */
export function tagVersion(tag: string): SemVer | null {
  const m = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(.*)$/i.exec(tag);
  if (!m) return null;
  const [, major, minor, patch, rest] = m;
  // `1-rc` and `1.2-rc` are not versions: only a bare `1` or `1.2` is padded.
  if (patch === undefined && rest) return null;
  const number = (digits = '0') => digits.replace(/^0+(?=\d)/, '');
  return semverParse(`${number(major)}.${number(minor)}.${number(patch)}${rest}`);
}

const byName = new Intl.Collator('en', { numeric: true });

function highestVersion(image: Image): SemVer | null {
  let best: SemVer | null = null;
  for (const tag of image.tags) {
    const v = tagVersion(tag);
    if (v && (!best || semverGt(v, best))) best = v;
  }
  return best;
}

function highestName(image: Image): string {
  return image.tags.reduce((a, b) => (byName.compare(a, b) >= 0 ? a : b), '');
}

/**
 * Compares so that the newest image sorts first; ties fall back to the tag name, then the digest. Under semver an
 * image without a version (only a plan's table has those: the policy protects them) sorts last. Each image's
 * version and name are worked out once per comparator, not once per comparison.
 */
export function newestFirst(order: Order): (a: Image, b: Image) => number {
  const once = <T>(of: (image: Image) => T) => {
    const known = new Map<Image, T>();
    return (image: Image) => (known.has(image) ? known.get(image)! : known.set(image, of(image)).get(image)!);
  };
  const name = once(highestName);
  const tieBreak = (a: Image, b: Image) => byName.compare(name(b), name(a)) || (a.digest < b.digest ? -1 : 1);
  switch (order) {
    case 'created':
      return (a, b) => Date.parse(b.created ?? '') - Date.parse(a.created ?? '') || tieBreak(a, b);
    case 'semver': {
      const version = once(highestVersion);
      return (a, b) => {
        const [va, vb] = [version(a), version(b)];
        return (va && vb ? semverRcompare(va, vb) : va ? -1 : vb ? 1 : 0) || tieBreak(a, b);
      };
    }
    case 'name':
      return tieBreak;
  }
}

/**
 * Whether `a` is newer than `b` by the order's own key alone, a date or a version: never by the tag-name tie-break,
 * and so never under `--order name`.
 */
export function strictlyNewer(order: Order, a: Image, b: Image): boolean {
  if (order === 'created') return Date.parse(a.created ?? '') > Date.parse(b.created ?? '');
  if (order === 'semver') {
    const [va, vb] = [highestVersion(a), highestVersion(b)];
    return !!va && !!vb && semverGt(va, vb);
  }
  return false;
}
