import { UsageError } from './errors.js';

/** A parsed image reference: `[host/]repo:tag` or `[host/]repo@sha256:…`. */
export interface ImageRef {
  text: string;
  repo: string;
  tag?: string;
  digest?: string;
}

/**
 * Parses a reference as docker does: the first path component is a host when it has a `.` or a `:` or is
 * `localhost`; a host that is not the registry's is an error.
 */
export function parseReference(text: string, registryHost: string, where = text): ImageRef {
  let rest = text.trim();
  const slash = rest.indexOf('/');
  if (slash > 0) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost') {
      if (first.toLowerCase() !== registryHost.toLowerCase()) {
        throw new UsageError(`${where}: "${text}" is on ${first}, not on the registry ${registryHost} given with -r`);
      }
      rest = rest.slice(slash + 1);
    }
  }
  const at = rest.indexOf('@');
  if (at >= 0) {
    const digest = rest.slice(at + 1);
    if (!/^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}$/.test(digest)) throw new UsageError(`${where}: "${text}" has an invalid digest`);
    return checkRepo({ text, repo: rest.slice(0, at).replace(/:[^/]*$/, ''), digest }, where);
  }
  const colon = rest.lastIndexOf(':');
  if (colon <= rest.lastIndexOf('/') || colon < 0) throw new UsageError(`${where}: "${text}" names no tag: write repo:tag or repo@sha256:…`);
  const tag = rest.slice(colon + 1);
  if (!/^[\w][\w.-]{0,127}$/.test(tag)) throw new UsageError(`${where}: "${text}" has an invalid tag`);
  return checkRepo({ text, repo: rest.slice(0, colon), tag }, where);
}

function checkRepo(ref: ImageRef, where: string): ImageRef {
  if (!/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/.test(ref.repo)) {
    throw new UsageError(`${where}: "${ref.text}" has an invalid repository name "${ref.repo}"`);
  }
  return ref;
}

/** A file of references: one a line, `#` comments and blank lines allowed. Errors name the line. */
export function parseReferenceFile(text: string, file: string, registryHost: string): ImageRef[] {
  const refs: ImageRef[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (line) refs.push(parseReference(line, registryHost, `${file}:${i + 1}`));
  });
  return refs;
}
