import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import type { Credentials } from '../registry/auth.js';
import type { Logger } from '../util/log.js';
import { registerCredentials, registerSecret } from '../util/redact.js';

export interface CredentialSources {
  user?: string;
  password?: string;
  passwordStdin?: boolean;
  env: NodeJS.ProcessEnv;
  stdin: NodeJS.ReadableStream;
  registry: URL;
  logger: Logger;
}

/**
 * Credentials, from the first place that has them: flags (-u, -pw or --password-stdin), CLEANREG_USERNAME and
 * CLEANREG_PASSWORD, then docker's config.json (`auths`, `credHelpers`, `credsStore`; an identity token where `docker login` stored one).
 */
export async function resolveCredentials(src: CredentialSources): Promise<Credentials> {
  // CI systems set unavailable secrets to empty strings: empty counts as unset.
  const username = src.user || src.env.CLEANREG_USERNAME || undefined;
  let password = src.password || src.env.CLEANREG_PASSWORD || undefined;
  if (src.passwordStdin) {
    // The flag wins over CLEANREG_PASSWORD, as -pw does; with -pw as well it is a mistake.
    if (src.password) throw new UsageError('--password-stdin given, but -pw/--basicauth-pw gives a password too');
    password = (await readAll(src.stdin)).replace(/\r?\n$/, '');
    if (!password) throw new UsageError('--password-stdin: standard input was empty');
  }
  if (username !== undefined || password !== undefined) {
    if (!username) throw new UsageError('a password was given without a user name: pass -u/--basicauth-user or CLEANREG_USERNAME');
    if (password === undefined) throw new UsageError(`user "${username}" has no password: pass -pw/--basicauth-pw, CLEANREG_PASSWORD or --password-stdin`);
    registerCredentials(username, password);
    return { username, password };
  }
  const fromDocker = await dockerCredentials(src.registry, src.env, src.logger);
  if (fromDocker) registerCredentials(fromDocker.username, fromDocker.password);
  registerSecret(fromDocker?.identityToken);
  return fromDocker ?? {};
}

function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => (data += chunk));
    stream.on('end', () => resolve(data));
    stream.on('error', reject);
  });
}

interface DockerConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

export function dockerConfigPath(env: NodeJS.ProcessEnv): string {
  return join(env.DOCKER_CONFIG ?? join(env.HOME ?? homedir(), '.docker'), 'config.json');
}

/** The keys docker may have stored a registry under: `host:port`, with or without a scheme and a path. */
function matchesHost(key: string, host: string): boolean {
  const bare = key.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
  return bare.toLowerCase() === host.toLowerCase();
}

async function dockerCredentials(registry: URL, env: NodeJS.ProcessEnv, logger: Logger): Promise<Credentials | undefined> {
  const path = dockerConfigPath(env);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') logger.warn(`ignoring ${path}: ${(error as Error).message}`);
    return undefined;
  }
  let config: DockerConfig;
  try {
    config = JSON.parse(text) as DockerConfig;
  } catch {
    // JSON.parse's message quotes the text around the fault: in this file, a password.
    logger.warn(`ignoring ${path}: it is not valid JSON`);
    return undefined;
  }
  const host = registry.host;
  const helperKey = Object.keys(config.credHelpers ?? {}).find((k) => matchesHost(k, host));
  const helper = helperKey ? config.credHelpers![helperKey] : undefined;
  if (helper) return credentialHelper(helper, host, logger, env);

  const authKey = Object.keys(config.auths ?? {}).find((k) => matchesHost(k, host));
  const entry = authKey ? config.auths![authKey] : undefined;
  // `docker login` to a registry with OAuth (Azure, some OIDC set-ups) keeps a refresh token, not the password.
  if (entry?.identitytoken) {
    logger.verbose(`using the identity token for ${host} from ${path}`);
    return { identityToken: entry.identitytoken };
  }
  if (entry?.username && entry.password !== undefined) {
    logger.verbose(`using credentials for ${host} from ${path}`);
    return { username: entry.username, password: entry.password, source: path };
  }
  if (entry?.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) {
      logger.verbose(`using credentials for ${host} from ${path}`);
      return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), source: path };
    }
    logger.warn(`ignoring the auth entry for ${host} in ${path}: it is not base64 of user:password`);
  }
  if (config.credsStore) return credentialHelper(config.credsStore, host, logger, env);
  return undefined;
}

/** `docker-credential-<name> get`, host on stdin, `{"Username","Secret"}` on stdout. */
function credentialHelper(name: string, host: string, logger: Logger, env: NodeJS.ProcessEnv): Promise<Credentials | undefined> {
  const program = `docker-credential-${name}`;
  return new Promise((resolve, reject) => {
    const child = execFile(program, ['get'], { timeout: 30_000, env }, (error, stdout) => {
      if (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
          // A config.json mounted into a container often names a helper the container does not have.
          logger.warn(`docker's config names the credential helper "${name}", but ${program} is not on the PATH; going on without its credentials`);
          resolve(undefined);
          return;
        }
        // Helpers say "credentials not found in native keychain" and exit 1 when they have nothing.
        logger.verbose(`${program} has no credentials for ${host}`);
        resolve(undefined);
        return;
      }
      try {
        const { Username, Secret } = JSON.parse(stdout) as { Username?: string; Secret?: string };
        if (!Username || Secret === undefined) return resolve(undefined);
        logger.verbose(`using credentials for ${host} from ${program}`);
        // Helpers hand out an identity token as the user "<token>" (docker's convention).
        resolve(Username === '<token>' ? { identityToken: Secret } : { username: Username, password: Secret, source: program });
      } catch {
        reject(new UsageError(`${program} answered with something that is not JSON`));
      }
    });
    // A helper may answer and exit without reading the host: the EPIPE that leaves is not an error of ours.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(host);
  });
}
