import { accessSync, constants, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { UsageError } from '../errors.js';
import type { ImageKind, PlannedImage, RepoPlan } from '../planner/types.js';
import { checkRepositoryPattern, isGlob } from '../config/targets.js';
import { DIGEST } from '../util/digest.js';

export const PLAN_FILE_VERSION = 1;

interface PlanFile {
  kind: 'cleanreg-plan';
  version: number;
  createdAt: string;
  registry: string;
  repositories: { name: string; empty?: boolean; notes?: string[]; freedBytes?: number; images: PlannedImage[] }[];
}

/** Checked before the scan: a plan that cannot be written should not cost a scan of the registry first. */
export function checkWritable(path: string): void {
  try {
    if (existsSync(path) && statSync(path).isDirectory()) throw Object.assign(new Error(), { code: 'EISDIR' });
    accessSync(existsSync(path) ? path : dirname(path), constants.W_OK);
  } catch (error) {
    throw new UsageError(`cannot write the plan to ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

/** Writes the plan as versioned JSON: every image with its digest, tags, created, action and reason. */
export function writePlanFile(path: string, registry: string, plans: RepoPlan[], now: Date): void {
  const file: PlanFile = {
    kind: 'cleanreg-plan',
    version: PLAN_FILE_VERSION,
    createdAt: now.toISOString(),
    registry,
    repositories: plans.map((p) => ({ name: p.name, empty: p.empty, notes: p.notes, ...(p.freedBytes !== undefined ? { freedBytes: p.freedBytes } : {}), images: [...p.delete, ...p.keep] })),
  };
  try {
    writeFileSync(path, JSON.stringify(file, null, 2) + '\n');
  } catch (error) {
    throw new UsageError(`cannot write the plan to ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

const KINDS: ImageKind[] = ['image', 'index', 'artifact'];
const TAG = /^[\w][\w.-]{0,127}$/;

/** Reads and checks a plan file; every problem is a usage error (exit 2), found before any request. */
export function readPlanFile(path: string): { registry: string; createdAt: string; plans: RepoPlan[] } {
  let file: PlanFile;
  try {
    file = JSON.parse(readFileSync(path, 'utf8')) as PlanFile;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // A path that names no file is not shown: a password given after the wrong option could be in its place.
    if (code === 'ENOENT') throw new UsageError('cannot read the plan: no such file (the path given is not shown: a password given after the wrong option could be in its place)');
    throw new UsageError(`cannot read the plan ${path}: ${code ?? (error as Error).message}`);
  }
  const bad = (what: string, hint?: string) => new UsageError(`${path} is not a cleanreg plan: ${what}`, hint);
  if (file?.kind !== 'cleanreg-plan') {
    // The --output json document looks like a plan but lacks what apply needs (every tag and image as planned).
    const outputDocument = typeof file?.registry === 'string' && Array.isArray(file?.repositories) && 'dryRun' in file;
    throw bad('"kind" is not "cleanreg-plan"', outputDocument ? 'this is --output json; write a plan with --plan-out FILE and apply that' : undefined);
  }
  if (file.version !== PLAN_FILE_VERSION) throw new UsageError(`${path}: plan version ${JSON.stringify(file.version)} is not supported (this cleanreg reads version ${PLAN_FILE_VERSION})`);
  if (typeof file.registry !== 'string' || !Array.isArray(file.repositories)) throw bad('missing "registry" or "repositories"');
  if (typeof file.createdAt !== 'string' || Number.isNaN(Date.parse(file.createdAt))) throw bad('"createdAt" is not a date');
  const names = new Set<string>();
  const plans = file.repositories.map((repo, i): RepoPlan => {
    if (typeof repo?.name !== 'string' || !Array.isArray(repo.images)) throw bad(`repository #${i + 1} has no name or images`);
    // Names and tags end up in request paths: only valid ones are accepted.
    if (isGlob(repo.name) || checkRepositoryPattern(repo.name)) throw bad(`"${repo.name}" is not a repository name`);
    if (names.has(repo.name)) throw bad(`the repository "${repo.name}" is listed twice`);
    names.add(repo.name);
    if (!optional(repo.empty, 'boolean') || !optional(repo.freedBytes, 'number') || !(repo.notes === undefined || isStrings(repo.notes))) throw bad(`${repo.name}: "empty", "notes" or "freedBytes" is of the wrong type`);
    repo.images.forEach(checkImage(repo.name, bad));
    // One fate per manifest, one manifest per tag: a contradiction (a digest both kept and deleted) is refused,
    // not settled by whichever entry the apply reads.
    const digests = new Set<string>();
    const tags = new Set<string>();
    for (const image of repo.images) {
      if (digests.has(image.digest)) throw bad(`${repo.name}@${image.digest} is listed twice`);
      digests.add(image.digest);
      for (const tag of image.tags) {
        if (tags.has(tag)) throw bad(`${repo.name}:${tag} is on two images`);
        tags.add(tag);
      }
    }
    return {
      name: repo.name,
      keep: repo.images.filter((p) => p.action === 'keep'),
      delete: repo.images.filter((p) => p.action === 'delete'),
      empty: !!repo.empty,
      notes: repo.notes ?? [],
      ...(typeof repo.freedBytes === 'number' ? { freedBytes: repo.freedBytes } : {}),
    };
  });
  return { registry: file.registry, createdAt: file.createdAt, plans };
}

function optional(value: unknown, type: 'boolean' | 'number' | 'string'): boolean {
  return value === undefined || (typeof value === type && (type !== 'number' || Number.isFinite(value)));
}

function isStrings(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

/** An image entry as the apply reads it: whatever reaches a request path or the report is of the right form. */
function checkImage(repo: string, bad: (what: string) => UsageError) {
  return (image: PlannedImage): void => {
    if (typeof image?.digest !== 'string' || !DIGEST.test(image.digest)) throw bad(`${repo}: an image has no valid digest`);
    const at = `${repo}@${image.digest}`;
    if (image.action !== 'keep' && image.action !== 'delete') throw bad(`${at}: action must be keep or delete`);
    if (!Array.isArray(image.tags) || !KINDS.includes(image.kind)) throw bad(`${at}: tags or kind missing`);
    if (!image.tags.every((t) => typeof t === 'string' && TAG.test(t))) throw bad(`${at}: an invalid tag`);
    for (const key of ['follows', 'subject'] as const) {
      const value = image[key];
      if (value !== undefined && (typeof value !== 'string' || !DIGEST.test(value))) throw bad(`${at}: "${key}" is not a digest`);
    }
    if (image.children !== undefined && !(isStrings(image.children) && image.children.every((c) => DIGEST.test(c)))) throw bad(`${at}: "children" is not a list of digests`);
    if (!(image.created === null || (typeof image.created === 'string' && !Number.isNaN(Date.parse(image.created))))) throw bad(`${at}: "created" is neither a date nor null`);
    if (!optional(image.reason, 'string') || !optional(image.mediaType, 'string') || !optional(image.size, 'number') || !optional(image.named, 'boolean')) {
      throw bad(`${at}: "reason", "mediaType", "size" or "named" is of the wrong type`);
    }
  };
}
