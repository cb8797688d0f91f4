import { formatDistanceStrict } from 'date-fns/formatDistanceStrict';

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

export function formatAge(created: string | null, now: Date): string {
  if (!created) return 'unknown';
  const date = new Date(created);
  const distance = formatDistanceStrict(date, now);
  return date > now ? `in ${distance}` : distance;
}

export function formatCreated(created: string | null): string {
  return created ? created.replace(/\.\d{3}Z$/, 'Z').replace('T', ' ') : '-';
}

export { shortDigest } from '../util/digest.js';

export function plural(n: number, word: string, pluralWord = `${word}s`): string {
  return `${n} ${n === 1 ? word : pluralWord}`;
}
