/**
 * Secrets never reach output: everything the tool prints or logs passes through `redact`.
 * Known secrets (passwords, tokens, their base64 forms) are registered as they become known.
 */
const secrets = new Set<string>();
/**
 * Secrets of one or two characters, redacted only as a quoted value (`"zq"`: a password typed as another option's
 * value, echoed in its error): anywhere else they are ordinary text ("1 manifest kept"), and a marker there would
 * tell what the password is.
 */
const shortSecrets: RegExp[] = [];

export function registerSecret(value: string | undefined | null): void {
  if (!value) return;
  if (value.length < 3) {
    const escaped = value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    shortSecrets.push(new RegExp(`(?<=["'])${escaped}(?=["'])`, 'g'));
    return;
  }
  secrets.add(value);
  secrets.add(encodeURIComponent(value));
}

/** Registers the basic-auth pair and its base64 form. */
export function registerCredentials(user: string | undefined, password: string | undefined): void {
  registerSecret(password);
  if (user !== undefined && password) registerSecret(Buffer.from(`${user}:${password}`).toString('base64'));
}

const PATTERNS: [RegExp, string][] = [
  [/(authorization["']?\s*[:=]\s*["']?)(basic|bearer)\s+[A-Za-z0-9._~+/=-]+/gi, '$1$2 [REDACTED]'],
  [/\b(basic|bearer)\s+[A-Za-z0-9._~+/-]{8,}=*/gi, '$1 [REDACTED]'],
  [/(\/\/)[^/\s:@]+:[^/\s@]+@/g, '$1[REDACTED]@'],
  [/("?(?:password|passwd|token|access_token|refresh_token|secret|auth)"?\s*[:=]\s*)"(?:[^"\\]|\\.)*"/gi, '$1"[REDACTED]"'],
  [/\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, '[REDACTED-JWT]'],
];

export function redact(text: string): string {
  let out = text;
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join('[REDACTED]');
  for (const secret of shortSecrets) out = out.replace(secret, '[REDACTED]');
  return out;
}

/** Query parameters that are credentials: pre-signed storage URLs (S3, GCS, Azure SAS) and tokens. */
const SECRET_PARAMS = /^(x-amz-signature|x-amz-security-token|x-amz-credential|x-goog-signature|x-goog-credential|sig|signature|token|access_token)$/i;

/** A URL as it may be shown: without `user:pass@`, and without signatures or tokens in its query. */
export function displayUrl(url: string | URL): string {
  try {
    const u = new URL(String(url));
    u.username = '';
    u.password = '';
    for (const key of [...u.searchParams.keys()]) if (SECRET_PARAMS.test(key)) u.searchParams.set(key, 'REDACTED');
    return u.toString();
  } catch {
    return redact(String(url));
  }
}
