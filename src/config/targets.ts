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

/**
 * The glob as picomatch reads it. picomatch takes `[!a]` for "`!` or `a`", where a shell means "anything but `a`"
 * (and selected exactly the repositories the user meant to leave out): written `[^a]`, which picomatch negates.
 * No repository name has a `!`, so no other reading is lost.
 */
function picomatchGlob(pattern: string): string {
  return pattern.replaceAll('[!', '[^');
}

/** A problem with a repository name or glob, or undefined. Names follow the distribution spec. */
export function checkRepositoryPattern(pattern: string): string | undefined {
  if (isGlob(pattern)) {
    try {
      picomatch.makeRe(picomatchGlob(pattern));
      return undefined;
    } catch (error) {
      return `invalid repository glob "${pattern}": ${(error as Error).message}`;
    }
  }
  if (pattern.split('/').every((c) => NAME_COMPONENT.test(c))) return undefined;
  return `invalid repository name "${pattern}": use lowercase letters, digits and . _ - separated by /, or a glob such as team/*`;
}

/**
 * A test for repository names. `*` stays within one path segment, `**` crosses slashes. A trailing `/**` means what
 * is under a path, as in .gitignore: a name one of whose parent paths the rest of the pattern matches
 * (`team/**`: `team/api`, `team/a/b`, not `team` itself, which picomatch alone would select; `**` + `/**`: every
 * name with a slash).
 */
function repositoryMatcher(pattern: string): (name: string) => boolean {
  if (!isGlob(pattern)) return (name) => name === pattern;
  if (!pattern.endsWith('/**')) return picomatch(picomatchGlob(pattern), { dot: true });
  const isParent = repositoryMatcher(pattern.slice(0, -3));
  return (name) => {
    for (let slash = name.indexOf('/'); slash > 0; slash = name.indexOf('/', slash + 1)) if (isParent(name.slice(0, slash))) return true;
    return false;
  };
}

/** Picks, for each repository of the catalog, the first target that matches it. */
export function matchTargets(repositories: Iterable<string>, targets: Target[]): { repo: string; target: Target }[] {
  const matchers = targets.map((t) => repositoryMatcher(t.pattern));
  const matched: { repo: string; target: Target }[] = [];
  for (const repo of repositories) {
    const i = matchers.findIndex((m) => m(repo));
    if (i >= 0) matched.push({ repo, target: targets[i] });
  }
  return matched;
}

/**
 * The lines that can never win: an earlier line selects their repository, or every repository of the catalog they
 * match (a name below a catch-all `**`). Each comes with the lines that win instead.
 */
export function shadowedTargets(targets: Target[], catalog: readonly string[] = []): { target: Target; by: Target[] }[] {
  const matchers = targets.map((t) => repositoryMatcher(t.pattern));
  const shadowed: { target: Target; by: Target[] }[] = [];
  targets.forEach((target, i) => {
    const names = isGlob(target.pattern) ? catalog.filter((name) => matchers[i](name)) : [target.pattern];
    const winners = new Set<Target>();
    for (const name of names) {
      const first = matchers.findIndex((m) => m(name));
      if (first === i) return;
      winners.add(targets[first]);
    }
    if (winners.size) shadowed.push({ target, by: [...winners] });
  });
  return shadowed;
}
