/** The small pure helpers: legacy argv, redaction, image dates, paging, challenges, proxies, shards, plan files. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from '@jest/globals';
import { rewriteLegacyArgs } from '../../src/cli/argv.js';
import { UsageError } from '../../src/errors.js';
import { parseCreated } from '../../src/inventory/describe.js';
import { formatAge } from '../../src/report/format.js';
import type { PlannedImage, RepoPlan } from '../../src/planner/types.js';
import { parseChallenge } from '../../src/registry/challenge.js';
import { DOCKER_MANIFEST, DOCKER_SCHEMA1, MANIFEST_ACCEPT, OCI_INDEX } from '../../src/registry/media-types.js';
import { nextPageUrl } from '../../src/registry/paging.js';
import { proxyFor } from '../../src/registry/proxy.js';
import { redactedLines } from '../../src/run/gc.js';
import { checkWritable, readPlanFile, writePlanFile } from '../../src/run/plan-file.js';
import { shardIndex, shardOf } from '../../src/run/shard.js';
import { displayUrl, redact, registerCredentials, registerSecret } from '../../src/util/redact.js';
import { requestLimit } from '../../src/util/request-limit.js';
import { allSettledOrThrow } from '../../src/util/settle.js';
import { errorOf } from '../helpers/error-of.js';
import { inZone } from '../helpers/in-zone.js';


// ---------------------------------------------------------------------------------------------------------------
describe('rewriteLegacyArgs: cleanreg\'s "-pw", and values attached to short options', () => {
  test.each([
    { name: '-pw VALUE', args: ['-r', 'http://reg', '-u', 'me', '-pw', 'secret'], out: ['-r', 'http://reg', '-u', 'me', '--basicauth-pw=secret'] },
    { name: 'a password starting with "-"', args: ['-pw', '-dash', '--basicauth-pw', '--x', '-k', '3'], out: ['--basicauth-pw=-dash', '--basicauth-pw=--x', '-k', '3'] },
    { name: '-pw last, with no value', args: ['-n', 'app', '-pw'], out: ['-n', 'app', '--basicauth-pw'] },
    { name: '-pw=VALUE', args: ['-pw=secret', '-n', 'app'], out: ['--basicauth-pw=secret', '-n', 'app'] },
    { name: '-pw= with "=" in the password', args: ['-pw=a=b'], out: ['--basicauth-pw=a=b'] },
    { name: 'other arguments untouched', args: ['-p', '-w', '--pw', '-pwx', 'pw', '-k', '3', '--basicauth-pw=x'], out: ['-p', '-w', '--pw', '-pwx', 'pw', '-k', '3', '--basicauth-pw=x'] },
    { name: 'after -- untouched', args: ['-n', 'app', '--', '-pw', '-pw=x'], out: ['-n', 'app', '--', '-pw', '-pw=x'] },
    { name: 'nothing', args: [], out: [] },
    {
      name: 'a value attached to a short option, as argparse took it',
      args: ['-rhttp://reg:5000', '-nhello', '-k5', '-fhome.conf', '-utest', '-cca.pem', '-ojson', '-w8'],
      out: ['-r=http://reg:5000', '-n=hello', '-k=5', '-f=home.conf', '-u=test', '-c=ca.pem', '-o=json', '-w=8'],
    },
    { name: 'flags and -X=VALUE untouched', args: ['-vvv', '-iy', '-r=http://reg', '-k', '3', '-p'], out: ['-vvv', '-iy', '-r=http://reg', '-k', '3', '-p'] },
    { name: 'the password after -pw is not split', args: ['-pw', '-rsecret', '-n', 'app'], out: ['--basicauth-pw=-rsecret', '-n', 'app'] },
  ])('$name', ({ args, out }) => {
    const input = [...args];
    expect(rewriteLegacyArgs(input)).toEqual(out);
    expect(input).toEqual(args);
  });

  test.each(['-cf', '-re'])('%s, a flag of later cleanreg.py versions, is named as such (not read as -c f or -r e)', (flag) => {
    expect(() => rewriteLegacyArgs(['-r', 'http://reg', flag, '-k', '2'])).toThrow(new UsageError(`${flag} is a flag of later cleanreg.py versions, which cleanreg does not take`));
  });
});

// ---------------------------------------------------------------------------------------------------------------
describe('redact', () => {
  // Secrets are registered in a module-level set: every test uses its own values.
  test.each([
    { name: 'Authorization: Basic header', text: 'Authorization: Basic dXNlcjpwYXNzd29yZA==', secret: 'dXNlcjpwYXNzd29yZA', keep: 'Authorization: Basic [REDACTED]' },
    { name: 'Authorization: Bearer header', text: 'authorization: Bearer abc.def-ghi_jkl', secret: 'abc.def-ghi_jkl', keep: 'authorization: Bearer [REDACTED]' },
    { name: 'Authorization in JSON', text: '{"Authorization":"Basic Zm9vOmJhcg=="}', secret: 'Zm9vOmJhcg', keep: '"Authorization":"Basic [REDACTED]' },
    { name: 'a bare Bearer token', text: 'sent Bearer 0123456789abcdef to the registry', secret: '0123456789abcdef', keep: 'sent Bearer [REDACTED] to the registry' },
    { name: 'user:pass@ in a URL', text: 'GET https://alice:s3cret@reg.example.com/v2/', secret: 's3cret', keep: 'https://[REDACTED]@reg.example.com/v2/' },
    { name: 'JSON "password"', text: '{"username":"alice","password":"hunter2!"}', secret: 'hunter2!', keep: '"username":"alice","password":"[REDACTED]"' },
    { name: 'JSON "token"', text: '{"token": "opaque-token-value", "expires_in": 300}', secret: 'opaque-token-value', keep: '"expires_in": 300' },
    { name: 'JSON "access_token"', text: '{"access_token":"another-opaque-value"}', secret: 'another-opaque-value', keep: '"access_token":"[REDACTED]"' },
    { name: 'docker config "auth" and "identitytoken"', text: '{"auth":"YWxpY2U6eHl6","identitytoken":"idtok-value"}', secret: 'idtok-value', keep: '"auth":"[REDACTED]"' },
    {
      name: 'a JWT anywhere',
      text: 'token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl expired',
      secret: 'eyJzdWIiOiJhbGljZSJ9',
      keep: 'token [REDACTED-JWT] expired',
    },
  ])('$name', ({ text, secret, keep }) => {
    const out = redact(text);
    expect(out).not.toContain(secret);
    expect(out).toContain(keep);
  });

  test('leaves ordinary text alone', () => {
    const text = 'DELETE team/app@sha256:0123abcd (v1, v2): 202 Accepted, 12 tags kept';
    expect(redact(text)).toBe(text);
  });

  test('a registered secret is redacted wherever it appears, also URL-encoded', () => {
    registerSecret('p@ss w0rd/xyz');
    expect(redact('login with p@ss w0rd/xyz failed')).toBe('login with [REDACTED] failed');
    expect(redact('?password=p%40ss%20w0rd%2Fxyz&x=1')).toBe('?password=[REDACTED]&x=1');
  });

  test('registerCredentials registers the password and base64(user:password)', () => {
    registerCredentials('carol', 'Tr0ub4dor&3');
    const b64 = Buffer.from('carol:Tr0ub4dor&3').toString('base64');
    expect(redact(`password is Tr0ub4dor&3`)).toBe('password is [REDACTED]');
    expect(redact(`cached ${b64} in memory`)).toBe('cached [REDACTED] in memory');
    expect(redact('user carol')).toBe('user carol');
  });

  test('a one- or two-character secret is redacted only as a quoted value: elsewhere it is ordinary text, and a marker would tell it', () => {
    registerSecret('ab');
    registerSecret('1');
    registerSecret('');
    registerSecret(undefined);
    registerSecret(null);
    expect(redact('abab and cabbage, ab')).toBe('abab and cabbage, ab');
    expect(redact('team/x: 4 tags, 1 manifest kept; -k "1.5"')).toBe('team/x: 4 tags, 1 manifest kept; -k "1.5"');
    expect(redact(`invalid number of images to keep "ab"; invalid order '1'`)).toBe(`invalid number of images to keep "[REDACTED]"; invalid order '[REDACTED]'`);
  });

  test('--gc-command output is redacted line by line; a line or a character split across chunks stays whole', async () => {
    registerSecret('gc-line-s3cret');
    const out = redactedLines();
    const text: string[] = [];
    out.on('data', (chunk: Buffer | string) => text.push(String(chunk)));
    const bytes = Buffer.from('übel: gc-line-');
    out.write(bytes.subarray(0, 1)); // half of the ü
    out.write(bytes.subarray(1));
    out.write(Buffer.from('s3cret\r50%\nlast without a line end'));
    out.end();
    await new Promise((resolve) => out.on('end', resolve));
    expect(text.join('')).toBe('übel: [REDACTED]\r50%\nlast without a line end');
  });

  test('displayUrl drops user:pass@', () => {
    expect(displayUrl('https://dave:pw123@reg.example.com:5000/v2/')).toBe('https://reg.example.com:5000/v2/');
    expect(displayUrl(new URL('http://reg.example.com/'))).toBe('http://reg.example.com/');
  });

  // A JSON pattern that stopped at the first quote, escaped or not, would print the rest of a password that
  // contains a '"'; the registered raw form ('…"…') never appears in JSON text.
  test('a JSON password with an escaped quote is redacted entirely', () => {
    registerCredentials('erin', 'ab"cdefgh');
    const out = redact(JSON.stringify({ username: 'erin', password: 'ab"cdefgh' }));
    expect(out).not.toContain('cdefgh');
  });
});

// ---------------------------------------------------------------------------------------------------------------
describe('parseCreated: an image config\'s date', () => {
  const cases: [unknown, string | null][] = [
    ['2026-06-30T23:30:00Z', '2026-06-30T23:30:00.000Z'],
    ['2026-06-30T23:30:00.123456789Z', '2026-06-30T23:30:00.123Z'],
    ['2026-06-30T23:30:00+02:00', '2026-06-30T21:30:00.000Z'],
    ['2026-06-30T23:30:00-0500', '2026-07-01T04:30:00.000Z'],
    // No zone: UTC, whatever the machine's zone (a local reading would move the image across a --before bound).
    ['2026-06-30T23:30:00', '2026-06-30T23:30:00.000Z'],
    ['2026-06-30 23:30', '2026-06-30T23:30:00.000Z'],
    ['2026-06-30', '2026-06-30T00:00:00.000Z'],
    // Go's zero time (reproducible builds without a date), other formats and other types: no date.
    ['0001-01-01T00:00:00Z', null],
    ['June 30, 2026 23:30', null],
    ['2026-06-30T25:00:00Z', null],
    // Impossible days and times are no date either (found by an audit: Date rolled them over to the next day).
    ['2024-02-30T00:00:00Z', null],
    ['2023-02-29', null],
    ['2024-01-08T24:00:00Z', null],
    ['2024-01-08T12:60:00Z', null],
    ['2024-02-29T12:00:00Z', '2024-02-29T12:00:00.000Z'],
    // Go's UTC form is read digit by digit: the same answers as the general reading, at its edges too.
    ['2026-06-30T23:30:00.1Z', '2026-06-30T23:30:00.100Z'],
    ['2026-06-30T23:30:00.12Z', '2026-06-30T23:30:00.120Z'],
    ['2026-06-30T23:30:00.9999Z', '2026-06-30T23:30:00.999Z'],
    ['2026-06-30T23:30:00.Z', null],
    ['2026-06-30T23:30:00.1a2Z', null],
    ['2026-06-30t23:30:00z', '2026-06-30T23:30:00.000Z'],
    [' 2026-06-30T23:30:00Z ', '2026-06-30T23:30:00.000Z'],
    ['2026-0x-30T23:30:00Z', null],
    ['2026-06-30T23:30:0xZ', null],
    ['0001-01-01T00:00:00.5Z', null],
    ['0099-03-01T00:00:00Z', '0099-03-01T00:00:00.000Z'],
    ['1900-02-29T00:00:00Z', null],
    ['2000-02-29T00:00:00Z', '2000-02-29T00:00:00.000Z'],
    ['2100-02-29T00:00:00Z', null],
    ['2024-04-31T00:00:00Z', null],
    ['2024-12-31T23:59:59Z', '2024-12-31T23:59:59.000Z'],
    ['2024-12-31T23:59:60Z', null],
    ['', null],
    [1782862200, null],
  ];
  test.each(cases)('%p', (created, expected) => {
    expect(parseCreated({ created })).toEqual(expected);
  });

  test.each(['America/New_York', 'Asia/Tokyo'])('the same in the zone %s (the build, in a process of that zone)', (tz) => {
    const got = inZone<(string | null)[]>(tz, `
      const { parseCreated } = await import(DIST + 'inventory/describe.js');
      return ${JSON.stringify(cases.map(([created]) => created))}.map((created) => parseCreated({ created }));`);
    expect(got).toEqual(cases.map(([, expected]) => expected));
  });
});

test('formatAge: how old an image is; one from the future says so', () => {
  const now = new Date('2026-11-23T00:00:00Z');
  expect(formatAge('2026-11-13T00:00:00Z', now)).toBe('10 days');
  expect(formatAge('2029-11-23T00:00:00Z', now)).toBe('in 3 years');
  expect(formatAge(null, now)).toBe('unknown');
});

describe('MANIFEST_ACCEPT', () => {
  test('lists first (a multi-arch tag keeps its index digest), schema 1 last (accepted, never preferred)', () => {
    const types = MANIFEST_ACCEPT.split(', ');
    expect(types[0]).toBe(OCI_INDEX);
    expect(types.indexOf(DOCKER_MANIFEST)).toBeLessThan(types.indexOf(DOCKER_SCHEMA1));
    expect(types.slice(-2)).toEqual([DOCKER_SCHEMA1, 'application/vnd.docker.distribution.manifest.v1+json']);
  });
});

describe('nextPageUrl', () => {
  const current = new URL('http://reg.example.com:5000/v2/_catalog?n=2');
  test.each([
    { name: 'no Link header', link: undefined, next: undefined },
    { name: 'an empty Link header', link: '', next: undefined },
    { name: 'a relative Link is resolved against the current URL', link: '</v2/_catalog?last=b&n=2>; rel="next"', next: 'http://reg.example.com:5000/v2/_catalog?last=b&n=2' },
    { name: 'rel without quotes', link: '</v2/_catalog?last=c&n=2>; rel=next', next: 'http://reg.example.com:5000/v2/_catalog?last=c&n=2' },
    { name: 'an absolute Link on the same origin', link: '<http://reg.example.com:5000/v2/team/app/tags/list?last=v9&n=50>; rel="next"', next: 'http://reg.example.com:5000/v2/team/app/tags/list?last=v9&n=50' },
    { name: 'next after prev', link: '</v2/_catalog?last=a>; rel="prev", </v2/_catalog?last=d>; rel="next"', next: 'http://reg.example.com:5000/v2/_catalog?last=d' },
    { name: 'several Link headers', link: ['</v2/_catalog?last=a>; rel="prev"', '</v2/_catalog?last=e>; rel="next"'], next: 'http://reg.example.com:5000/v2/_catalog?last=e' },
    { name: 'only a prev link', link: '</v2/_catalog?last=a>; rel="prev"', next: undefined },
    // RFC 8288 forms a rewriting proxy may send (found by an audit: each was read as the last page).
    { name: 'spaces around "="', link: '</v2/_catalog?last=f>; rel = "next"', next: 'http://reg.example.com:5000/v2/_catalog?last=f' },
    { name: 'another parameter first', link: '</v2/_catalog?last=g>; type="application/json"; rel="next"', next: 'http://reg.example.com:5000/v2/_catalog?last=g' },
    { name: 'several relations in one rel', link: '</v2/_catalog?last=h>; rel="last next"', next: 'http://reg.example.com:5000/v2/_catalog?last=h' },
    { name: 'rel in capitals', link: '</v2/_catalog?last=i>; REL=NEXT', next: 'http://reg.example.com:5000/v2/_catalog?last=i' },
    { name: 'a next that is only part of another word', link: '</v2/_catalog?last=j>; rel="nextpage"', next: undefined },
    // Resolved, not dropped: the client refuses to follow it, rather than reading the list as complete.
    { name: 'another host', link: '<http://evil.example.com/v2/_catalog?last=b>; rel="next"', next: 'http://evil.example.com/v2/_catalog?last=b' },
    { name: 'another port', link: '<http://reg.example.com:6000/v2/_catalog?last=b>; rel="next"', next: 'http://reg.example.com:6000/v2/_catalog?last=b' },
    { name: 'another scheme', link: '<https://reg.example.com:5000/v2/_catalog?last=b>; rel="next"', next: 'https://reg.example.com:5000/v2/_catalog?last=b' },
    { name: 'a protocol-relative link to another host', link: '<//evil.example.com/v2/_catalog>; rel="next"', next: 'http://evil.example.com/v2/_catalog' },
  ])('$name', ({ link, next }) => {
    expect(nextPageUrl(link, current)?.toString()).toBe(next);
  });
});

// ---------------------------------------------------------------------------------------------------------------
describe('parseChallenge', () => {
  test.each([
    {
      name: 'Bearer with realm, service and scope',
      header: 'Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:team/app:pull"',
      scheme: 'bearer',
      params: { realm: 'https://auth.example.com/token', service: 'registry.example.com', scope: 'repository:team/app:pull' },
    },
    {
      name: 'a comma inside a quoted scope',
      header: 'Bearer realm="https://auth/token",service="reg",scope="repository:app:pull,delete"',
      scheme: 'bearer',
      params: { realm: 'https://auth/token', service: 'reg', scope: 'repository:app:pull,delete' },
    },
    {
      name: 'spaces after commas, an error param, upper-case names',
      header: 'BEARER Realm="https://auth/token", Service="reg", error="insufficient_scope"',
      scheme: 'bearer',
      params: { realm: 'https://auth/token', service: 'reg', error: 'insufficient_scope' },
    },
    { name: 'an escaped quote', header: 'Bearer realm="a\\"b",service="s"', scheme: 'bearer', params: { realm: 'a"b', service: 's' } },
    { name: 'unquoted values', header: 'Bearer realm=https://auth/token,service=reg', scheme: 'bearer', params: { realm: 'https://auth/token', service: 'reg' } },
    { name: 'Basic', header: 'Basic realm="Registry Realm"', scheme: 'basic', params: { realm: 'Registry Realm' } },
    { name: 'Bearer with no params', header: 'Bearer', scheme: 'bearer', params: {} },
    { name: 'another scheme', header: 'Negotiate abc', scheme: 'other', params: {} },
    { name: 'the first of several headers', header: ['Basic realm="r1"', 'Bearer realm="r2"'], scheme: 'basic', params: { realm: 'r1' } },
  ])('$name', ({ header, scheme, params }) => {
    expect(parseChallenge(header)).toEqual({ scheme, params });
  });

  test.each([undefined, '', []])('no challenge: %p', (header) => {
    expect(parseChallenge(header as string | string[] | undefined)).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------------------------
describe('proxyFor', () => {
  const https = new URL('https://reg.example.com/v2/');
  const http = new URL('http://reg.example.com:5000/v2/');
  const both = { HTTPS_PROXY: 'http://secure-proxy:3128', HTTP_PROXY: 'http://plain-proxy:3128' };

  test.each([
    { name: 'https uses HTTPS_PROXY', url: https, env: both, proxy: 'http://secure-proxy:3128' },
    { name: 'http uses HTTP_PROXY', url: http, env: both, proxy: 'http://plain-proxy:3128' },
    { name: 'http never uses HTTPS_PROXY', url: http, env: { HTTPS_PROXY: 'http://secure-proxy:3128' }, proxy: undefined },
    { name: 'https falls back to HTTP_PROXY', url: https, env: { HTTP_PROXY: 'http://plain-proxy:3128' }, proxy: 'http://plain-proxy:3128' },
    { name: 'lower-case names', url: https, env: { https_proxy: 'http://lower:1' }, proxy: 'http://lower:1' },
    { name: 'upper case wins over lower case', url: http, env: { HTTP_PROXY: 'http://upper:1', http_proxy: 'http://lower:1' }, proxy: 'http://upper:1' },
    { name: 'no proxy variables', url: https, env: {}, proxy: undefined },
  ])('$name', ({ url, env, proxy }) => {
    expect(proxyFor(url, env)).toBe(proxy);
  });

  const via = (url: string, noProxy: string, key = 'NO_PROXY') => proxyFor(new URL(url), { ...both, [key]: noProxy });

  test.each([
    { name: 'the exact host', url: 'https://reg.example.com/', noProxy: 'reg.example.com', bypass: true },
    { name: 'a parent domain covers subdomains', url: 'https://reg.example.com/', noProxy: 'example.com', bypass: true },
    { name: 'a leading dot', url: 'https://reg.example.com/', noProxy: '.example.com', bypass: true },
    { name: 'a leading *.', url: 'https://reg.example.com/', noProxy: '*.example.com', bypass: true },
    { name: 'not a mere suffix of the name', url: 'https://badexample.com/', noProxy: 'example.com', bypass: false },
    { name: 'another host', url: 'https://reg.other.org/', noProxy: 'example.com', bypass: false },
    { name: 'in a list with spaces', url: 'https://reg.example.com/', noProxy: 'localhost, 127.0.0.1 ,example.com', bypass: true },
    { name: 'case does not matter', url: 'https://REG.Example.com/', noProxy: 'EXAMPLE.COM', bypass: true },
    { name: 'a matching port', url: 'http://reg.example.com:5000/', noProxy: 'reg.example.com:5000', bypass: true },
    { name: 'another port', url: 'http://reg.example.com:5000/', noProxy: 'reg.example.com:6000', bypass: false },
    { name: 'the default https port', url: 'https://reg.example.com/', noProxy: 'reg.example.com:443', bypass: true },
    { name: 'the default http port', url: 'http://reg.example.com/', noProxy: 'reg.example.com:80', bypass: true },
    { name: '*', url: 'https://anything.example.org/', noProxy: '*', bypass: true },
    { name: 'an IPv4 address', url: 'http://127.0.0.1:5000/', noProxy: '127.0.0.1', bypass: true },
    { name: 'an empty NO_PROXY', url: 'https://reg.example.com/', noProxy: '', bypass: false },
  ])('NO_PROXY: $name', ({ url, noProxy, bypass }) => {
    expect(via(url, noProxy)).toBe(bypass ? undefined : url.startsWith('https') ? both.HTTPS_PROXY : both.HTTP_PROXY);
  });

  test('no_proxy in lower case', () => {
    expect(via('https://reg.example.com/', 'example.com', 'no_proxy')).toBeUndefined();
  });

  // An entry split at its last ":digits" to find a port would cut IPv6 literals ("::1" → host ":" port "1"),
  // and "[::1]:5000" keeps its brackets while the URL's host has none.
  test.each([
    { noProxy: '::1', url: 'http://[::1]:5000/v2/' },
    { noProxy: '[::1]:5000', url: 'http://[::1]:5000/v2/' },
    { noProxy: 'localhost,127.0.0.1,::1', url: 'http://[::1]/v2/' },
  ])('NO_PROXY=$noProxy covers $url', ({ noProxy, url }) => {
    expect(via(url, noProxy)).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------------------------
describe('shards', () => {
  const repos = Array.from({ length: 300 }, (_, i) => `team-${i % 7}/app-${i}`);

  test.each([1, 2, 3, 4, 7, 16])('every repository is in exactly one of %i shards', (n) => {
    const shards = Array.from({ length: n }, (_, i) => shardOf(`${i}/${n}`));
    for (const repo of repos) {
      const owners = shards.map((inShard, i) => (inShard(repo) ? i : -1)).filter((i) => i >= 0);
      expect({ repo, owners }).toEqual({ repo, owners: [shardIndex(repo, n)] });
    }
  });

  test('shards are reasonably balanced and stable', () => {
    const counts = [0, 0, 0, 0];
    for (const repo of repos) counts[shardIndex(repo, 4)]++;
    for (const c of counts) expect(c).toBeGreaterThan(40);
    expect(shardIndex('team/app', 4)).toBe(shardIndex('team/app', 4));
  });

  test('the spec may have surrounding spaces', () => {
    expect(shardOf(' 1/2 ')('x')).toBe(shardIndex('x', 2) === 1);
  });

  test.each(['', '1', '2/2', '5/4', '-1/4', '1/0', '0/0', 'a/b', '1/2/3', '1 / 2', '1.0/2', '1/-2'])('"%s" is a usage error', (spec) => {
    const error = errorOf(() => shardOf(spec));
    expect(error).toBeInstanceOf(UsageError);
    expect(error.message).toContain('--shard must be I/N');
    expect(error.message).toContain(`"${spec}"`);
  });
});

// ---------------------------------------------------------------------------------------------------------------
describe('plan files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cleanreg-plan-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  const file = (content?: string) => {
    const path = join(dir, `plan-${++n}.json`);
    if (content !== undefined) writeFileSync(path, content);
    return path;
  };

  const image = (d: string, action: 'keep' | 'delete', extra: Partial<PlannedImage> = {}): PlannedImage => ({
    digest: `sha256:${d.repeat(64).slice(0, 64)}`,
    tags: [`t-${d}`],
    created: '2024-06-01T00:00:00.000Z',
    kind: 'image',
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    action,
    reason: `${action} because ${d}`,
    ...extra,
  });
  const plans: RepoPlan[] = [
    {
      name: 'team/app',
      keep: [image('a', 'keep'), image('b', 'keep', { kind: 'index', created: null })],
      delete: [image('c', 'delete', { size: 1234 }), image('d', 'delete', { tags: ['x', 'y'] })],
      empty: false,
      notes: ['orphaned signature …'],
    },
    { name: 'team/sig', keep: [image('e', 'keep', { kind: 'artifact', subject: 'sha256:' + 'f'.repeat(64) })], delete: [], empty: false, notes: [] },
    { name: 'gone', keep: [], delete: [], empty: true, notes: [] },
  ];
  const NOW = new Date('2024-07-01T12:00:00Z');

  test('round trip: what is written is read back', () => {
    const path = file();
    writePlanFile(path, 'https://reg.example.com', plans, NOW);
    const read = readPlanFile(path);
    expect(read.registry).toBe('https://reg.example.com');
    expect(read.createdAt).toBe('2024-07-01T12:00:00.000Z');
    expect(read.plans).toEqual(plans);
  });

  test('the file is versioned JSON', () => {
    const path = file();
    writePlanFile(path, 'http://r', plans, NOW);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ kind: 'cleanreg-plan', version: 1, registry: 'http://r' });
  });

  test('writing where it cannot is a usage error naming the path', () => {
    const path = join(dir, 'no-such-dir', 'plan.json');
    const error = errorOf(() => writePlanFile(path, 'http://r', plans, NOW));
    expect(error).toBeInstanceOf(UsageError);
    expect(error.message).toContain(`cannot write the plan to ${path}`);
  });

  test('a directory is refused before the scan, as a folder that cannot be written is', () => {
    expect(errorOf(() => checkWritable(dir)).message).toBe(`cannot write the plan to ${dir}: EISDIR`);
    expect(errorOf(() => checkWritable(join(dir, 'no-such-dir', 'plan.json'))).message).toMatch(/: ENOENT$/);
    expect(() => checkWritable(join(dir, 'new-plan.json'))).not.toThrow();
  });

  const valid = { kind: 'cleanreg-plan', version: 1, createdAt: '2026-11-23T07:00:00.000Z', registry: 'http://r' };
  const A = `sha256:${'a'.repeat(64)}`;
  const img = { digest: A, tags: ['t'], kind: 'image', action: 'delete', reason: 'r', created: null, mediaType: 'm' };
  test.each([
    { name: 'not JSON', content: '{"kind": ', message: 'cannot read the plan' },
    { name: 'JSON null', content: 'null', message: '"kind" is not "cleanreg-plan"' },
    { name: 'another kind of JSON', content: '{"hello": 1}', message: '"kind" is not "cleanreg-plan"' },
    { name: 'a newer version', content: JSON.stringify({ ...valid, version: 2, repositories: [] }), message: 'plan version 2 is not supported' },
    { name: 'no registry', content: JSON.stringify({ ...valid, registry: undefined, repositories: [] }), message: 'missing "registry" or "repositories"' },
    { name: 'no repositories', content: JSON.stringify(valid), message: 'missing "registry" or "repositories"' },
    { name: 'a repository without a name', content: JSON.stringify({ ...valid, repositories: [{ images: [] }] }), message: 'repository #1 has no name or images' },
    { name: 'a repository without images', content: JSON.stringify({ ...valid, repositories: [{ name: 'a', images: [] }, { name: 'b' }] }), message: 'repository #2 has no name or images' },
    { name: 'an image without a digest', content: JSON.stringify({ ...valid, repositories: [{ name: 'a', images: [{ ...img, digest: undefined }] }] }), message: 'a: an image has no valid digest' },
    { name: 'a malformed digest', content: JSON.stringify({ ...valid, repositories: [{ name: 'a', images: [{ ...img, digest: 'v1.0' }] }] }), message: 'a: an image has no valid digest' },
    { name: 'a digest cut short', content: JSON.stringify({ ...valid, repositories: [{ name: 'a', images: [{ ...img, digest: 'sha256:zzz' }] }] }), message: 'a: an image has no valid digest' },
    { name: 'a digest in capitals', content: JSON.stringify({ ...valid, repositories: [{ name: 'a', images: [{ ...img, digest: A.toUpperCase() }] }] }), message: 'a: an image has no valid digest' },
    { name: 'a bad action', content: JSON.stringify({ ...valid, repositories: [{ name: 'a', images: [{ ...img, action: 'purge' }] }] }), message: `a@${A}: action must be keep or delete` },
    { name: 'no tags', content: JSON.stringify({ ...valid, repositories: [{ name: 'a', images: [{ ...img, tags: undefined }] }] }), message: 'tags or kind missing' },
    { name: 'a bad kind', content: JSON.stringify({ ...valid, repositories: [{ name: 'a', images: [{ ...img, kind: 'blob' }] }] }), message: 'tags or kind missing' },
    { name: 'a null image', content: JSON.stringify({ ...valid, repositories: [{ name: 'a', images: [null] }] }), message: 'an image has no valid digest' },
    { name: 'follows is not a digest', content: JSON.stringify({ ...valid, repositories: [{ name: 'a', images: [{ ...img, follows: {} }] }] }), message: `a@${A}: "follows" is not a digest` },
    { name: 'a subject that is not a digest', content: JSON.stringify({ ...valid, repositories: [{ name: 'a', images: [{ ...img, subject: '../x' }] }] }), message: `a@${A}: "subject" is not a digest` },
    // Found by an audit: contradictions and wrong types were applied (a digest both kept and deleted was deleted).
    { name: 'a version as a string', content: JSON.stringify({ ...valid, version: '1', repositories: [] }), message: 'plan version "1" is not supported' },
    { name: 'no date of making', content: JSON.stringify({ ...valid, createdAt: null, repositories: [] }), message: '"createdAt" is not a date' },
    { name: 'a digest both kept and deleted', content: JSON.stringify({ ...valid, repositories: [{ name: 'a', images: [img, { ...img, action: 'keep' }] }] }), message: `a@${A} is listed twice` },
    { name: 'a tag on two images', content: JSON.stringify({ ...valid, repositories: [{ name: 'a', images: [img, { ...img, digest: `sha256:${'b'.repeat(64)}`, action: 'keep' }] }] }), message: 'a:t is on two images' },
    { name: 'a repository twice', content: JSON.stringify({ ...valid, repositories: [{ name: 'a', images: [img] }, { name: 'a', images: [] }] }), message: 'the repository "a" is listed twice' },
    { name: 'created as a number', content: JSON.stringify({ ...valid, repositories: [{ name: 'a', images: [{ ...img, created: 5 }] }] }), message: `a@${A}: "created" is neither a date nor null` },
    { name: 'children that are not digests', content: JSON.stringify({ ...valid, repositories: [{ name: 'a', images: [{ ...img, children: ['../../evil'] }] }] }), message: `a@${A}: "children" is not a list of digests` },
    { name: 'a size that is not a number', content: JSON.stringify({ ...valid, repositories: [{ name: 'a', images: [{ ...img, size: 'big' }] }] }), message: `a@${A}: "reason", "mediaType", "size" or "named" is of the wrong type` },
    { name: 'notes as a string', content: JSON.stringify({ ...valid, repositories: [{ name: 'a', notes: 'str', images: [img] }] }), message: 'a: "empty", "notes" or "freedBytes" is of the wrong type' },
    { name: 'freedBytes as a string', content: JSON.stringify({ ...valid, repositories: [{ name: 'a', freedBytes: 'x', images: [img] }] }), message: 'a: "empty", "notes" or "freedBytes" is of the wrong type' },
  ])('$name: a usage error naming the file', ({ content, message }) => {
    const path = file(content);
    const error = errorOf(() => readPlanFile(path));
    expect(error).toBeInstanceOf(UsageError);
    expect(error.message).toContain(path);
    expect(error.message).toContain(message);
  });

  test('a file that is not there: a usage error that does not show the path (a misplaced password could be in its place)', () => {
    const error = errorOf(() => readPlanFile(join(dir, 'S3cr3t-pass')));
    expect(error).toBeInstanceOf(UsageError);
    expect(error.message).toBe('cannot read the plan: no such file (the path given is not shown: a password given after the wrong option could be in its place)');
  });

  test('a minimal valid plan reads with defaults for empty and notes', () => {
    const D = `sha256:${'d'.repeat(64)}`;
    const path = file(JSON.stringify({ ...valid, repositories: [{ name: 'a', images: [img, { ...img, digest: D, tags: ['u'], action: 'keep' }] }] }));
    const [plan] = readPlanFile(path).plans;
    expect(plan).toEqual({ name: 'a', empty: false, notes: [], delete: [img], keep: [{ ...img, digest: D, tags: ['u'], action: 'keep' }] });
  });

  // Without RepoPlan.freedBytes in the file, `cleanreg apply PLAN` could not show the "about … freed after
  // garbage collection" estimate that the run which wrote the plan showed.
  test('round trip keeps the estimate of freed bytes', () => {
    const path = file();
    writePlanFile(path, 'http://r', [{ ...plans[0], freedBytes: 4096 }], NOW);
    expect(readPlanFile(path).plans[0].freedBytes).toBe(4096);
  });
});

// ---------------------------------------------------------------------------------------------------------------
describe('requestLimit', () => {
  /** A promise that resolves when `release` is called. */
  const gate = () => {
    let release!: () => void;
    const done = new Promise<void>((resolve) => (release = resolve));
    return { done, release };
  };

  test('runs at most N tasks at once; waiting tasks of a lower order start first, in arrival order within one', async () => {
    const limit = requestLimit(2);
    const started: string[] = [];
    const blockers = [gate(), gate()];
    const task = (name: string, wait?: Promise<void>) => async () => {
      started.push(name);
      await wait;
      return name;
    };
    const running = [limit(task('first', blockers[0].done), 5), limit(task('second', blockers[1].done), 5)];
    // Queued behind the two running ones, in this arrival order:
    const queued = [limit(task('late repo a'), 3), limit(task('early repo a'), 1), limit(task('no order')), limit(task('early repo b'), 1), limit(task('late repo b'), 3)];
    await Promise.resolve();
    expect(started).toEqual(['first', 'second']);
    blockers[0].release();
    blockers[1].release();
    expect(await Promise.all([...running, ...queued])).toEqual(['first', 'second', 'late repo a', 'early repo a', 'no order', 'early repo b', 'late repo b']);
    expect(started).toEqual(['first', 'second', 'no order', 'early repo a', 'early repo b', 'late repo a', 'late repo b']);
  });

  test('a failing task rejects its caller and frees its slot', async () => {
    const limit = requestLimit(1);
    const failing = limit(async () => {
      throw new Error('HTTP 500');
    });
    const next = limit(async () => 'next');
    await expect(failing).rejects.toThrow('HTTP 500');
    await expect(next).resolves.toBe('next');
  });
});

describe('allSettledOrThrow', () => {
  test('the values in input order, as Promise.all', async () => {
    const late = new Promise<string>((resolve) => setTimeout(() => resolve('late'), 20));
    expect(await allSettledOrThrow([late, Promise.resolve('now')])).toEqual(['late', 'now']);
  });

  test('rejects only once every promise has settled, with the first failure in input order', async () => {
    let slowDone = false;
    const slow = new Promise<string>((resolve) => setTimeout(() => ((slowDone = true), resolve('slow')), 50));
    const laterFailure = new Promise<string>((_, reject) => setTimeout(() => reject(new Error('input 1, failed later')), 10));
    const failure = Promise.reject(new Error('input 2, failed at once'));
    let slowDoneAtRejection: boolean | undefined;
    await expect(
      allSettledOrThrow([slow, laterFailure, failure]).catch((error: Error) => {
        slowDoneAtRejection = slowDone;
        throw error;
      }),
    ).rejects.toThrow('input 1, failed later');
    // Promise.all would have rejected with input 2's failure at once, while `slow` was still running.
    expect(slowDoneAtRejection).toBe(true);
  });
});
