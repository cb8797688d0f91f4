import semverGt from 'semver/functions/gt.js';
import semverParse from 'semver/functions/parse.js';
import semverRcompare from 'semver/functions/rcompare.js';
import type { SemVer } from 'semver';
import type { Image, Order } from './types.js';

/** A tag as a semantic version: a leading `v` is allowed, `1` and `1.2` count as `1.0.0` and `1.2.0`. */
export function tagVersion(tag: string): SemVer | null {
  const bare = tag.replace(/^v(?=\d)/i, '');
  const padded = /^\d+$/.test(bare) ? `${bare}.0.0` : /^\d+\.\d+$/.test(bare) ? `${bare}.0` : bare;
  return semverParse(padded, { loose: true });
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

/** Compares so that the newest image sorts first; ties fall back to the tag name, then the digest. */
export function newestFirst(order: Order): (a: Image, b: Image) => number {
  const tieBreak = (a: Image, b: Image) => byName.compare(highestName(b), highestName(a)) || (a.digest < b.digest ? -1 : 1);
  switch (order) {
    case 'created':
      return (a, b) => Date.parse(b.created ?? '') - Date.parse(a.created ?? '') || tieBreak(a, b);
    case 'semver':
      return (a, b) => semverRcompare(highestVersion(a)!, highestVersion(b)!) || tieBreak(a, b);
    case 'name':
      return tieBreak;
  }
}

/**
 * The same ranking for showing a plan, where protected images may have no version (`--order semver` keeps tags
 * that are not one): those come after the ranked ones.
 */
export function rankedFirst(order: Order): (a: Image, b: Image) => number {
  if (order !== 'semver') return newestFirst(order);
  const ranked = newestFirst(order);
  return (a, b) => {
    const [va, vb] = [highestVersion(a), highestVersion(b)];
    return va && vb ? ranked(a, b) : va ? -1 : vb ? 1 : byName.compare(highestName(b), highestName(a));
  };
}
