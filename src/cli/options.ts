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

/** How to reach the registry: shared by every command that talks to one. */
export function connectionOptions<T>(y: Argv<T>) {
  return y
    .option('registry', { alias: 'r', type: 'string', describe: 'Registry URL, e.g. https://registry.example.com:5000 (env CLEANREG_REGISTRY)', group: 'Connection:' })
    .option('cacert', { alias: 'c', type: 'string', describe: 'CA certificate (PEM) that signed the registry certificate', group: 'Connection:' })
    .option('insecure', { type: 'boolean', describe: 'Skip TLS certificate verification (not recommended)', group: 'Connection:' })
    .option('cert', { type: 'string', describe: 'Client certificate (PEM) for mTLS', group: 'Connection:' })
    .option('key', { type: 'string', describe: 'Client key (PEM) for mTLS', group: 'Connection:' })
    .option('basicauth-user', { alias: ['u', 'username'], type: 'string', describe: 'User name (env CLEANREG_USERNAME; else docker config.json)', group: 'Connection:' })
    .option('basicauth-pw', { type: 'string', describe: 'Password; also -pw (env CLEANREG_PASSWORD is safer)', group: 'Connection:' })
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
    .option('include', { type: 'string', describe: 'Only images whose tags all match REGEX (whole tag) may be deleted', group: 'Rules:' })
    .option('exclude', { type: 'string', describe: 'A tag matching REGEX (whole tag) protects its image', group: 'Rules:' })
    .option('before', { type: 'string', describe: 'Only images created before DATE (ISO 8601; UTC unless a zone is given)', group: 'Rules:' })
    .option('after', { type: 'string', describe: 'Only images created after DATE', group: 'Rules:' })
    .option('older-than', { type: 'string', describe: 'Only images older than AGE (30d, 12h, 2w, 6mo, 1y)', group: 'Rules:' })
    .option('newer-than', { type: 'string', describe: 'Only images newer than AGE', group: 'Rules:' })
    .option('order', { type: 'string', choices: ['created', 'semver', 'name'], describe: 'What "newest" means for --keepimages (default: created)', group: 'Rules:' })
    .option('ignore-ref-tags', { alias: 'i', type: 'boolean', describe: 'Leave any digest that carries more than one tag', group: 'Rules:' });
}

/** What to do with the plan. */
export function runOptions<T>(y: Argv<T>) {
  return y
    .option('dry-run', { type: 'boolean', describe: 'Show the plan, delete nothing' })
    .option('yes', { alias: 'y', type: 'boolean', describe: 'Delete without asking' })
    .option('quiet', { alias: 'q', type: 'boolean', hidden: true, describe: 'Deprecated alias of --yes' })
    .option('output', { alias: 'o', type: 'string', choices: ['table', 'json'], default: 'table', describe: 'Plan and result format on stdout' })
    .option('gc-command', { type: 'string', describe: 'Command run after an apply that deleted something (e.g. the registry garbage collection)' });
}
