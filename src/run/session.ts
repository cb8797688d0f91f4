import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolveCredentials } from '../cli/credentials.js';
import { UsageError } from '../errors.js';
import { parseRegistryUrl, RegistryClient } from '../registry/client.js';
import { withProxyScheme } from '../registry/proxy.js';
import { CA_HINT, secureContext } from '../registry/transport.js';
import { Logger, type Io } from '../util/log.js';
import { requestLimit, type RequestLimit } from '../util/request-limit.js';

/** Connection flags as yargs parsed them. */
export interface ConnectionArgs {
  registry?: string;
  cacert?: string;
  insecure?: boolean;
  cert?: string;
  key?: string;
  basicauthUser?: string;
  basicauthPw?: string;
  passwordStdin?: boolean;
  proxy?: boolean;
  timeout: number;
  retries: number;
  metadataWorkers: number;
  verbose: number;
}

export interface Session {
  client: RegistryClient;
  /** The one concurrency limit of the run: every request about a repository goes through it (not the ping or catalog pages; a token is fetched inside the slot of the request that needs it). */
  limit: RequestLimit;
  logger: Logger;
  registry: string;
  concurrency: number;
}

function readPem(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

/**
 * node ignores a CA bundle without a certificate in it, and any certificate in it that it cannot read: the
 * registry's certificate would then fail to verify, with -c/--cacert given. Said here instead.
 */
function checkCaBundle(pem: string, path: string): void {
  if (!/-----BEGIN (TRUSTED )?CERTIFICATE-----/.test(pem)) throw new UsageError(`-c/--cacert ${path}: no PEM certificate in it`, CA_HINT);
  for (const block of pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []) {
    try {
      new X509Certificate(block);
    } catch (error) {
      throw new UsageError(`-c/--cacert ${path}: a certificate in it cannot be read (${(error as Error).message})`, CA_HINT);
    }
  }
}

/** The longest delay node's timers keep (2^31 - 1 ms). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Checks the flags that need no network; throws UsageError before any request is made. */
export function checkConnectionArgs(args: ConnectionArgs, env: NodeJS.ProcessEnv): URL {
  const registry = args.registry ?? env.CLEANREG_REGISTRY;
  if (!registry) throw new UsageError('missing the registry: pass -r/--registry URL or set CLEANREG_REGISTRY');
  if (!Number.isInteger(args.metadataWorkers) || args.metadataWorkers < 1 || args.metadataWorkers > 256) {
    throw new UsageError(`-w/--metadata-workers must be a whole number from 1 to 256, not ${args.metadataWorkers}`);
  }
  if (!(args.timeout > 0 && Number.isFinite(args.timeout))) throw new UsageError(`--timeout must be a positive number of seconds, not ${args.timeout}`);
  // Node fires a longer timer after 1 ms: every request would time out at once.
  if (args.timeout * 1000 > MAX_TIMER_MS) throw new UsageError(`--timeout must be at most ${Math.floor(MAX_TIMER_MS / 1000)} seconds (about 24 days), not ${args.timeout}`);
  if (!Number.isInteger(args.retries) || args.retries < 0) throw new UsageError(`--retries must be a whole number, 0 or more, not ${args.retries}`);
  if (!!args.cert !== !!args.key) throw new UsageError('--cert and --key go together');
  if (args.proxy) checkProxySettings(env);
  return parseRegistryUrl(registry);
}

/** The proxy variables -p/--proxy will use, checked before any request. Their values are not shown: a proxy URL may carry a password. */
function checkProxySettings(env: NodeJS.ProcessEnv): void {
  for (const name of ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy']) {
    const value = env[name];
    if (!value) continue;
    let url: URL;
    try {
      url = new URL(withProxyScheme(value));
      decodeURIComponent(url.username);
      decodeURIComponent(url.password);
    } catch {
      throw new UsageError(`${name} is not a valid proxy URL (its value is not shown: it may hold a password)`, 'write it as http://host:port, with any credentials as user:password@ right after http:// (percent-encoded)');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new UsageError(`${name}: cleanreg goes through HTTP proxies (http:// or https://), not ${url.protocol}//`, 'point it at an HTTP proxy, or run without -p/--proxy');
    }
  }
}

export async function openSession(args: ConnectionArgs, io: Io, logger: Logger): Promise<Session> {
  const url = checkConnectionArgs(args, io.env);
  const ca = args.cacert ? readPem(args.cacert, 'CA certificate') : undefined;
  if (ca !== undefined) checkCaBundle(ca, args.cacert!);
  const cert = args.cert ? readPem(args.cert, 'client certificate') : undefined;
  const key = args.key ? readPem(args.key, 'client key') : undefined;
  // Before any credential helper or --password-stdin is asked.
  const tls = secureContext(ca, cert, key);
  if (args.insecure) logger.warn('--insecure: TLS certificates are not verified; anyone in between can read the credentials');
  const credentials = await resolveCredentials({
    user: args.basicauthUser,
    password: args.basicauthPw,
    passwordStdin: args.passwordStdin,
    env: io.env,
    stdin: io.stdin,
    registry: url,
    logger,
  });
  const client = new RegistryClient(
    {
      registry: url.toString(),
      credentials,
      secureContext: tls,
      cacert: args.cacert,
      insecure: args.insecure,
      useProxy: args.proxy,
      env: io.env,
      timeoutMs: args.timeout * 1000,
      retries: args.retries,
      concurrency: args.metadataWorkers,
      logger,
    },
    logger,
  );
  return { client, limit: requestLimit(args.metadataWorkers), logger, registry: url.toString().replace(/\/$/, ''), concurrency: args.metadataWorkers };
}

export function createLogger(io: Io, verbose: number): Logger {
  return new Logger(io.stderr, verbose);
}
