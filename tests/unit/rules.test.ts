/** The rule parsers behind flags and repos.conf: tag patterns, dates, ages, keep counts, orders. */
import { describe, expect, test } from '@jest/globals';
import { buildPolicy, parseAge, parseDate, parseKeep, parseOrder, parseTagPattern, RuleError, type RuleInput } from '../../src/config/rules.js';
import { errorOf } from '../helpers/error-of.js';


describe('parseTagPattern: a regular expression matched against the whole tag', () => {
  test.each([
    { name: 'a literal matches only itself', source: 'v1', matches: ['v1'], misses: ['v10', 'xv1', 'v1.0', 'V1'] },
    { name: 'a prefix needs .*', source: 'v1.*', matches: ['v1', 'v1.0', 'v10'], misses: ['xv1', 'release-v1'] },
    { name: 'alternation is anchored on both sides', source: 'latest|stable', matches: ['latest', 'stable'], misses: ['latest-x', 'x-stable', 'stablex'] },
    { name: 'character classes and counts', source: '[0-9a-f]{7}', matches: ['abc1234'], misses: ['abc12345', 'abc123', 'ABC1234'] },
    { name: 'an escaped dot', source: '1\\.2', matches: ['1.2'], misses: ['1x2', '1.2.3'] },
    { name: 'a group with its own anchors', source: '^pr-\\d+$', matches: ['pr-12'], misses: ['pr-', 'pr-1a'] },
  ])('$name: /$source/', ({ source, matches, misses }) => {
    const re = parseTagPattern('include', source);
    for (const tag of matches) expect({ tag, matched: re.test(tag) }).toEqual({ tag, matched: true });
    for (const tag of misses) expect({ tag, matched: re.test(tag) }).toEqual({ tag, matched: false });
  });

  test('is shown as the user wrote it', () => {
    expect(String(parseTagPattern('exclude', 'v1.*'))).toBe('/v1.*/');
    expect(`${parseTagPattern('include', 'a|b')}`).toBe('/a|b/');
  });

  test('is stateless: testing twice gives the same answer', () => {
    const re = parseTagPattern('include', 'v.*');
    expect([re.test('v1'), re.test('v1'), re.test('v1')]).toEqual([true, true, true]);
  });

  test.each([
    { source: '(', key: 'include' as const },
    { source: '[a-', key: 'exclude' as const },
    { source: '*', key: 'include' as const },
    { source: 'a{2,1}', key: 'exclude' as const },
  ])('an invalid expression "$source" is a RuleError for $key', ({ source, key }) => {
    const error = errorOf(() => parseTagPattern(key, source));
    expect(error).toBeInstanceOf(RuleError);
    expect((error as RuleError).key).toBe(key);
    expect(error.message).toContain(`invalid regular expression "${source}"`);
    expect(error.message).not.toContain('Invalid regular expression: /');
  });

  // Pasted inside `^(?:…)$`, an unbalanced ")" would close the wrapper group: "a)|(b" would become
  // /^(?:a)|(b)$/, which matches any tag starting with "a" — not a whole-tag match.
  test('an expression that is invalid on its own ("a)|(b") is refused, not half-anchored', () => {
    expect(() => parseTagPattern('exclude', 'a)|(b')).toThrow(RuleError);
  });
});

describe('parseDate: ISO 8601, UTC unless a zone is given', () => {
  test.each([
    { source: '2024-06-30', iso: '2024-06-30T00:00:00.000Z', name: 'date only is UTC midnight' },
    { source: '2024-06-30T12:00:00', iso: '2024-06-30T12:00:00.000Z', name: 'date-time without zone is UTC' },
    { source: '2024-06-30T12:00', iso: '2024-06-30T12:00:00.000Z', name: 'seconds are optional' },
    { source: '2024-06-30T12:00:00.250', iso: '2024-06-30T12:00:00.250Z', name: 'fractions of a second' },
    { source: '2024-06-30T12:00:00Z', iso: '2024-06-30T12:00:00.000Z', name: 'Z' },
    { source: '2024-06-30T12:00:00+02:00', iso: '2024-06-30T10:00:00.000Z', name: 'positive offset' },
    { source: '2024-06-30T12:00:00-05:30', iso: '2024-06-30T17:30:00.000Z', name: 'negative offset' },
    { source: '2024-06-30T12:00:00+0200', iso: '2024-06-30T10:00:00.000Z', name: 'offset without colon' },
    { source: '2024-02-29', iso: '2024-02-29T00:00:00.000Z', name: 'a leap day' },
  ])('$name: $source', ({ source, iso }) => {
    expect(parseDate('before', source).toISOString()).toBe(iso);
  });

  test.each([
    '',
    'yesterday',
    '2024/06/30',
    '30-06-2024',
    '2024-6-30',
    '20240630',
    '2024-13-01',
    '2024-00-10',
    '2024-06-32',
    '2024-06-30 12:00:00',
    '2024-06-30T25:00:00Z',
    '2024-06-30T12:00:00 +02:00',
    '2024-06-30T12:00:00EST',
    '1719705600',
    ' 2024-06-30',
  ])('"%s" is refused with an example of the format', (source) => {
    const error = errorOf(() => parseDate('after', source));
    expect(error).toBeInstanceOf(RuleError);
    expect((error as RuleError).key).toBe('after');
    expect(error.message).toContain(`invalid date "${source}"`);
    expect(error.message).toContain('write YYYY-MM-DD or YYYY-MM-DDThh:mm[:ss] (UTC, or a zone: Z, +02:00), e.g. 2024-06-30');
  });

  // V8's Date rolls impossible calendar days over (Feb 30 → Mar 1): accepted, a typo would silently move the
  // date window.
  test.each(['2024-02-30', '2023-02-29', '2024-04-31', '2024-06-31T12:00:00Z'])('the impossible date "%s" is refused, not rolled over', (source) => {
    expect(() => parseDate('before', source)).toThrow(RuleError);
  });
});

describe('parseAge: a number and a unit, combinable', () => {
  test.each([
    { source: '30d', duration: { days: 30 } },
    { source: '12h', duration: { hours: 12 } },
    { source: '2w', duration: { weeks: 2 } },
    { source: '6mo', duration: { months: 6 } },
    { source: '1y', duration: { years: 1 } },
    { source: '90min', duration: { minutes: 90 } },
    { source: '1h30m', duration: { hours: 1, minutes: 30 } },
    { source: '5min', duration: { minutes: 5 } },
    { source: '45s', duration: { seconds: 45 } },
    { source: '1w3d', duration: { weeks: 1, days: 3 } },
    { source: '1y6mo', duration: { years: 1, months: 6 } },
    { source: '1d12h30m', duration: { days: 1, hours: 12, minutes: 30 } },
    { source: '1d1d', duration: { days: 2 } },
  ])('$source', ({ source, duration }) => {
    expect(parseAge('olderThan', source)).toEqual(duration);
  });

  test.each(['', '30', 'd', '30x', '-1d', '1.5d', '30D', ' 30d', '30d ', 'd30', '1 month', '30days', '1w-3d'])('"%s" is refused', (source) => {
    const error = errorOf(() => parseAge('newerThan', source));
    expect(error).toBeInstanceOf(RuleError);
    expect((error as RuleError).key).toBe('newerThan');
    expect(error.message).toContain(`invalid age "${source}"`);
    expect(error.message).toContain('30d');
  });

  test.each(['300000y', '99999999999999999999d', `${'9'.repeat(400)}s`])('an age past the earliest date a Date holds is refused: "%s"', (source) => {
    const error = errorOf(() => parseAge('olderThan', source));
    expect(error).toBeInstanceOf(RuleError);
    expect(error.message).toBe(`age "${source}" is too long: dates reach back about 270,000 years`);
  });

  test('a long age that a Date still reaches is read', () => {
    expect(parseAge('olderThan', '200000y')).toEqual({ years: 200000 });
  });

  test.each(['6m', '90m', '1d30m', '1y6m'])('a bare m not after hours is refused as ambiguous: "%s"', (source) => {
    const error = errorOf(() => parseAge('olderThan', source));
    expect(error).toBeInstanceOf(RuleError);
    expect(error.message).toMatch(/^ambiguous age ".*": write \d+mo for months or \d+min for minutes$/);
  });
});

describe('parseKeep: a whole number, 0 or more', () => {
  test.each([
    { source: '0', keep: 0 },
    { source: '3', keep: 3 },
    { source: '007', keep: 7 },
    { source: 5, keep: 5 },
    { source: 0, keep: 0 },
  ])('$source → $keep', ({ source, keep }) => {
    expect(parseKeep(source)).toBe(keep);
  });

  test.each(['-1', '1.5', 'abc', '', ' 3', '3 ', '1e3', '0x10', -1, 2.5, Number.NaN, Number.POSITIVE_INFINITY])('%p is refused', (source) => {
    const error = errorOf(() => parseKeep(source));
    expect(error).toBeInstanceOf(RuleError);
    expect((error as RuleError).key).toBe('keep');
    expect(error.message).toContain('invalid number of images to keep');
  });
});

describe('parseOrder', () => {
  test.each(['created', 'semver', 'name'] as const)('%s', (order) => {
    expect(parseOrder(order)).toBe(order);
  });
  test.each(['', 'Created', 'SEMVER', 'date', 'version', 'created '])('"%s" is refused and the choices are listed', (source) => {
    const error = errorOf(() => parseOrder(source));
    expect(error).toBeInstanceOf(RuleError);
    expect((error as RuleError).key).toBe('order');
    expect(error.message).toContain('created, semver, name');
  });
});

describe('buildPolicy', () => {
  test('defaults: order created, no -i, no patterns, no dates', () => {
    expect(buildPolicy(3, {})).toEqual({ keep: 3, ignoreRefTags: false, order: 'created' });
  });

  test('age windows whose emptiness depends on the calendar are allowed; only a window empty on every date is refused', () => {
    // 1y is 365 or 366 days, 1mo 28 to 31: these hold an age in some years or months.
    for (const [newerThan, olderThan] of [['1y', '365d'], ['1mo', '4w'], ['1mo', '30d'], ['60d', '30d'], ['1y', '11mo']]) {
      expect(buildPolicy(1, { newerThan, olderThan }).newerThan).toBeDefined();
    }
    for (const [newerThan, olderThan] of [['14d', '2w'], ['27d', '1mo'], ['365d', '1y'], ['1d', '24h'], ['10d', '30d']]) {
      const error = errorOf(() => buildPolicy(1, { newerThan, olderThan }));
      expect(error).toBeInstanceOf(RuleError);
      expect(error.message).toMatch(/the date window is empty/);
    }
  });

  test('every rule is parsed', () => {
    const p = buildPolicy(1, {
      include: 'v.*',
      exclude: 'stable',
      before: '2024-06-01',
      after: '2024-01-01',
      olderThan: '30d',
      newerThan: '100y',
      order: 'semver',
      ignoreRefTags: true,
    });
    expect({ ...p, include: String(p.include), exclude: String(p.exclude), before: p.before?.toISOString(), after: p.after?.toISOString() }).toEqual({
      keep: 1,
      ignoreRefTags: true,
      order: 'semver',
      include: '/v.*/',
      exclude: '/stable/',
      before: '2024-06-01T00:00:00.000Z',
      after: '2024-01-01T00:00:00.000Z',
      olderThan: { days: 30 },
      newerThan: { years: 100 },
    });
  });

  test('a date and an age that leave no date between them, as of now, are refused too (found by an audit)', () => {
    const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);
    const olderThan = errorOf(() => buildPolicy(0, { after: daysAgo(60), olderThan: '100d' }));
    expect([(olderThan as RuleError).key, olderThan.message]).toEqual(['olderThan', expect.stringMatching(/^the date window is empty: after "[\d-]+" and older than "100d" \(created before [\dT:.Z-]+ or so\) leave no date between them$/)]);
    const newerThan = errorOf(() => buildPolicy(0, { before: daysAgo(200), newerThan: '100d' }));
    expect([(newerThan as RuleError).key, newerThan.message]).toEqual(['newerThan', expect.stringMatching(/^the date window is empty: before "[\d-]+" and newer than "100d"/)]);
    // With a date between them, both stay.
    expect(buildPolicy(0, { after: daysAgo(200), olderThan: '100d' }).after).toBeDefined();
    expect(buildPolicy(0, { before: daysAgo(60), newerThan: '100d' }).before).toBeDefined();
  });

  test.each([
    { input: { include: '(' }, key: 'include' },
    { input: { exclude: '(' }, key: 'exclude' },
    { input: { before: 'x' }, key: 'before' },
    { input: { after: 'x' }, key: 'after' },
    { input: { olderThan: 'x' }, key: 'olderThan' },
    { input: { newerThan: 'x' }, key: 'newerThan' },
    { input: { order: 'x' }, key: 'order' },
  ] as { input: RuleInput; key: string }[])('a bad $key is a RuleError that names it', ({ input, key }) => {
    const error = errorOf(() => buildPolicy(1, input));
    expect(error).toBeInstanceOf(RuleError);
    expect((error as RuleError).key).toBe(key);
  });
});
