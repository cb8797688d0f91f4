import { RegistryError } from '../errors.js';
import type { Logger } from '../util/log.js';
import { registerSecret } from '../util/redact.js';
import { parseChallenge } from './challenge.js';
import { CREDENTIALS_HINT, DOCKER_CREDENTIALS_HINT, mapRequestError } from './error-map.js';
import { HttpStatusError, type Transport } from './transport.js';

export interface Credentials {
  username?: string;
  password?: string;
  /** An OAuth2 refresh token (docker config.json `identitytoken`): exchanged for bearer tokens, never sent as Basic. */
  identityToken?: string;
  /** Where they came from when not from cleanreg's own options (docker's config.json, a credential helper). */
  source?: string;
}

interface CachedToken {
  value: string;
  expiresAt: number;
}

/** Tokens are renewed this long before they expire. */
const EXPIRY_MARGIN_MS = 10_000;

/**
 * Basic and bearer auth for one registry. Basic credentials are sent with every request until the registry
 * answers with a Bearer challenge; from then on each request carries a token for the scope it needs, fetched
 * from the challenge's realm (GET with the basic credentials or anonymously; POST with an identity token, as an
 * OAuth2 refresh-token grant, as docker does) and cached per scope until it expires.
 */
export class Authenticator {
  private bearer?: { realm: string; service?: string };
  private readonly tokens = new Map<string, CachedToken>();
  private readonly pending = new Map<string, Promise<string>>();
  /** Scopes the token service refused with `delete`, mapped to the `*` form it accepted. */
  private readonly scopeFallback = new Map<string, string>();
  /** docker's identity token: an OAuth2 refresh token, replaced when the token service rotates it. */
  private refreshToken?: string;
  /** Refresh grants go one at a time: a rotated refresh token may be good for one use only. */
  private grants: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly http: Transport,
    private readonly credentials: Credentials,
    private readonly logger: Logger,
    /** The CA file given with -c/--cacert: the token service's certificate is checked against it too. */
    private readonly cacert?: string,
  ) {
    registerSecret(credentials.password);
    registerSecret(credentials.identityToken);
    this.refreshToken = credentials.identityToken;
  }

  get hasCredentials(): boolean {
    return this.hasPassword || this.usesIdentityToken;
  }

  /** Where the credentials came from, when not from cleanreg's own options: named in a refusal's hint. */
  get credentialSource(): string | undefined {
    return this.credentials.source;
  }

  get usesIdentityToken(): boolean {
    return this.refreshToken !== undefined;
  }

  private get hasPassword(): boolean {
    return !!this.credentials.username && this.credentials.password !== undefined;
  }

  get scheme(): 'bearer' | 'basic' | 'none' {
    if (this.bearer) return 'bearer';
    return this.hasPassword ? 'basic' : 'none';
  }

  /** The Authorization header value for a request that needs `scope`, if any. */
  header(scope: string | undefined): string | undefined | Promise<string> {
    // Answered at once when nothing has to be fetched: every request asks.
    if (this.bearer) {
      const cached = this.tokens.get(scope ?? '');
      if (cached && cached.expiresAt > Date.now()) return `Bearer ${cached.value}`;
      return this.token(scope).then((token) => `Bearer ${token}`);
    }
    if (this.hasPassword) return `Basic ${this.basic()}`;
    return undefined;
  }

  /**
   * Called on a 401. Returns true when the request is worth sending once more: the registry just revealed
   * a Bearer challenge, or a cached token needs renewing (first refusal: the same scope again; second refusal
   * of a `delete` scope: `*`, which some token services grant where they drop `delete`).
   */
  onUnauthorized(wwwAuthenticate: string | string[] | undefined, scope: string | undefined, refusals: number): boolean {
    const challenge = parseChallenge(wwwAuthenticate);
    if (challenge?.scheme !== 'bearer' || !challenge.params.realm) return false;
    const hadToken = !!this.bearer;
    if (!hadToken) this.logger.debug(`registry uses bearer tokens from ${challenge.params.realm}`);
    this.bearer = { realm: challenge.params.realm, service: challenge.params.service };
    const key = scope ?? '';
    this.tokens.delete(key);
    if (refusals === 0 || !hadToken) return true;
    if (refusals === 1 && scope && /[:,]delete(,|$)/.test(scope) && !this.scopeFallback.has(key)) {
      this.logger.verbose(`the registry refused a token for "${scope}"; trying "${starScope(scope)}"`);
      this.scopeFallback.set(key, starScope(scope));
      return true;
    }
    return false;
  }

  /** The scope tokens are asked for on behalf of `scope`: the `*` form where the token service refused `delete`. */
  scopeAsked(scope: string | undefined): string | undefined {
    return (scope !== undefined && this.scopeFallback.get(scope)) || scope;
  }

  private basic(): string {
    return Buffer.from(`${this.credentials.username}:${this.credentials.password}`).toString('base64');
  }

  private async token(scope: string | undefined): Promise<string> {
    const key = scope ?? '';
    const cached = this.tokens.get(key);
    if (cached && cached.expiresAt > Date.now()) return cached.value;
    let pending = this.pending.get(key);
    if (!pending) {
      pending = this.fetchToken(scope).finally(() => this.pending.delete(key));
      this.pending.set(key, pending);
    }
    return pending;
  }

  private async fetchToken(scope: string | undefined): Promise<string> {
    const bearer = this.bearer!;
    const key = scope ?? '';
    const requested = this.scopeFallback.get(key) ?? scope;
    try {
      const token = await this.requestToken(bearer, requested);
      this.tokens.set(key, token);
      return token.value;
    } catch (error) {
      const status = error instanceof HttpStatusError ? error.response.statusCode : 0;
      const identity = this.usesIdentityToken;
      // OAuth2 refuses an expired or revoked refresh token with 400 invalid_grant (RFC 6749 section 5.2).
      const refused = status === 401 || status === 403 || (identity && status === 400);
      // Some token services refuse `delete` in a scope but grant `*`.
      if (refused && requested && requested !== starScope(requested) && /delete/.test(requested)) {
        this.logger.verbose(`token service refused scope "${requested}"; trying "${starScope(requested)}"`);
        this.scopeFallback.set(key, starScope(requested));
        return this.fetchToken(scope);
      }
      if (!refused) {
        // A broken token service (5xx, dropped connection, TLS) is named as such.
        throw mapRequestError(error, { method: identity ? 'POST' : 'GET', url: new URL(bearer.realm), what: `get a token from the token service ${new URL(bearer.realm).origin}`, scope: requested, hasCredentials: this.hasCredentials, credentialSource: this.credentials.source, tokenService: true, cacert: this.cacert });
      }
      const { who, hint } = this.refusal(status);
      throw new RegistryError(
        'unauthorized',
        `the token service ${new URL(bearer.realm).origin} refused ${who}${requested ? ` for scope "${requested}"` : ''} (HTTP ${status}${identity ? oauthError((error as HttpStatusError).response.body) : ''})`,
        hint,
        status,
      );
    }
  }

  /** Who the token service refused, and what to do about it. */
  private refusal(status: number): { who: string; hint: string } {
    if (this.usesIdentityToken) {
      const hint = status === 403 ? "the identity token's account needs this permission" : 'identity tokens expire: run docker login again, or pass -u USER and -pw PASSWORD';
      return { who: "the identity token from docker's credentials", hint };
    }
    if (this.hasPassword) {
      const stale = status === 401 && this.credentials.source !== undefined;
      return { who: `the credentials of user "${this.credentials.username}"${fromWhere(this.credentials.source)}`, hint: stale ? DOCKER_CREDENTIALS_HINT : 'check the user name and password, and that the user has this permission' };
    }
    return { who: 'anonymous access', hint: CREDENTIALS_HINT };
  }

  private requestToken(bearer: { realm: string; service?: string }, scope: string | undefined): Promise<CachedToken> {
    if (!this.usesIdentityToken) return this.exchange(bearer, scope);
    const grant = this.grants.then(() => this.exchange(bearer, scope));
    this.grants = grant.catch(() => undefined);
    return grant;
  }

  /** One token request and its answer; a refresh token the service rotated replaces the one used. */
  private async exchange(bearer: { realm: string; service?: string }, scope: string | undefined): Promise<CachedToken> {
    const url = new URL(bearer.realm);
    const res = await (this.refreshToken !== undefined ? this.refreshGrant(url, bearer.service, scope, this.refreshToken) : this.tokenGet(url, bearer.service, scope));
    let body: { token?: string; access_token?: string; expires_in?: number; issued_at?: string; refresh_token?: string };
    try {
      body = JSON.parse(res.body.toString('utf8'));
    } catch {
      throw new RegistryError('protocol', `the token service ${url.origin} answered with something that is not JSON`);
    }
    const value = body.token ?? body.access_token;
    if (!value) throw new RegistryError('protocol', `the token service ${url.origin} answered without a token`);
    registerSecret(value);
    if (this.refreshToken !== undefined && body.refresh_token && body.refresh_token !== this.refreshToken) {
      registerSecret(body.refresh_token);
      this.refreshToken = body.refresh_token;
    }
    const issuedAt = body.issued_at ? Date.parse(body.issued_at) : NaN;
    const start = Number.isFinite(issuedAt) ? Math.min(issuedAt, Date.now()) : Date.now();
    const lifetime = (body.expires_in && body.expires_in > 0 ? body.expires_in : 60) * 1000;
    this.logger.trace(`token for scope "${scope ?? ''}" valid for ${Math.round(lifetime / 1000)} s`);
    return { value, expiresAt: start + Math.max(lifetime - EXPIRY_MARGIN_MS, lifetime / 2) };
  }

  /** The token GET of the Docker token spec: service and scope in the query, basic credentials if any. */
  private tokenGet(url: URL, service: string | undefined, scope: string | undefined) {
    if (service) url.searchParams.set('service', service);
    if (scope) url.searchParams.set('scope', scope);
    const headers: Record<string, string> = this.hasPassword ? { authorization: `Basic ${this.basic()}` } : {};
    return this.http(url, { method: 'GET', headers });
  }

  /** The OAuth2 refresh-token grant docker uses for an identity token: a form POST to the realm. */
  private refreshGrant(url: URL, service: string | undefined, scope: string | undefined, refreshToken: string) {
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: 'cleanreg' });
    if (service) form.set('service', service);
    if (scope) form.set('scope', scope);
    // Retried like a GET: the grant asks for a token and changes nothing (a rotated token is only taken on success).
    return this.http(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: Buffer.from(form.toString()), retry: true });
  }
}

/** An OAuth2 error answer's `error` and `error_description`, as ": invalid_grant, token expired"; else nothing. */
function oauthError(body: Buffer): string {
  try {
    const { error, error_description: description } = JSON.parse(body.toString('utf8')) as { error?: unknown; error_description?: unknown };
    const parts = [error, description].filter((p): p is string => typeof p === 'string' && p.length > 0);
    return parts.length ? `: ${parts.join(', ').slice(0, 200)}` : '';
  } catch {
    return '';
  }
}

function starScope(scope: string): string {
  return scope.replace(/:[^:]*$/, ':*');
}

/** " (from <where>)" when the credentials came from docker's configuration, else nothing. */
function fromWhere(source: string | undefined): string {
  return source ? ` (from ${source})` : '';
}
