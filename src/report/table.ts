import Table from 'cli-table3';
import { createColors } from 'picocolors';
import type { RepoOutcome } from '../executor/apply.js';
import type { PlannedImage, RepoPlan } from '../planner/types.js';
import { formatAge, formatCreated, shortDigest } from './format.js';

type Colors = ReturnType<typeof createColors>;

/** One table per repository: tags, short digest, created, age, action, reason. Deletions first. */
export function renderPlanTable(plan: RepoPlan, now: Date, color: boolean, outcome?: RepoOutcome): string {
  const c = createColors(color);
  if (plan.keep.length + plan.delete.length === 0) {
    return `${c.bold(plan.name)}: ${plan.empty ? 'no tags (empty repository)' : 'nothing in it'}\n`;
  }
  const table = new Table({
    head: ['tags', 'digest', 'created', 'age', 'action', 'reason'],
    style: { head: color ? ['cyan'] : [], border: color ? ['grey'] : [] },
  });
  const status = new Map(outcome?.outcomes.map((o) => [o.digest, o]));
  const newestFirst = (a: PlannedImage, b: PlannedImage) => (b.created ?? '').localeCompare(a.created ?? '');
  for (const image of [...[...plan.delete].sort(newestFirst), ...[...plan.keep].sort(newestFirst)]) {
    const done = status.get(image.digest);
    table.push([
      image.tags.length ? image.tags.map(shortTag).join('\n') : c.dim('(untagged)'),
      shortDigest(image.digest),
      formatCreated(image.created),
      formatAge(image.created, now),
      action(image, done?.status, c),
      done?.detail ?? image.reason,
    ]);
  }
  const notes = plan.notes.map((n) => `  note: ${n}\n`).join('');
  return `${c.bold(plan.name)}\n${table.toString()}\n${notes}`;
}

/** Cosign tags carry a whole digest: `sha256-0123456789ab….sig` is enough to recognise one. */
export function shortTag(tag: string): string {
  return tag.replace(/^(sha256-[a-f0-9]{12})[a-f0-9]{52}(\.\w+)$/, '$1…$2');
}

function action(image: PlannedImage, status: string | undefined, c: Colors): string {
  if (status === 'deleted') return c.red('deleted');
  if (status === 'gone') return c.yellow('gone');
  if (status === 'kept') return c.green('kept');
  if (status === 'failed') return c.red(c.bold('FAILED'));
  return image.action === 'delete' ? c.red('delete') : c.green('keep');
}
