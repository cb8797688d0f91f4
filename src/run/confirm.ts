import { NotConfirmedError } from '../errors.js';
import type { Io } from '../util/log.js';

/** Set once a deletion is confirmed: from then on, a closed stdout no longer stops the run (see cli.ts). */
let confirmed = false;
export const deletionConfirmed = (): boolean => confirmed;

/**
 * Deleting needs a yes: --yes, or an answer at a terminal. With no terminal and no --yes the run refuses
 * (exit 2) instead of deleting.
 */
export async function confirmDeletion(question: string, yes: boolean, io: Io): Promise<void> {
  if (yes) {
    // What was printed (the plan) reaches its reader first: an output closed meanwhile stops the run here.
    await new Promise<void>((resolve) => io.stdout.write('', () => resolve()));
    confirmed = true;
    return;
  }
  requireConfirmationChannel(false, io);
  // Loaded only when a question is asked: the prompt library costs memory every run would pay for.
  const { default: confirm } = await import('@inquirer/confirm');
  const answer = await confirm({ message: question, default: false }, { input: io.stdin, output: io.stderr });
  if (!answer) throw new NotConfirmedError('nothing deleted: not confirmed');
  confirmed = true;
}

/** Checked before any request: a run that could never be confirmed does not scan the registry first. */
export function requireConfirmationChannel(noQuestion: boolean, io: Io): void {
  if (noQuestion || (io.stdin.isTTY && io.stderr.isTTY)) return;
  throw new NotConfirmedError('refusing to delete: no terminal to ask for confirmation and no --yes', 'pass --yes (-y) to delete without asking, or --dry-run to only see the plan');
}
