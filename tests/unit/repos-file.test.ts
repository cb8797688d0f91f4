/** repos.conf: cleanreg's two-column format, the key=value extensions, every error, and matching repositories. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from '@jest/globals';
import { ConfigError, UsageError } from '../../src/errors.js';
import { parseReposFile, readReposFile } from '../../src/config/repos-file.js';
import { checkRepositoryPattern, matchTargets, shadowedTargets, type Target } from '../../src/config/targets.js';
import { errorOf } from '../helpers/error-of.js';

const FILE = 'repos.conf';
const parse = (text: string) => parseReposFile(text, FILE);


/** What a target says, in plain values (RegExps by their source as the user wrote it). */
function summary(t: Target) {
  const p = t.policy;
  return {
    pattern: t.pattern,
    keep: p.keep,
    source: t.source,
    order: p.order,
    ignoreRefTags: p.ignoreRefTags,
    ...(p.include ? { include: String(p.include) } : {}),
    ...(p.exclude ? { exclude: String(p.exclude) } : {}),
    ...(p.before ? { before: p.before.toISOString() } : {}),
    ...(p.after ? { after: p.after.toISOString() } : {}),
    ...(p.olderThan ? { olderThan: p.olderThan } : {}),
    ...(p.newerThan ? { newerThan: p.newerThan } : {}),
  };
}

const plain = { order: 'created', ignoreRefTags: false };

describe('parseReposFile: what it reads', () => {
  test.each([
    {
      name: "cleanreg's two-column format",
      text: 'app 3\nteam/web 10\n',
      expected: [
        { pattern: 'app', keep: 3, source: 'repos.conf:1', ...plain },
        { pattern: 'team/web', keep: 10, source: 'repos.conf:2', ...plain },
      ],
    },
    {
      name: 'comments, blank lines, indentation, tabs, trailing comments (line numbers stay true)',
      text: '# images to keep per repository\n\n   \n\tapp\t\t3   # the main app\n  # indented comment\nteam/web 10 #trailing\n',
      expected: [
        { pattern: 'app', keep: 3, source: 'repos.conf:4', ...plain },
        { pattern: 'team/web', keep: 10, source: 'repos.conf:6', ...plain },
      ],
    },
    {
      name: 'Windows line endings',
      text: 'app 3\r\nweb 4\r\n',
      expected: [
        { pattern: 'app', keep: 3, source: 'repos.conf:1', ...plain },
        { pattern: 'web', keep: 4, source: 'repos.conf:2', ...plain },
      ],
    },
    {
      name: 'no final newline',
      text: 'app 3',
      expected: [{ pattern: 'app', keep: 3, source: 'repos.conf:1', ...plain }],
    },
    {
      name: 'every key=value option and the bare word ignore-ref-tags',
      text: 'app 5 include=v.* exclude=stable before=2024-06-01 after=2024-01-01T12:00:00+02:00 older-than=30d newer-than=100y order=semver ignore-ref-tags\n',
      expected: [
        {
          pattern: 'app',
          keep: 5,
          source: 'repos.conf:1',
          order: 'semver',
          ignoreRefTags: true,
          include: '/v.*/',
          exclude: '/stable/',
          before: '2024-06-01T00:00:00.000Z',
          after: '2024-01-01T10:00:00.000Z',
          olderThan: { days: 30 },
          newerThan: { years: 100 },
        },
      ],
    },
    {
      name: 'options on some lines only; each line has its own policy',
      text: 'app 2 order=name\nweb 1\n',
      expected: [
        { pattern: 'app', keep: 2, source: 'repos.conf:1', order: 'name', ignoreRefTags: false },
        { pattern: 'web', keep: 1, source: 'repos.conf:2', ...plain },
      ],
    },
    {
      name: 'double- and single-quoted values (spaces and # inside quotes)',
      text: `app 1 include="v1 .*" exclude='release #1'\n`,
      expected: [{ pattern: 'app', keep: 1, source: 'repos.conf:1', ...plain, include: '/v1 .*/', exclude: '/release #1/' }],
    },
    {
      name: 'a # inside a word is not a comment',
      text: 'app 1 exclude=a#b # but this is\n',
      expected: [{ pattern: 'app', keep: 1, source: 'repos.conf:1', ...plain, exclude: '/a#b/' }],
    },
    {
      name: 'globs: team/* and **',
      text: 'team/* 2\n** 5\n',
      expected: [
        { pattern: 'team/*', keep: 2, source: 'repos.conf:1', ...plain },
        { pattern: '**', keep: 5, source: 'repos.conf:2', ...plain },
      ],
    },
    {
      name: 'keep 0',
      text: 'scratch 0\n',
      expected: [{ pattern: 'scratch', keep: 0, source: 'repos.conf:1', ...plain }],
    },
    {
      name: 'repository names with . _ - __ and several path components',
      text: 'my.app 1\nmy_app 1\nmy--app 1\nmy__app 1\na/b/c-d 1\n',
      expected: ['my.app', 'my_app', 'my--app', 'my__app', 'a/b/c-d'].map((pattern, i) => ({ pattern, keep: 1, source: `repos.conf:${i + 1}`, ...plain })),
    },
  ])('$name', ({ text, expected }) => {
    expect(parse(text).map(summary)).toEqual(expected);
  });

  test('defaults (from the command line) apply to every line; a line overrides them', () => {
    const targets = parseReposFile('app 1\nweb 2 order=name\n', FILE, { order: 'semver', exclude: 'keep-.*' });
    expect(targets.map(summary)).toEqual([
      { pattern: 'app', keep: 1, source: 'repos.conf:1', order: 'semver', ignoreRefTags: false, exclude: '/keep-.*/' },
      { pattern: 'web', keep: 2, source: 'repos.conf:2', order: 'name', ignoreRefTags: false, exclude: '/keep-.*/' },
    ]);
  });

  test('include/exclude from the file match whole tags', () => {
    const [t] = parse('app 1 include=v1.* exclude=v1\\.0\n');
    expect(t.policy.include!.test('v1.2')).toBe(true);
    expect(t.policy.include!.test('xv1.2')).toBe(false);
    expect(t.policy.exclude!.test('v1.0')).toBe(true);
    expect(t.policy.exclude!.test('v1.0.1')).toBe(false);
  });
});

describe('parseReposFile: every error names the file, the line and the key', () => {
  /** The bad line is line 3, after a comment and a good line. */
  const withBadLine = (line: string) => `# repos\napp 3\n${line}\nweb 1\n`;

  test.each([
    { name: 'bad keep (word)', line: 'web x', key: 'images to keep', detail: 'invalid number of images to keep "x"' },
    { name: 'bad keep (negative)', line: 'web -1', key: 'images to keep', detail: '"-1"' },
    { name: 'bad keep (fraction)', line: 'web 1.5', key: 'images to keep', detail: '"1.5"' },
    { name: 'missing keep', line: 'web', key: '"web"', detail: 'no number of images to keep' },
    { name: 'unknown key', line: 'web 1 colour=red', key: 'unknown key "colour"', detail: 'ignore-ref-tags' },
    { name: 'ignore-ref-tags is a bare word, not a key', line: 'web 1 ignore-ref-tags=yes', key: 'ignore-ref-tags takes no value', detail: 'write the bare word ignore-ref-tags' },
    { name: 'ignore-ref-tags given twice', line: 'web 1 ignore-ref-tags exclude=x ignore-ref-tags', key: 'ignore-ref-tags is given twice', detail: 'give it once' },
    { name: 'a bare word that is not an option', line: 'web 1 fast', key: 'unexpected word "fast"', detail: 'key=value' },
    { name: 'a second number', line: 'web 1 2', key: 'unexpected word "2"', detail: 'the bare word ignore-ref-tags' },
    { name: 'an empty date window', line: 'web 1 after=2024-06-01 before=2024-05-01', key: 'after:', detail: 'the date window is empty' },
    { name: 'an empty age window', line: 'web 1 older-than=30d newer-than=2w', key: 'newer-than:', detail: 'leave no age between them' },
    { name: 'an empty age window, equal lengths', line: 'web 1 older-than=2w newer-than=14d', key: 'newer-than:', detail: 'leave no age between them' },
    { name: 'an empty age window, on every calendar', line: 'web 1 older-than=1mo newer-than=27d', key: 'newer-than:', detail: 'leave no age between them' },
    { name: 'bad regex (include)', line: 'web 1 include=(', key: 'include:', detail: 'invalid regular expression "("' },
    { name: 'bad regex (exclude)', line: 'web 1 exclude=[a-', key: 'exclude:', detail: 'invalid regular expression "[a-"' },
    { name: 'bad date (before)', line: 'web 1 before=yesterday', key: 'before:', detail: 'invalid date "yesterday"' },
    { name: 'bad date (after)', line: 'web 1 after=2024-13-01', key: 'after:', detail: 'invalid date "2024-13-01"' },
    { name: 'bad age (older-than)', line: 'web 1 older-than=30x', key: 'older-than:', detail: 'invalid age "30x"' },
    { name: 'bad age (newer-than)', line: 'web 1 newer-than=soon', key: 'newer-than:', detail: 'invalid age "soon"' },
    { name: 'bad order', line: 'web 1 order=date', key: 'order:', detail: 'invalid order "date"' },
    { name: 'missing value (bare key)', line: 'web 1 include', key: 'include:', detail: 'missing value' },
    { name: 'missing value (key=)', line: 'web 1 exclude=', key: 'exclude:', detail: 'missing value' },
    { name: 'invalid repository name (upper case)', line: 'Web 1', key: 'invalid repository name "Web"', detail: 'lowercase' },
    { name: 'invalid repository name (leading dash)', line: '-web 1', key: 'invalid repository name "-web"', detail: 'glob' },
    { name: 'invalid repository name (empty component)', line: 'team//web 1', key: 'invalid repository name "team//web"', detail: '/' },
    { name: 'unclosed quote', line: 'web 1 include="v1', key: 'unclosed " quote', detail: 'quote' },
  ])('$name', ({ line, key, detail }) => {
    const error = errorOf(() => parse(withBadLine(line)));
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as UsageError).exitCode).toBe(2);
    expect(error.message.startsWith('repos.conf:3: ')).toBe(true);
    expect(error.message).toContain(key);
    expect(error.message).toContain(detail);
  });

  test.each([
    { name: 'empty file', text: '' },
    { name: 'only comments and blank lines', text: '# nothing yet\n\n   # really\n' },
  ])('$name: a usage error that names the file', ({ text }) => {
    expect(() => parse(text)).toThrow(UsageError);
    expect(() => parse(text)).toThrow('repos.conf lists no repositories');
  });

  test('an unclosed quote names the key it belongs to', () => {
    expect(() => parse(withBadLine('web 1 exclude=ok include="v1'))).toThrow(/^repos\.conf:3: .*include/);
  });
});

describe('checkRepositoryPattern', () => {
  test.each(['app', 'team/app', 'a.b', 'a_b', 'a__b', 'a---b', '0app', 'team/*', '**', 'team/{a,b}', 'app-?', '{app}/*'])('%s is accepted', (pattern) => {
    expect(checkRepositoryPattern(pattern)).toBeUndefined();
  });
  test.each(['App', '-app', 'app-', 'a..b', 'a/', '/a', 'a//b', 'a___b', 'a:b', '[', 'a{b', 'team/]', '(', 'a(b'])('%s is refused', (pattern) => {
    expect(checkRepositoryPattern(pattern)).toContain(`invalid repository name "${pattern}"`);
  });
});

describe('matchTargets', () => {
  const targets = (text: string) => parseReposFile(text, FILE);
  const matches = (text: string, repos: string[]) => Object.fromEntries(matchTargets(repos, targets(text)).map((m) => [m.repo, m.target.source]));

  test.each([
    {
      name: 'an exact name matches only itself',
      text: 'team/app 1\n',
      repos: ['team/app', 'team/app2', 'team/app/sub', 'other/team/app'],
      expected: { 'team/app': 'repos.conf:1' },
    },
    {
      name: '* does not cross /',
      text: 'team/* 1\n',
      repos: ['team/a', 'team/b-c', 'team/a/b', 'team', 'other/a'],
      expected: { 'team/a': 'repos.conf:1', 'team/b-c': 'repos.conf:1' },
    },
    {
      name: '** crosses /; a trailing /** selects what is under the path, not the repository of that name',
      text: 'team/** 1\n{ci,qa}/** 2\n',
      repos: ['team/a', 'team/a/b/c', 'other/a', 'team', 'ci', 'qa/x', 'teams/a'],
      expected: { 'team/a': 'repos.conf:1', 'team/a/b/c': 'repos.conf:1', 'qa/x': 'repos.conf:2' },
    },
    {
      // picomatch alone read [!a] as "! or a", and selected the very repository the line meant to leave out.
      name: 'a negated class means "anything but", written [!a] (as in a shell) or [^a]',
      text: 'team/[!a] 1\nqa/[^a]* 2\n',
      repos: ['team/a', 'team/b', 'team/ab', 'qa/a1', 'qa/b1'],
      expected: { 'team/b': 'repos.conf:1', 'qa/b1': 'repos.conf:2' },
    },
    {
      name: 'a trailing /** after a glob: what is under any path the glob matches (**/**: every name with a slash)',
      text: 'team/*/** 1\n**/** 2\n',
      repos: ['team/a/b', 'team/a', 'team', 'x/y', 'solo', 'a/b/c'],
      expected: { 'team/a/b': 'repos.conf:1', 'team/a': 'repos.conf:2', 'x/y': 'repos.conf:2', 'a/b/c': 'repos.conf:2' },
    },
    {
      name: '** inside a path may stand for no segment at all',
      text: 'team/**/web 1\n',
      repos: ['team/web', 'team/x/web', 'team/x/y/web', 'team/webx'],
      expected: { 'team/web': 'repos.conf:1', 'team/x/web': 'repos.conf:1', 'team/x/y/web': 'repos.conf:1' },
    },
    {
      name: 'a top-level * matches only one segment, ** matches everything',
      text: '* 1\n** 2\n',
      repos: ['app', 'team/app', 'a/b/c'],
      expected: { app: 'repos.conf:1', 'team/app': 'repos.conf:2', 'a/b/c': 'repos.conf:2' },
    },
    {
      name: 'the first matching line wins',
      text: 'team/special 9\nteam/* 2\n** 5\nteam/other 1\n',
      repos: ['team/special', 'team/other', 'misc/x'],
      expected: { 'team/special': 'repos.conf:1', 'team/other': 'repos.conf:2', 'misc/x': 'repos.conf:3' },
    },
    {
      name: 'repositories no line matches are left out',
      text: 'team/* 2\n',
      repos: ['x', 'y/z'],
      expected: {},
    },
  ])('$name', ({ text, repos, expected }) => {
    expect(matches(text, repos)).toEqual(expected);
  });

  test('keeps the catalog order and hands over the matching policy', () => {
    const result = matchTargets(['b/x', 'a/x', 'b/y'], targets('a/* 1\nb/* 2 order=name\n'));
    expect(result.map((m) => [m.repo, m.target.policy.keep, m.target.policy.order])).toEqual([
      ['b/x', 2, 'name'],
      ['a/x', 1, 'created'],
      ['b/y', 2, 'name'],
    ]);
  });
});

test('a repository (or glob) written on two lines is an error of the second, naming the first: cleanreg.py took the last line', () => {
  const error = errorOf(() => parse('consul 2\nweb 1\nconsul 3\n'));
  expect(error).toBeInstanceOf(ConfigError);
  expect((error as Error).message).toBe('repos.conf:3: "consul" is already on line 1: list it once, with the number of images to keep and the rules you mean');
  expect(() => parse('team/* 2\n\nteam/* 0\n')).toThrow('repos.conf:3: "team/*" is already on line 1');
});

describe('shadowedTargets: lines that can never win', () => {
  const shadowed = (text: string, catalog?: string[]) =>
    Object.fromEntries(shadowedTargets(parseReposFile(text, FILE), catalog).map(({ target, by }) => [target.source, by.map((t) => t.source)]));

  test('a name below a catch-all, with or without the catalog', () => {
    expect(shadowed('team/* 2\nteam/api 0\n')).toEqual({ 'repos.conf:2': ['repos.conf:1'] });
    expect(shadowed('** 20\nconsul 0\nteam/* 1\nteam/api 3\n', ['consul', 'team/api', 'team/x'])).toEqual({ 'repos.conf:2': ['repos.conf:1'], 'repos.conf:3': ['repos.conf:1'], 'repos.conf:4': ['repos.conf:1'] });
  });

  test('a glob is shadowed only when every repository of the catalog it matches goes to earlier lines', () => {
    const text = 'team/api 1\nteam/web 2\nteam/* 3\nci/** 0\n';
    expect(shadowed(text, ['team/api', 'team/web'])).toEqual({ 'repos.conf:3': ['repos.conf:1', 'repos.conf:2'] });
    expect(shadowed(text, ['team/api', 'team/web', 'team/db'])).toEqual({});
    // A glob that matches nothing is another warning ("matches no repository"), not this one.
    expect(shadowed('team/* 3\n', ['x'])).toEqual({});
  });

  test('lines that each win somewhere are not reported', () => {
    expect(shadowed('team/special 9\nteam/* 2\n** 5\n', ['team/special', 'team/x', 'y'])).toEqual({});
  });
});

describe('the shipped examples', () => {
  const dir = fileURLToPath(new URL('../../examples/repos/', import.meta.url));
  const files = readdirSync(dir).filter((f) => f.endsWith('.conf'));

  test('there are examples to check', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  test.each(files)('examples/repos/%s parses', (name) => {
    const targets = readReposFile(join(dir, name));
    expect(targets.length).toBeGreaterThan(0);
    for (const t of targets) expect(t.source).toMatch(new RegExp(`${name.replace('.', '\\.')}:\\d+$`));
  });
});
