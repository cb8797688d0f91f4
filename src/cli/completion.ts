import yargs from 'yargs';
import { cleanBuilder } from '../commands/clean.js';

/** The named commands: after one of them, yargs completes that command's options itself. */
const COMMANDS = new Set(['completion', 'apply', 'delete', 'list', 'prune-empty']);

/**
 * yargs' shell completions, mended: the default command is offered as a literal "$0", its options are never offered
 * (yargs completes the options of a named command only), and one-letter aliases come out as "--r".
 */
export function completeCommandLine(completions: string[], current: string, argv: { _: (string | number)[] }): string[] {
  const mended = completions.filter((c) => c !== '$0' && !/^--[^-](?::|$)/.test(c));
  if (!current.startsWith('-') || argv._.some((word) => COMMANDS.has(String(word)))) return mended;
  return [...new Set([...mended, ...defaultCommandOptions()])];
}

/** What yargs knows of its options (not in @types/yargs). */
interface DeclaredOptions {
  key: Record<string, unknown>;
  alias: Record<string, string[]>;
  boolean: string[];
  default: Record<string, unknown>;
  hiddenOptions: string[];
}

function defaultCommandOptions(): string[] {
  const options = (cleanBuilder(yargs()) as unknown as { getOptions(): DeclaredOptions }).getOptions();
  const flag = (name: string) => (name.length === 1 ? `-${name}` : `--${name}`);
  const hidden = new Set(options.hiddenOptions.flatMap((key) => [key, ...(options.alias[key] ?? [])]));
  return Object.keys(options.key)
    .filter((key) => !hidden.has(key))
    .flatMap((key) => {
      // A switch that is on unless turned off (--no-cache) is offered as its negation.
      const negated = options.boolean.includes(key) && options.default[key] === true;
      return [flag(negated ? `no-${key}` : key), ...(options.alias[key] ?? []).map(flag)];
    });
}
