import { readFileSync } from 'node:fs';
import { ConfigError, UsageError } from '../errors.js';
import type { Policy } from '../planner/types.js';
import { buildPolicy, parseKeep, RuleError, type RuleInput } from './rules.js';
import { checkRepositoryPattern, type Target } from './targets.js';

/** repos.conf keys and the rule each sets; `ignore-ref-tags` is a bare word. */
const KEYS: Record<string, keyof RuleInput> = {
  include: 'include',
  exclude: 'exclude',
  before: 'before',
  after: 'after',
  'older-than': 'olderThan',
  'newer-than': 'newerThan',
  order: 'order',
};
/** What a rule may be, for the error messages. */
const RULES = `${Object.keys(KEYS).join(', ')} (as key=value) or the bare word ignore-ref-tags`;
const KEY_NAMES = Object.fromEntries(Object.entries(KEYS).map(([k, v]) => [v, k]));

/**
 * Reads a repos.conf: `<repository|glob> <images to keep> [key=value ...]` per line, `#` comments, blank lines,
 * any whitespace. cleanreg's two-column files read unchanged. Values may be quoted ("a b" or 'a b').
 * Every error names the file, the line and the key.
 */
export function readReposFile(path: string, defaults: RuleInput = {}): Target[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read repos file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return parseReposFile(text, path, defaults);
}

export function parseReposFile(text: string, file: string, defaults: RuleInput = {}): Target[] {
  const targets: Target[] = [];
  const lineOf = new Map<string, number>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    const words = tokenize(raw, file, line);
    if (words.length === 0) return;
    const [pattern, keepWord, ...options] = words;
    if (keepWord === undefined) throw new ConfigError(file, line, `"${pattern}" has no number of images to keep: write "<repository> <images to keep>"`);
    const problem = checkRepositoryPattern(pattern);
    if (problem) throw new ConfigError(file, line, problem);
    // cleanreg.py took the last of such lines, cleanreg the first: a file written for the old script would keep
    // fewer images than its author meant. Neither is guessed.
    const first = lineOf.get(pattern);
    if (first !== undefined) throw new ConfigError(file, line, `"${pattern}" is already on line ${first}: list it once, with the number of images to keep and the rules you mean`);
    lineOf.set(pattern, line);
    const input: RuleInput = { ...defaults };
    const given = new Set<string>();
    for (const option of options) {
      const eq = option.indexOf('=');
      const key = eq > 0 ? option.slice(0, eq) : option;
      if (key === 'ignore-ref-tags') {
        if (eq >= 0) throw new ConfigError(file, line, `ignore-ref-tags takes no value: write the bare word ignore-ref-tags`);
        if (given.has(key)) throw new ConfigError(file, line, 'ignore-ref-tags is given twice: give it once');
        given.add(key);
        input.ignoreRefTags = true;
        continue;
      }
      if (eq < 0 && !(key in KEYS)) throw new ConfigError(file, line, `unexpected word "${option}": rules are ${RULES}`);
      if (!(key in KEYS)) throw new ConfigError(file, line, `unknown key "${key}": use ${RULES}`);
      if (eq < 0 || eq === option.length - 1) throw new ConfigError(file, line, `${key}: missing value (write ${key}=VALUE)`);
      // The last would otherwise win silently: two exclude= would protect one pattern's tags only.
      if (given.has(key)) throw new ConfigError(file, line, `${key} is given twice: give it once${key === 'include' || key === 'exclude' ? ' (one regex can match several tags: a|b)' : ''}`);
      given.add(key);
      input[KEYS[key] as Exclude<keyof RuleInput, 'ignoreRefTags'>] = option.slice(eq + 1);
    }
    let policy: Policy;
    try {
      policy = buildPolicy(parseKeep(keepWord), input);
    } catch (error) {
      if (error instanceof RuleError) throw new ConfigError(file, line, `${error.key === 'keep' ? 'images to keep' : KEY_NAMES[error.key]}: ${error.message}`);
      throw error;
    }
    targets.push({ pattern, policy, source: `${file}:${line}` });
  });
  if (targets.length === 0) throw new UsageError(`${file} lists no repositories`, 'write one "<repository> <images to keep>" per line');
  return targets;
}

/** Splits a line into words; quotes group, `#` at the start of a word begins a comment. */
function tokenize(raw: string, file: string, line: number): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: string | undefined;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (quote) {
      if (c === quote) quote = undefined;
      else word += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else if (c === '#' && !inWord) {
      break;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote) {
    const key = word.includes('=') ? `${word.slice(0, word.indexOf('='))}: ` : '';
    throw new ConfigError(file, line, `${key}unclosed ${quote} quote`);
  }
  if (inWord) words.push(word);
  return words;
}
