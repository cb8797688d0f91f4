import picomatch from 'picomatch';
import type { Policy } from '../planner/types.js';

/** One selection of repositories (a name or a glob) with the policy that applies to them. */
export interface Target {
  pattern: string;
  policy: Policy;
  /** Where it was written: `repos.conf:3` or `-n`. */
  source: string;
}

const NAME_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

/**
 * A glob: `*` or `?`, or what picomatch reads as glob syntax (`[ab]`, `{a,b}`). A lone "[", "{" or "(" is a
 * literal character there, which no repository name has: such a pattern is checked, and refused, as a name.
 */
export function isGlob(pattern: string): boolean {
  return /[*?]/.test(pattern) || picomatch.scan(pattern, { noparen: true }).isGlob;
}

/** A problem with a repository name or glob, or undefined. Names follow the distribution spec. */
export function checkRepositoryPattern(pattern: string): string | undefined {
  if (isGlob(pattern)) {
    try {
      picomatch.makeRe(pattern);
      return undefined;
    } catch (error) {
      return `invalid repository glob "${pattern}": ${(error as Error).message}`;
    }
  }
  if (pattern.split('/').every((c) => NAME_COMPONENT.test(c))) return undefined;
  return `invalid repository name "${pattern}": use lowercase letters, digits and . _ - separated by /, or a glob such as team/*`;
}

/**
 * Picks, for each repository of the catalog, the first target that matches it. `*` stays within one path
 * segment, `**` crosses slashes.
 */
export function matchTargets(repositories: Iterable<string>, targets: Target[]): { repo: string; target: Target }[] {
  const matchers = targets.map((t) => (isGlob(t.pattern) ? picomatch(t.pattern, { dot: true }) : (name: string) => name === t.pattern));
  const matched: { repo: string; target: Target }[] = [];
  for (const repo of repositories) {
    const i = matchers.findIndex((m) => m(repo));
    if (i >= 0) matched.push({ repo, target: targets[i] });
  }
  return matched;
}
