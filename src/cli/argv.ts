/**
 * cleanreg's Python CLI had a two-letter short option, `-pw`, which yargs would read as `-p -w`. It is rewritten
 * to `--basicauth-pw` before parsing, so `-pw secret` and `-pw=secret` work exactly as before.
 */
export function rewriteLegacyArgs(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--') {
      out.push(...args.slice(i));
      break;
    }
    if (arg === '-pw') out.push('--basicauth-pw');
    else if (arg.startsWith('-pw=')) out.push(`--basicauth-pw=${arg.slice(4)}`);
    else out.push(arg);
  }
  return out;
}
