import { UsageError } from './errors.js';
import { DIGEST } from './util/digest.js';

/** A parsed image reference: `[host/]repo:tag` or `[host/]repo@sha256:…`. */
export interface ImageRef {
  text: string;
  repo: string;
  tag?: string;
  digest?: string;
}

/**
 * Parses a reference as docker does: the first path component is a host when it has a `.` or a `:` or is
 * `localhost`; a host that is not the registry's is an error. `where` names it in errors: a file's line, which
 * shows the text, or for a word of the command line its place, which does not (a password given after the wrong
 * option would otherwise be printed).
 */
export function parseReference(text: string, registryHost: string, where: { line: string } | { word: number }): ImageRef {
  const label = 'line' in where ? `${where.line}: "${text}"` : `reference ${where.word}`;
  const note = 'line' in where ? '' : ' (the word is not shown: a password given after the wrong option could be in its place)';
  const invalid = (what: string) => new UsageError(`${label} ${what}${note}`);
  let rest = text.trim();
  const slash = rest.indexOf('/');
  if (slash > 0) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost') {
      if (first.toLowerCase() !== registryHost.toLowerCase()) {
        throw invalid(`is on ${first}, not on the registry ${registryHost} given with -r`);
      }
      rest = rest.slice(slash + 1);
    }
  }
  const at = rest.indexOf('@');
  if (at >= 0) {
    const digest = rest.slice(at + 1);
    if (!DIGEST.test(digest)) throw invalid('has an invalid digest: write sha256: and 64 lowercase hex digits (or sha384:, sha512:)');
    const repo = rest.slice(0, at);
    // docker reads repo:tag@digest as the digest alone: the tag would be ignored, and every tag of that image deleted.
    if (repo.lastIndexOf(':') > repo.lastIndexOf('/')) throw invalid('names both a tag and a digest: write repo:tag to remove that tag, or repo@sha256:… to delete the image with every tag it has');
    return checkRepo({ text, repo, digest }, invalid);
  }
  const colon = rest.lastIndexOf(':');
  if (colon <= rest.lastIndexOf('/') || colon < 0) throw invalid('names no tag: write repo:tag or repo@sha256:…');
  const tag = rest.slice(colon + 1);
  if (!/^[\w][\w.-]{0,127}$/.test(tag)) throw invalid('has an invalid tag');
  return checkRepo({ text, repo: rest.slice(0, colon), tag }, invalid);
}

function checkRepo(ref: ImageRef, invalid: (what: string) => UsageError): ImageRef {
  if (!/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/.test(ref.repo)) {
    throw invalid('has an invalid repository name');
  }
  return ref;
}

/** A file of references: one a line, `#` comments and blank lines allowed. Errors name the line. */
export function parseReferenceFile(text: string, file: string, registryHost: string): ImageRef[] {
  const refs: ImageRef[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (line) refs.push(parseReference(line, registryHost, { line: `${file}:${i + 1}` }));
  });
  return refs;
}
