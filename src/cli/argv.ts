import { UsageError } from '../errors.js';

/**
 * Two-letter flags of later cleanreg.py versions. Read as a value attached to -c or -r they would give a misleading
 * error ("say what to clean", "--registry given more than once"), so they are named.
 */
const LATER_CLEANREG_FLAGS = new Set(['-cf', '-re']);

/** The short options that take a value (-r -c -u -w -o -n -k -f), with a value attached. */
const VALUE_TAKING_SHORT = /^-([rcuwonkf])([^=].*)$/s;

/**
 * cleanreg's Python CLI had a two-letter short option, `-pw`, which yargs would read as `-p -w`. It is rewritten
 * to `--basicauth-pw` before parsing, so `-pw secret` and `-pw=secret` work exactly as before. The word after the
 * password option is the password even when it starts with "-" (as docker's `-p` takes it): yargs would read
 * `-dashpw` as the flags -d -a -s -h ... and show the help, or name its letters as unknown arguments.
 */
export function rewriteLegacyArgs(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    let arg = args[i];
    if (arg === '--') {
      out.push(...args.slice(i));
      break;
    }
    if (arg === '-pw') arg = '--basicauth-pw';
    else if (arg.startsWith('-pw=')) arg = `--basicauth-pw=${arg.slice(4)}`;
    if ((arg === '--basicauth-pw' || arg === '--basicauthPw') && i + 1 < args.length) arg = `--basicauth-pw=${args[++i]}`;
    if (LATER_CLEANREG_FLAGS.has(arg)) {
      throw new UsageError(`${arg} is a flag of later cleanreg.py versions, which cleanreg does not take`, 'repositories are chosen with -n (a name or a glob: team/*, **) or a repos file, tags with --include and --exclude; see cleanreg --help');
    }
    // A value attached to its short option, as argparse took it (-rhttp://reg:5000, -nweb, -fhome.conf): yargs
    // reads the letters as flags, and -rhttp… showed the help and exited 0 without cleaning anything.
    const attached = VALUE_TAKING_SHORT.exec(arg);
    if (attached) arg = `-${attached[1]}=${attached[2]}`;
    out.push(arg);
  }
  return out;
}

/**
 * yargs names unknown arguments in its message. An option's name is shown; a bare word is not (except a
 * mistyped command, first on the line): it may be a password typed after the wrong option (`-p` for `-pw`), and
 * the letters of an unknown `-xyz` group may be one too. (A password that itself looks like `--option` is
 * indistinguishable from one and is named.)
 */
export function withoutUnknownValues(message: string, args: string[]): string {
  // A value outside an option's choices is not shown either ("--order <password>"): what may be given is.
  if (message.startsWith('Invalid values:')) {
    // The last " Choices: " of a line is yargs' own: the given value, before it, may hold those words too.
    const options = [...message.matchAll(/Argument: ([^\s,]+),(?: Given: .*,)? Choices: (.*)$/gm)];
    if (options.length) return options.map(([, name, choices]) => `${name.length === 1 ? '-' : '--'}${name} must be one of ${choices.replaceAll('"', '')}`).join('; ');
    return message.replace(/, Given: .*, Choices: /g, ', Choices: ');
  }
  const m = /^(Unknown arguments?): (.*)$/s.exec(message);
  if (!m) return message;
  const given = (option: string) => args.some((a) => a === option || a.startsWith(`${option}=`));
  // As typed: yargs names an unknown --no-cache "cache".
  const asTyped = (word: string) => (given(`-${word}`) || given(`--${word}`) || (word === args[0] && !word.startsWith('-')) ? word : given(`--no-${word}`) ? `no-${word}` : undefined);
  const kebab = (word: string) => word.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  // yargs names an unknown --some-option twice, the second time as someOption.
  const words = m[2].split(', ').filter((word, _, all) => !(/[A-Z]/.test(word) && all.includes(kebab(word))));
  const shown = words.map(asTyped).filter((word): word is string => word !== undefined);
  const hidden = words.length - shown.length;
  const parts = shown.length ? [`unknown ${shown.length === 1 ? 'argument' : 'arguments'}: ${shown.join(', ')}`] : [];
  if (hidden) parts.push(`${hidden} unexpected ${hidden === 1 ? 'word' : 'words'} (not shown, as a word may be a password; the password goes after -pw/--basicauth-pw)`);
  return parts.join('; ');
}

/**
 * yargs' "Not enough arguments following: k", said as what to do: the option needs a value, and a value that begins
 * with "-" (a regex such as -rc.*) is read as an option unless it is written with "=".
 */
export function explainMissingValue(message: string): string {
  const m = /^Not enough arguments following: (\S+)$/.exec(message);
  if (!m) return message;
  const option = m[1].length === 1 ? `-${m[1]}` : `--${m[1]}`;
  return `${option} needs a value (one that begins with "-" is written ${option}=VALUE)`;
}

/** Positional arguments (`delete REF...`, `apply FILE`): words, not options given twice or with an empty value. */
const POSITIONALS = new Set(['_', 'refs', 'file']);

/** Options whose own check says what an empty value means ("empty pattern", "invalid age"). */
const CHECKED_WHEN_EMPTY = new Set(['include', 'exclude', 'older-than', 'newer-than', 'before', 'after']);

/** Each option once, by the name it was given with (its aliases and camelCase copy carry the same value). */
function givenOptions(argv: Record<string, unknown>, aliases: Record<string, string[]>): string[] {
  const seen = new Set<string>();
  return Object.keys(argv).filter((key) => {
    if (key === '$0' || key.length === 1 || /[A-Z]/.test(key) || seen.has(key)) return false;
    for (const alias of aliases[key] ?? []) seen.add(alias);
    return true;
  });
}

/**
 * Options given more than once. yargs gathers the values of a repeated option into a list, which the checks
 * downstream would misread: two --exclude would become the one regex "a,b", protecting nothing.
 */
export function repeatedOptions(argv: Record<string, unknown>, aliases: Record<string, string[]>): string[] {
  return givenOptions(argv, aliases).filter((key) => Array.isArray(argv[key]) && !POSITIONALS.has(key));
}

/**
 * Options given an empty value (`--plan-out ""`, `--shard "$UNSET"`): each would be read as not given at all, so a
 * job template whose variable is empty would run unsharded, or without writing its plan.
 */
export function emptyOptions(argv: Record<string, unknown>, aliases: Record<string, string[]>): string[] {
  return givenOptions(argv, aliases).filter((key) => !POSITIONALS.has(key) && !CHECKED_WHEN_EMPTY.has(key) && [argv[key]].flat().includes(''));
}
