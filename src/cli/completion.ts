import yargs from 'yargs';
import { cleanBuilder } from '../commands/clean.js';

/** The named commands: after one of them, yargs completes that command's options itself. */
const COMMANDS = new Set(['completion', 'apply', 'delete', 'list', 'prune-empty']);

/**
 * yargs' shell completions, mended: the default command is offered as a literal "$0", its options are never offered
 * (yargs completes the options of a named command only), and one-letter aliases come out as "--r".
 */
export function completeCommandLine(completions: string[], current: string, argv: { _: (string | number)[] }, typed: string[]): string[] {
  const mended = completions.filter((c) => c !== '$0' && !/^--[^-](?::|$)/.test(c));
  if (!current.startsWith('-') || argv._.some((word) => COMMANDS.has(String(word)))) return mended;
  // An option already on the line is not offered again (given twice, it is refused), under any of its names.
  const given = new Set(typed.filter((word) => word.startsWith('-') && word !== current).map((word) => word.replace(/^--?/, '').replace(/=.*$/, '')));
  return [...new Set([...mended, ...defaultCommandOptions(given)])];
}

/** What yargs knows of its options (not in @types/yargs). */
interface DeclaredOptions {
  key: Record<string, unknown>;
  alias: Record<string, string[]>;
  boolean: string[];
  count: string[];
  default: Record<string, unknown>;
  hiddenOptions: string[];
}

function defaultCommandOptions(given: Set<string>): string[] {
  const options = (cleanBuilder(yargs()) as unknown as { getOptions(): DeclaredOptions }).getOptions();
  const flag = (name: string) => (name.length === 1 ? `-${name}` : `--${name}`);
  const hidden = new Set(options.hiddenOptions.flatMap((key) => [key, ...(options.alias[key] ?? [])]));
  // Every name of an option (yargs lists an alias as a key of its own too).
  const names = new Map<string, string[]>();
  for (const key of Object.keys(options.key)) {
    const group = [key, ...(options.alias[key] ?? [])];
    for (const name of group) names.set(name, [...new Set([...(names.get(name) ?? []), ...group])]);
  }
  const isGiven = (key: string) => {
    const all = names.get(key) ?? [key];
    // A counted option (-v) may be given again.
    return !all.some((name) => options.count.includes(name)) && all.some((name) => given.has(name) || given.has(`no-${name}`));
  };
  return Object.keys(options.key)
    .filter((key) => !hidden.has(key) && !isGiven(key))
    .flatMap((key) => {
      // A switch that is on unless turned off (--no-cache) is offered as its negation.
      const negated = options.boolean.includes(key) && options.default[key] === true;
      return [flag(negated ? `no-${key}` : key), ...(options.alias[key] ?? []).map(flag)];
    });
}
