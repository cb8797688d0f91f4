import yargs from 'yargs';
import { emptyOptions, explainMissingValue, repeatedOptions, rewriteLegacyArgs, withoutUnknownValues } from './cli/argv.js';
import { completeCommandLine } from './cli/completion.js';
import { applyBuilder, runApply } from './commands/apply.js';
import { cleanBuilder, runClean } from './commands/clean.js';
import { deleteBuilder, runDelete } from './commands/delete.js';
import { listBuilder, runList } from './commands/list.js';
import { pruneEmptyBuilder, runPruneEmpty } from './commands/prune-empty.js';
import { CleanregError } from './errors.js';
import type { Io } from './util/log.js';
import { redact, registerSecret } from './util/redact.js';
import { VERSION } from './version.js';

const EXAMPLES: [string, string][] = [
  ['$0 -r http://registry:5000 -n mysql -k 5', 'keep the 5 newest images of mysql, delete the rest (asks first)'],
  ['$0 -r http://registry:5000 -n mysql -k 5 --dry-run', 'only show what would be deleted'],
  ['$0 -r https://registry -c ca.pem -u admin -f repos.conf -y', 'clean the repositories listed in repos.conf, without asking'],
  ["$0 -r https://registry -n 'team/*' -k 10 --exclude 'latest|stable' --older-than 30d", 'glob, protected tags and an age limit'],
  ['$0 -r https://registry -f repos.conf --dry-run --output json --plan-out plan.json', 'save a reviewed plan...'],
  ['$0 apply plan.json -y', '...and apply it later, re-verified'],
];

/**
 * Parses the command line and runs one command. Returns the exit code: 0 done, 1 runtime or registry failure,
 * 2 usage or configuration error. Never calls process.exit (output to a pipe must drain first).
 */
export async function main(argv: string[], io: Io): Promise<number> {
  let run: (() => Promise<number>) | undefined;
  let usageError: string | undefined;
  const parser = yargs()
    .scriptName('cleanreg')
    // One language: the checks below read yargs' messages (and a translated "Unknown argument" would echo a word).
    .locale('en')
    // --exclude.a x would make an object of --exclude, which every check downstream would misread.
    // Words stay words: yargs would read `-k 0x2` as 2 and `-k 1e1` as 10 (NUMBER_OPTION reads decimals only).
    .parserConfiguration({ 'dot-notation': false, 'parse-numbers': false, 'parse-positional-numbers': false })
    .usage('cleanreg: delete old images from a Docker/OCI registry under a retention policy\n\nUsage: $0 -r URL (-n REPO -k N | -f REPOSFILE) [options]')
    // Completions are answered through --get-yargs-completions; `completion` prints the script (captured as output).
    .completion('__complete', false, (current: string, parsed: { _: (string | number)[] }, completeAsYargs: (onCompleted: (error: Error | null, completions: string[] | undefined) => void) => void, done: (completions: string[]) => void) => {
      completeAsYargs((_error, completions) => done(completeCommandLine(completions ?? [], current, parsed, argv)));
    })
    .command('completion', 'print a bash/zsh completion script (cleanreg completion >> ~/.bashrc)', {}, () => {
      parser.showCompletionScript();
    })
    .command('$0', 'plan and delete old images (the default command)', cleanBuilder, (args) => {
      run = () => runClean(args as never, io);
    })
    .command('apply <file>', 'apply a plan saved with --plan-out, re-verified against the registry', applyBuilder, (args) => {
      run = () => runApply(args as never, io);
    })
    .command('delete [refs..]', 'delete the named tags or digests and their signatures and referrers (other tags on a shared image survive)', deleteBuilder, (args) => {
      run = () => runDelete(args as never, io);
    })
    .command('list', 'list repositories, tags, digests, types, creation dates and sizes', listBuilder, (args) => {
      run = () => runList(args as never, io);
    })
    .command('prune-empty', 'remove repositories without tags from a stopped filesystem registry', pruneEmptyBuilder, (args) => {
      run = () => runPruneEmpty(args as never, io);
    })
    .example(EXAMPLES)
    .epilogue('Exit codes: 0 done (also when nothing was to delete), 1 registry or runtime failure, 2 usage or configuration error.\nDocs: README.md')
    .version(VERSION)
    .alias('h', 'help')
    .strict()
    .wrap(Math.min(120, (io.stdout as { columns?: number }).columns ?? 100))
    .exitProcess(false)
    .fail((message, error) => {
      // yargs' own validation errors (YError, e.g. "Not enough arguments following: k") are usage errors too.
      if (error && error.name !== 'YError') throw error;
      usageError = message ?? error?.message;
    });

  try {
    let output = '';
    let parsed: Record<string, unknown> = {};
    const args = rewriteLegacyArgs(argv);
    await parser.parseAsync(args, {}, (_err, given, out) => {
      output = out;
      parsed = given;
    });
    // Known before anything can fail: an error about another option must not echo the password either
    // (`-f S3cr3t -pw S3cr3t`). One from --password-stdin is registered once read.
    for (const value of [parsed['basicauth-pw'], io.env.CLEANREG_PASSWORD].flat()) if (typeof value === 'string') registerSecret(value);
    // Completing a command line is not running it (the default command's options are unknown there).
    const completing = args.includes('--get-yargs-completions');
    const aliases = (parser as unknown as { parsed?: { aliases?: Record<string, string[]> } }).parsed?.aliases ?? {};
    const repeated = completing ? [] : repeatedOptions(parsed, aliases);
    const empty = completing ? [] : emptyOptions(parsed, aliases);
    if (empty.length && !usageError) usageError = `${empty.map((key) => `--${key}`).join(', ')} given an empty value`;
    if (repeated.length && !usageError) {
      const regex = repeated.some((key) => key === 'include' || key === 'exclude') ? ' (one REGEX can match several tags: a|b)' : '';
      usageError = `${repeated.map((key) => `--${key}`).join(', ')} given more than once: give each once${regex}`;
    }
    if (usageError) {
      io.stderr.write(`error: ${redact(explainMissingValue(withoutUnknownValues(usageError, args)))}\nRun "cleanreg --help" for usage.\n`);
      return 2;
    }
    if (output) {
      io.stdout.write(output + '\n');
      return 0;
    }
    return run ? await run() : 0;
  } catch (error) {
    return reportError(error, io);
  }
}

function reportError(error: unknown, io: Io): number {
  if (error instanceof CleanregError) {
    io.stderr.write(redact(`error: ${error.message}\n${error.hint ? `hint: ${error.hint}\n` : ''}`));
    return error.exitCode;
  }
  io.stderr.write(redact(`internal error: ${(error as Error)?.stack ?? String(error)}\n`));
  return 1;
}
