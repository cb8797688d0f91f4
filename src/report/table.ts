import { createColors } from 'picocolors';
import type { PlannedImage, RepoPlan } from '../planner/types.js';
import { newestFirst } from '../planner/ordering.js';
import { newTable } from './cli-table.js';
import { formatAge, formatCreated, shortDigest } from './format.js';


/** One table per repository: tags, short digest, created, age, action, reason. Deletions first. */
export async function renderPlanTable(plan: RepoPlan, now: Date, color: boolean): Promise<string> {
  const c = createColors(color);
  if (plan.keep.length + plan.delete.length === 0) {
    return `${c.bold(plan.name)}: ${plan.empty ? 'no tags (empty repository)' : 'nothing in it'}\n`;
  }
  const table = await newTable({
    head: ['tags', 'digest', 'created', 'age', 'action', 'reason'],
    style: { head: color ? ['cyan'] : [], border: color ? ['grey'] : [] },
  });
  // In the policy's own ranking: by version or name under --order semver|name, else newest created first.
  const order = plan.order === 'semver' || plan.order === 'name' ? newestFirst(plan.order) : (a: PlannedImage, b: PlannedImage) => (b.created ?? '').localeCompare(a.created ?? '');
  for (const image of [...[...plan.delete].sort(order), ...[...plan.keep].sort(order)]) {
    table.push([
      image.tags.length ? image.tags.map(shortTag).join('\n') : c.dim('(untagged)'),
      shortDigest(image.digest),
      formatCreated(image.created),
      formatAge(image.created, now),
      image.action === 'delete' ? c.red('delete') : c.green('keep'),
      image.reason,
    ]);
  }
  const notes = plan.notes.map((n) => `  note: ${n}\n`).join('');
  return `${c.bold(plan.name)}\n${table.toString()}\n${notes}`;
}

/** Cosign tags carry a whole digest: `sha256-0123456789ab….sig` is enough to recognise one. */
export function shortTag(tag: string): string {
  return tag.replace(/^(sha256-[a-f0-9]{12})[a-f0-9]{52}(\.\w+)$/, '$1…$2');
}
