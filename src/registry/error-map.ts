import { CleanregError, RegistryError } from '../errors.js';
import { displayUrl } from '../util/redact.js';
import { parseChallenge } from './challenge.js';
import { HttpRequestError, HttpStatusError } from './transport.js';

export interface RequestContext {
  method: string;
  url: URL;
  /** What was being done, e.g. `list tags of demo/nginx`. */
  what: string;
  repo?: string;
  scope?: string;
  hasCredentials: boolean;
  /** Where the credentials came from, when not from cleanreg's own options (docker's config.json, a helper). */
  credentialSource?: string;
  /** The credentials are docker's identity token (good for a token service only, never sent as Basic). */
  identityToken?: boolean;
  /** The proxy the request went through, if any. */
  proxy?: string;
  /** The request went to the token service the registry named (its challenge's realm), not to the registry. */
  tokenService?: boolean;
  /** The CA file given with -c/--cacert, if any. */
  cacert?: string;
}

const TOKEN_SERVICE_HINT = "the registry sends clients to this token service (the realm of its WWW-Authenticate header): check that it runs and that this machine can reach it";

const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** TLS alerts of a server that wants a client certificate it trusts (mTLS, `http.tls.clientcas`). */
const CLIENT_CERT_CODES = new Set([
  'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE',
  'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
  'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
  'ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN',
  'ERR_SSL_TLSV1_ALERT_ACCESS_DENIED',
]);

/** Written so that the redaction of `//user:password@` in every output line leaves it readable. */
const PROXY_CREDENTIALS_HINT = 'put them in the proxy URL (HTTP_PROXY, HTTPS_PROXY) as user:password@ right after http://';
export const CREDENTIALS_HINT = 'pass -u USER and -pw PASSWORD (or CLEANREG_USERNAME/CLEANREG_PASSWORD, --password-stdin, or docker login)';
/** Credentials from docker's config.json (or a helper) that were refused: most likely a stale docker login. */
export const DOCKER_CREDENTIALS_HINT = 'run docker login again, or pass -u USER and -pw PASSWORD (or CLEANREG_USERNAME/CLEANREG_PASSWORD, --password-stdin), which come first';

/** The registry's own error code (`NAME_UNKNOWN`, `UNSUPPORTED`, ...) from its JSON error body. */
export function registryErrorCode(body: unknown): string | undefined {
  try {
    const parsed = Buffer.isBuffer(body) || typeof body === 'string' ? JSON.parse(body.toString()) : body;
    const code = (parsed as { errors?: { code?: string }[] })?.errors?.[0]?.code;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}

/** Turns whatever the transport threw into a RegistryError that says what went wrong and what to do. */
export function mapRequestError(error: unknown, ctx: RequestContext): CleanregError {
  if (error instanceof CleanregError) return error;
  const mapped = describeFailure(error, ctx);
  mapped.what = ctx.what;
  if (error instanceof HttpRequestError) mapped.networkCode = error.code;
  return mapped;
}

/**
 * A 401 whose Bearer challenge says why (RFC 6750): the token service accepted the credentials, so checking them
 * is not what to do. `insufficient_scope`: the token lacks the access (a user that may pull but not delete);
 * `invalid_token`: the registry does not accept what its token service signed.
 */
function refusedToken(error: HttpStatusError, ctx: RequestContext): RegistryError | undefined {
  // Without credentials, the anonymous token lacks the access: asking for credentials says what to do.
  if (error.response.statusCode !== 401 || !(ctx.hasCredentials || ctx.identityToken)) return undefined;
  const why = parseChallenge(error.response.headers['www-authenticate'])?.params.error;
  const scope = forScope(ctx);
  if (why === 'insufficient_scope') {
    return new RegistryError('forbidden', `${ctx.what}: the token service's token does not allow this (401 insufficient_scope${scope})`, `${permissionHint(ctx.method)} (the token service grants what the user may do)`, 401);
  }
  if (why === 'invalid_token') {
    return new RegistryError('unauthorized', `${ctx.what}: the registry refused the token service's token (401 invalid_token${scope})`, "check that the registry trusts the token service (auth.token issuer, service and rootcertbundle) and that both machines' clocks agree", 401);
  }
  return undefined;
}

/**
 * Plain http goes to a proxy as an ordinary request, so a proxy's refusal (Squid's Access Denied, a 502 for a host
 * it cannot reach) comes back as an HTTP answer. One without the registry's JSON error is most likely the proxy's.
 */
function proxyRefusal(error: HttpStatusError, ctx: RequestContext): RegistryError | undefined {
  const status = error.response.statusCode;
  if (!ctx.proxy || ctx.url.protocol !== 'http:' || ![403, 502, 503, 504].includes(status) || registryErrorCode(error.response.body)) return undefined;
  const proxy = proxyName(ctx.proxy);
  return new RegistryError(status === 403 ? 'forbidden' : 'server', `${ctx.what}: HTTP ${status} through the proxy ${proxy}, without a registry error in the answer: most likely the proxy's`, 'check what the proxy allows for this registry, or NO_PROXY for it, or run without -p/--proxy', status);
}

/** A proxy's URL as said in errors: without credentials or a trailing slash. */
function proxyName(proxy: string): string {
  return displayUrl(proxy).replace(/\/$/, '');
}

/** The token scope a refused request asked for, as said in errors. */
function forScope(ctx: RequestContext): string {
  return ctx.scope ? ` for scope "${ctx.scope}"` : '';
}

/**
 * The catalog is registry-wide: GitLab, Harbor (for all but admins) and others refuse or hide it while each
 * repository can still be read. Listing it is needed only for a glob.
 */
function catalogRefusal(error: HttpStatusError, ctx: RequestContext): RegistryError | undefined {
  const status = error.response.statusCode;
  if (!ctx.url.pathname.endsWith('/v2/_catalog') || ![401, 403, 404].includes(status) || (status === 401 && !ctx.hasCredentials && !ctx.identityToken)) return undefined;
  const code = registryErrorCode(error.response.body) ?? parseChallenge(error.response.headers['www-authenticate'])?.params.error;
  const detail = code ? ` ${code}` : '';
  const why = status === 404 ? 'the registry does not list its repositories' : 'the registry does not let this user list its repositories';
  return new RegistryError(status === 404 ? 'not-found' : status === 401 ? 'unauthorized' : 'forbidden', `${ctx.what}: ${why} (${status}${detail})`, 'name the repositories without a glob (-n NAME, or plain names in repos.conf): each can be cleaned without the catalog', status);
}

function permissionHint(method: string): string {
  return method === 'DELETE' ? 'the user needs delete permission on this repository' : 'the user needs pull permission on this repository';
}

function describeFailure(error: unknown, ctx: RequestContext): RegistryError {
  const origin = ctx.url.origin;
  if (error instanceof HttpStatusError && error.response.statusCode === 407 && ctx.proxy) {
    // Plain http goes to the proxy as an ordinary request, so its refusal is an HTTP answer, not a failed tunnel.
    return new RegistryError('connection', `${ctx.what}: the proxy ${proxyName(ctx.proxy)} wants credentials (HTTP 407)`, PROXY_CREDENTIALS_HINT, 407);
  }
  if (error instanceof HttpStatusError) return catalogRefusal(error, ctx) ?? refusedToken(error, ctx) ?? proxyRefusal(error, ctx) ?? mapStatus(error.response.statusCode, registryErrorCode(error.response.body), ctx);
  if (error instanceof HttpRequestError && error.timedOut) {
    return new RegistryError('timeout', `${ctx.what}: no answer from ${origin} in time`, 'check the network, or raise --timeout');
  }
  if (error instanceof HttpRequestError || (error as NodeJS.ErrnoException)?.code) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (ctx.proxy) {
      const proxy = proxyName(ctx.proxy);
      // hpagent reports a refused CONNECT as "Bad response: <status>".
      const refused = /Bad response: (\d+)/.exec(String((error as Error).message));
      if (refused) {
        return new RegistryError('connection', `${ctx.what}: the proxy ${proxy} refused the tunnel to ${origin} (HTTP ${refused[1]})`, refused[1] === '407' ? `the proxy wants credentials: ${PROXY_CREDENTIALS_HINT}` : 'check the proxy settings, or NO_PROXY for this registry');
      }
      if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
        return new RegistryError('connection', `could not connect to the proxy ${proxy} (${code}) for ${origin}`, 'check HTTPS_PROXY/HTTP_PROXY, or run without -p/--proxy');
      }
    }
    if (TLS_CODES.has(code)) {
      // With -c given, the file is the wrong one (or lacks an intermediate): saying "pass -c" would not help.
      const fix = ctx.tokenService
        ? "add the token service's CA to that file (one PEM file may hold the registry's CA and the token service's)"
        : 'pass the CA that did, with any intermediate certificates in the same file';
      const hint = ctx.cacert && code !== 'CERT_HAS_EXPIRED' && code !== 'CERT_NOT_YET_VALID' && code !== 'ERR_TLS_CERT_ALTNAME_INVALID'
        ? `the CA in ${ctx.cacert} (-c/--cacert) did not sign it: ${fix} (or --insecure to skip verification)`
        : 'pass -c/--cacert FILE with the CA certificate that signed it (or --insecure to skip verification)';
      return new RegistryError('tls', `${ctx.what}: the TLS certificate of ${origin} is not trusted (${code})`, hint);
    }
    if (CLIENT_CERT_CODES.has(code)) {
      return new RegistryError(
        'tls',
        `${ctx.what}: ${origin} refused the TLS connection: it wants a client certificate it trusts (${code})`,
        'pass --cert FILE --key FILE with a client certificate signed by a CA the registry trusts (its http.tls.clientcas)',
      );
    }
    if (code === 'EPROTO' || code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number/i.test(String((error as Error).message))) {
      return new RegistryError('tls', `${ctx.what}: TLS handshake with ${origin} failed`, 'does the registry speak plain HTTP? then use an http:// URL');
    }
    if (code === 'ECONNREFUSED') {
      if (ctx.tokenService) return new RegistryError('connection', `${ctx.what}: could not connect (connection refused)`, TOKEN_SERVICE_HINT);
      return new RegistryError('connection', `could not connect to ${origin} (connection refused)`, 'check the -r/--registry URL (scheme, host and port) and that the registry is running');
    }
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
      if (ctx.tokenService) return new RegistryError('connection', `${ctx.what}: host ${ctx.url.hostname} not found (${code})`, TOKEN_SERVICE_HINT);
      return new RegistryError('connection', `host ${ctx.url.hostname} not found (${code})`, 'check the host name in -r/--registry');
    }
    if (code === 'ECONNRESET' || code === 'EPIPE') {
      return new RegistryError('connection', `${ctx.what}: the connection to ${origin} was dropped (${code}) after retries`, 'check the registry and any proxy in between; try again');
    }
    return new RegistryError('connection', `${ctx.what}: request to ${displayUrl(ctx.url)} failed: ${code || (error as Error).message}`);
  }
  return new RegistryError('protocol', `${ctx.what}: ${(error as Error)?.message ?? String(error)}`);
}

export function mapStatus(status: number, code: string | undefined, ctx: RequestContext): RegistryError {
  const detail = code ? ` ${code}` : '';
  switch (status) {
    case 401:
      if (ctx.identityToken) {
        return new RegistryError(
          'unauthorized',
          `${ctx.what}: the registry refused the request (401${detail})${forScope(ctx)}`,
          "docker's identity token works only with a registry's token service, and grants what its account may do: run docker login again, or pass -u USER and -pw PASSWORD",
          status,
        );
      }
      return ctx.hasCredentials
        ? new RegistryError('unauthorized', `${ctx.what}: the registry rejected the credentials${ctx.credentialSource ? ` from ${ctx.credentialSource}` : ''} (401${detail})${forScope(ctx)}`, ctx.credentialSource ? DOCKER_CREDENTIALS_HINT : `check the user name and password: ${CREDENTIALS_HINT}`, status)
        : new RegistryError('unauthorized', `${ctx.what}: the registry requires credentials (401${detail})`, CREDENTIALS_HINT, status);
    case 403:
      return new RegistryError(
        'forbidden',
        `${ctx.what}: access denied (403${detail})${forScope(ctx)}`,
        permissionHint(ctx.method),
        status,
      );
    case 404:
      if (code === 'NAME_UNKNOWN') {
        return new RegistryError('repository-missing', `repository "${ctx.repo}" not found on ${ctx.url.origin} (404${detail})`, 'check -n/--reponame or repos.conf; `cleanreg list` shows the repositories', status);
      }
      return new RegistryError('not-found', `${ctx.what}: not found (404${detail})`, undefined, status);
    case 405:
      // Only a write is refused for want of deletion: a 405 on a read is a front refusing that method.
      if (ctx.method === 'GET' || ctx.method === 'HEAD') {
        return new RegistryError('protocol', `${ctx.what}: the registry does not allow ${ctx.method} here (405${detail})`, 'a proxy in front of the registry may refuse this method: check what it allows', status);
      }
      return new RegistryError(
        'delete-disabled',
        `${ctx.what}: deletion is disabled on this registry (405${detail})`,
        'enable it with REGISTRY_STORAGE_DELETE_ENABLED=true (storage.delete.enabled: true in config.yml) and restart the registry; pull-through caches, Docker Hub and GHCR do not allow deletion over the v2 API',
        status,
      );
    case 400:
      // What a TLS port says to plain HTTP (Go: "Client sent an HTTP request to an HTTPS server").
      return new RegistryError('protocol', `${ctx.what}: the registry answered HTTP 400${detail}`, ctx.url.protocol === 'http:' ? 'if the registry speaks HTTPS on this port, use an https:// URL' : undefined, status);
    case 429:
      return new RegistryError('rate-limited', `${ctx.what}: rate limited by the registry (429)`, 'lower -w/--metadata-workers, or run again later', status);
    default:
      return new RegistryError(status >= 500 ? 'server' : 'protocol', `${ctx.what}: the registry answered HTTP ${status}${detail}`, status >= 500 ? 'the registry failed; check its logs and try again' : undefined, status);
  }
}
