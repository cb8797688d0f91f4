import type { Argv } from 'yargs';

/** A number as people write one: not hex (`0x2`), not an exponent (`1e1`), which Number() would take. */
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)$/;

/**
 * A number option that yargs does not convert: with `type: 'number'` it turns "abc" into NaN before any check
 * could name it. A decimal word becomes a number; anything else stays the word, which the checks then refuse.
 */
export const NUMBER_OPTION = {
  requiresArg: true,
  coerce: (value: unknown): number => (typeof value === 'string' && DECIMAL.test(value.trim()) ? Number(value) : (value as number)),
} as const;

/**
 * A string option needs its value: yargs would read a missing one as "" and run without it (`--shard` at the end of
 * the line: no sharding; `--plan-out` without a file: no plan), and `--shard -1/2` as flags.
 */
export const STRING_OPTION = { type: 'string', requiresArg: true } as const;

/** How to reach the registry: shared by every command that talks to one. */
export function connectionOptions<T>(y: Argv<T>) {
  return y
    .option('registry', { alias: 'r', ...STRING_OPTION, describe: 'Registry URL, e.g. https://registry.example.com:5000 (env CLEANREG_REGISTRY)', group: 'Connection:' })
    .option('cacert', { alias: 'c', ...STRING_OPTION, describe: 'CA certificate (PEM) that signed the registry certificate', group: 'Connection:' })
    .option('insecure', { type: 'boolean', describe: 'Skip TLS certificate verification (not recommended)', group: 'Connection:' })
    .option('cert', { ...STRING_OPTION, describe: 'Client certificate (PEM) for mTLS', group: 'Connection:' })
    .option('key', { ...STRING_OPTION, describe: 'Client key (PEM) for mTLS', group: 'Connection:' })
    .option('basicauth-user', { alias: ['u', 'username'], ...STRING_OPTION, describe: 'User name (env CLEANREG_USERNAME; else docker config.json)', group: 'Connection:' })
    .option('basicauth-pw', { ...STRING_OPTION, describe: 'Password; also -pw (env CLEANREG_PASSWORD is safer)', group: 'Connection:' })
    .option('password-stdin', { type: 'boolean', describe: 'Read the password from standard input', group: 'Connection:' })
    .option('proxy', { alias: 'p', type: 'boolean', describe: 'Use HTTPS_PROXY/HTTP_PROXY/NO_PROXY (off by default)', group: 'Connection:' })
    .option('timeout', { ...NUMBER_OPTION, default: 30, describe: 'Seconds to wait for one request', group: 'Connection:' })
    .option('retries', { ...NUMBER_OPTION, default: 4, describe: 'Retries for 429/502/503/504 and dropped connections', group: 'Connection:' })
    .option('metadata-workers', { alias: 'w', ...NUMBER_OPTION, default: 32, describe: 'Requests in flight at once', group: 'Connection:' })
    .option('verbose', { alias: 'v', type: 'count', describe: 'More detail on stderr (-v, -vv, -vvv)' });
}

/** Retention rules for -n (repos.conf lines carry their own). */
export function ruleOptions<T>(y: Argv<T>) {
  return y
    .option('include', { ...STRING_OPTION, describe: 'Only images whose tags all match REGEX (whole tag) may be deleted', group: 'Rules:' })
    .option('exclude', { ...STRING_OPTION, describe: 'A tag matching REGEX (whole tag) protects its image', group: 'Rules:' })
    .option('before', { ...STRING_OPTION, describe: 'Only images created before DATE (ISO 8601; UTC unless a zone is given)', group: 'Rules:' })
    .option('after', { ...STRING_OPTION, describe: 'Only images created after DATE', group: 'Rules:' })
    .option('older-than', { ...STRING_OPTION, describe: 'Only images older than AGE (30d, 12h, 2w, 6mo, 1y)', group: 'Rules:' })
    .option('newer-than', { ...STRING_OPTION, describe: 'Only images newer than AGE', group: 'Rules:' })
    .option('order', { ...STRING_OPTION, choices: ['created', 'semver', 'name'], describe: 'What "newest" means for --keepimages (default: created)', group: 'Rules:' })
    .option('ignore-ref-tags', { alias: 'i', type: 'boolean', describe: 'Leave any digest that carries more than one tag', group: 'Rules:' });
}

/** What to do with the plan. */
export function runOptions<T>(y: Argv<T>) {
  return y
    .option('dry-run', { type: 'boolean', describe: 'Show the plan, delete nothing' })
    .option('yes', { alias: 'y', type: 'boolean', describe: 'Delete without asking' })
    .option('quiet', { alias: 'q', type: 'boolean', hidden: true, describe: 'Deprecated alias of --yes' })
    .option('output', { alias: 'o', ...STRING_OPTION, choices: ['table', 'json'], default: 'table', describe: 'Plan and result format on stdout' })
    .option('gc-command', { ...STRING_OPTION, describe: 'Command run after an apply that deleted something (e.g. the registry garbage collection)' });
}
