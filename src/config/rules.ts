import type { Duration } from 'date-fns';
import type { Order, Policy } from '../planner/types.js';
import { isCalendarDay } from '../util/calendar.js';

/** Policy settings as written by the user, on the command line or in a repos.conf line. */
export interface RuleInput {
  include?: string;
  exclude?: string;
  before?: string;
  after?: string;
  olderThan?: string;
  newerThan?: string;
  order?: string;
  ignoreRefTags?: boolean;
}

/** Thrown by the parsers below; the caller says where (flag or file:line:key). */
export class RuleError extends Error {
  constructor(
    readonly key: keyof RuleInput | 'keep',
    message: string,
  ) {
    super(message);
  }
}

export const ORDERS: readonly Order[] = ['created', 'semver', 'name'];

/** Patterns match the whole tag (as GitLab's cleanup policies do): `--exclude 'v1.*'`, not `--exclude v1`. */
export function parseTagPattern(key: 'include' | 'exclude', source: string): RegExp {
  // It would match only an empty tag, which no image has: `--exclude "$PROTECTED"` with the variable unset.
  if (source.trim() === '') throw new RuleError(key, `empty pattern: it would match no tag (${key === 'exclude' ? 'protect nothing' : 'select nothing'}); leave --${key} out, or give a REGEX`);
  try {
    // Checked alone first: `a)|(b` is invalid, but would be valid (and unanchored) once wrapped.
    new RegExp(source);
    const re = new RegExp(`^(?:${source})$`);
    Object.defineProperty(re, 'toString', { value: () => `/${source}/` });
    return re;
  } catch (error) {
    throw new RuleError(key, `invalid regular expression "${source}": ${(error as Error).message.replace(/^Invalid regular expression: /, '')}`);
  }
}

/** ISO 8601 date or date-time; without a zone it is UTC (so CI and laptops agree). */
export function parseDate(key: 'before' | 'after', source: string): Date {
  const iso = /^\d{4}-\d{2}-\d{2}$/.test(source) ? `${source}T00:00:00Z` : /T[\d:.]+$/.test(source) ? `${source}Z` : source;
  const valid = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2}))?$/.test(iso);
  const date = new Date(iso);
  // Date rolls 2024-02-30 over to March 1st; an impossible day is an error, not another date.
  const [y, m, d] = source.slice(0, 10).split('-').map(Number);
  const sameDay = valid && /^\d{4}-\d{2}-\d{2}$/.test(source.slice(0, 10)) && isCalendarDay(y, m, d);
  if (!valid || !sameDay || Number.isNaN(date.getTime())) {
    throw new RuleError(key, `invalid date "${source}": write YYYY-MM-DD or YYYY-MM-DDThh:mm[:ss] (UTC, or a zone: Z, +02:00), e.g. 2024-06-30 or 2024-06-30T12:00:00Z`);
  }
  return date;
}

const AGE_UNITS: Record<string, keyof Duration> = {
  s: 'seconds',
  m: 'minutes',
  min: 'minutes',
  h: 'hours',
  d: 'days',
  w: 'weeks',
  mo: 'months',
  y: 'years',
};

/**
 * Relative ages: `30d`, `12h`, `2w`, `6mo`, `1y`, combined as `1w3d`. `mo` is months, `min` minutes; a bare `m`
 * is minutes only after hours (`1h30m`, as Go writes durations): `6m` alone is refused, as 6 minutes where 6
 * months were meant would delete nearly everything.
 */
export function parseAge(key: 'olderThan' | 'newerThan', source: string): Duration {
  const duration: Duration = {};
  const re = /(\d+)\s*(mo|min|[smhdwy])/gy;
  let consumed = 0;
  for (let m = re.exec(source); m; m = re.exec(source)) {
    if (m[2] === 'm' && duration.hours === undefined) {
      throw new RuleError(key, `ambiguous age "${source}": write ${m[1]}mo for months or ${m[1]}min for minutes`);
    }
    const unit = AGE_UNITS[m[2]];
    duration[unit] = (duration[unit] ?? 0) + Number(m[1]);
    consumed = re.lastIndex;
  }
  if (consumed === 0 || consumed !== source.length) {
    throw new RuleError(key, `invalid age "${source}": use a number and a unit, e.g. 30d, 12h, 2w, 6mo, 1y (s, min, h, d, w, mo, y)`);
  }
  // Past the earliest date a Date holds, the cutoff would be no date at all, and the rule would match nothing.
  if (!(durationMs(duration, 'longest') < MAX_DATE_MS)) throw new RuleError(key, `age "${source}" is too long: dates reach back about 270,000 years`);
  return duration;
}

/** How far from 1970 a JavaScript Date reaches, either way (ECMA-262: 8.64e15 ms). */
const MAX_DATE_MS = 8.64e15;

export function parseKeep(source: string | number): number {
  const n = typeof source === 'number' ? source : /^\d+$/.test(source) ? Number(source) : NaN;
  if (!Number.isInteger(n) || n < 0) throw new RuleError('keep', `invalid number of images to keep "${source}": use a whole number, 0 or more`);
  return n;
}

export function parseOrder(source: string): Order {
  if (!(ORDERS as string[]).includes(source)) throw new RuleError('order', `invalid order "${source}": use ${ORDERS.join(', ')}`);
  return source as Order;
}

export function buildPolicy(keep: number, input: RuleInput): Policy {
  const policy: Policy = { keep, ignoreRefTags: !!input.ignoreRefTags, order: input.order ? parseOrder(input.order) : 'created' };
  if (input.include !== undefined) policy.include = parseTagPattern('include', input.include);
  if (input.exclude !== undefined) policy.exclude = parseTagPattern('exclude', input.exclude);
  if (input.before !== undefined) policy.before = parseDate('before', input.before);
  if (input.after !== undefined) policy.after = parseDate('after', input.after);
  if (input.olderThan !== undefined) policy.olderThan = parseAge('olderThan', input.olderThan);
  if (input.newerThan !== undefined) policy.newerThan = parseAge('newerThan', input.newerThan);
  checkWindow(policy, input);
  return policy;
}

/** Bounds that leave no date between them would delete nothing, silently: that is a mistake in the rules. */
function checkWindow(policy: Policy, input: RuleInput): void {
  if (policy.before && policy.after && policy.after >= policy.before) {
    throw new RuleError('after', `the date window is empty: after "${input.after}" and before "${input.before}" leave no date between them`);
  }
  // Months and years vary in length: refused only when no calendar leaves an age between the two.
  if (policy.olderThan && policy.newerThan && durationMs(policy.olderThan, 'shortest') >= durationMs(policy.newerThan, 'longest')) {
    throw new RuleError('newerThan', `the date window is empty: newer than "${input.newerThan}" and older than "${input.olderThan}" leave no age between them`);
  }
  // A date and an age, as of now (the window only widens as the run goes on, for these two).
  const now = Date.now();
  if (policy.after && policy.olderThan) {
    const latest = now - durationMs(policy.olderThan, 'shortest');
    if (policy.after.getTime() >= latest) throw new RuleError('olderThan', `the date window is empty: after "${input.after}" and older than "${input.olderThan}" (created before ${new Date(latest).toISOString()} or so) leave no date between them`);
  }
  if (policy.before && policy.newerThan) {
    const earliest = now - durationMs(policy.newerThan, 'longest');
    if (earliest >= policy.before.getTime()) throw new RuleError('newerThan', `the date window is empty: before "${input.before}" and newer than "${input.newerThan}" (created after ${new Date(earliest).toISOString()} or so) leave no date between them`);
  }
}

const DAY_MS = 86_400_000;

/** A duration's length in ms with the shortest (28-day months, 365-day years) or longest calendar units. */
function durationMs(d: Duration, calendar: 'shortest' | 'longest'): number {
  const [month, year] = calendar === 'shortest' ? [28, 365] : [31, 366];
  return ((d.years ?? 0) * year + (d.months ?? 0) * month + (d.weeks ?? 0) * 7 + (d.days ?? 0)) * DAY_MS + ((d.hours ?? 0) * 3600 + (d.minutes ?? 0) * 60 + (d.seconds ?? 0)) * 1000;
}
