/**
 * The lean HTTP/1.1 client: framing read from raw bytes, and the connection pool against raw sockets. These are
 * fakes for what docker-registry never sends (split chunks, 1xx, bodies until close, broken answers); every suite
 * that talks to a real registry also runs on this client.
 */
import { execFile } from 'node:child_process';
import net from 'node:net';
import { afterEach, describe, expect, test } from '@jest/globals';
import { Http1Client, type RequestFailure } from '../../src/registry/http1.js';
import { MalformedResponseError, ResponseReader } from '../../src/registry/response-reader.js';
import { errorOf } from '../helpers/error-of.js';

const bytes = (text: string) => Buffer.from(text, 'latin1');

/** Feeds the text one byte at a time when `split`, else at once; the reader's answer after the last byte. */
function read(text: string, opts: { head?: boolean; split?: boolean } = {}) {
  const reader = new ResponseReader(opts.head ?? false);
  const data = bytes(text);
  let complete = false;
  if (opts.split) for (let i = 0; i < data.length; i++) complete = reader.push(data.subarray(i, i + 1));
  else complete = reader.push(data);
  return { reader, complete };
}

describe('ResponseReader', () => {
  test('Content-Length: the body, headers lowercased, repeats joined or first kept as node:http does', () => {
    const { reader, complete } = read(
      'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n' +
        'X-Many: a\r\nX-Many: b\r\nSet-Cookie: s=1\r\nSet-Cookie: t=2\r\nDocker-Content-Digest:  sha256:abc \r\n\r\n{}',
    );
    expect(complete).toBe(true);
    const res = reader.response();
    expect(res.statusCode).toBe(200);
    expect(res.body.toString()).toBe('{}');
    expect(res.headers).toEqual({
      'content-type': 'application/json',
      'content-length': '2',
      'x-many': 'a, b',
      'set-cookie': ['s=1', 't=2'],
      'docker-content-digest': 'sha256:abc',
    });
    expect(reader.keepAlive).toBe(true);
    expect(reader.leftover).toBe(0);
  });

  test('chunked, one byte at a time, with chunk extensions and trailers', () => {
    const { reader, complete } = read(
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;name=x\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: 1\r\n\r\n',
      { split: true },
    );
    expect(complete).toBe(true);
    expect(reader.response().body.toString()).toBe('hello world');
    expect(reader.keepAlive).toBe(true);
  });

  test('a head split anywhere still reads; the answer is not complete before its last byte', () => {
    const text = 'HTTP/1.1 404 Not Found\r\nContent-Length: 5\r\n\r\nnope!';
    const reader = new ResponseReader(false);
    expect(reader.push(bytes(text.slice(0, 20)))).toBe(false);
    expect(reader.push(bytes(text.slice(20, -1)))).toBe(false);
    expect(reader.push(bytes(text.slice(-1)))).toBe(true);
    expect(reader.response()).toMatchObject({ statusCode: 404, body: Buffer.from('nope!') });
  });

  test('no body after a HEAD (whatever Content-Length says), a 204 or a 304', () => {
    const head = read('HTTP/1.1 200 OK\r\nContent-Length: 1234\r\nDocker-Content-Digest: sha256:1\r\n\r\n', { head: true });
    expect(head.complete).toBe(true);
    expect(head.reader.response().body.length).toBe(0);
    expect(head.reader.response().headers['content-length']).toBe('1234');
    for (const status of [204, 304]) expect(read(`HTTP/1.1 ${status} X\r\nContent-Length: 10\r\n\r\n`).complete).toBe(true);
  });

  test('interim 1xx answers are skipped; their headers are not kept', () => {
    const { reader, complete } = read('HTTP/1.1 100 Continue\r\nX-Early: 1\r\n\r\nHTTP/1.1 201 Created\r\nLocation: /v2/x\r\nContent-Length: 0\r\n\r\n');
    expect(complete).toBe(true);
    expect(reader.response().statusCode).toBe(201);
    expect(reader.response().headers).toEqual({ location: '/v2/x', 'content-length': '0' });
  });

  test('no length: the body runs until the server closes, and the connection is not kept', () => {
    const { reader, complete } = read('HTTP/1.1 200 OK\r\n\r\npart one, ');
    expect(complete).toBe(false);
    expect(reader.push(bytes('part two'))).toBe(false);
    expect(reader.keepAlive).toBe(false);
    expect(reader.closed()).toBe(true);
    expect(reader.response().body.toString()).toBe('part one, part two');
    // A coding other than chunked last is read the same way (RFC 9112 section 6.3).
    expect(read('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxyz').reader.keepAlive).toBe(false);
  });

  test('a close that cuts a body short is not an end', () => {
    const { reader, complete } = read('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc');
    expect(complete).toBe(false);
    expect(reader.closed()).toBe(false);
  });

  test.each([
    ['HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n', false],
    ['HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n', false],
    ['HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n', true],
    ['HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n', true],
  ])('keep-alive from the version and Connection: %j', (text, keepAlive) => {
    expect(read(text).reader.keepAlive).toBe(keepAlive);
  });

  test('bytes past the end of the answer are counted (the connection is then dropped)', () => {
    expect(read('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxHTTP/1.1').reader.leftover).toBe(8);
  });

  test.each([
    ['not HTTP', 'SSH-2.0-OpenSSH\r\n\r\n'],
    ['HTTP/2 status line', 'HTTP/2 200\r\n\r\n'],
    ['bad Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: 12abc\r\n\r\n'],
    ['bad chunk size', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'],
    ['chunk without CRLF', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc'],
    ['header without a colon', 'HTTP/1.1 200 OK\r\nnonsense\r\n\r\n'],
  ])('%s: MalformedResponseError', (_name, text) => {
    const error = errorOf(() => read(text));
    expect(error).toBeInstanceOf(MalformedResponseError);
    expect((error as MalformedResponseError).code).toBe('HPE_INVALID_RESPONSE');
  });

  test('a head that never ends is refused past 64 KiB', () => {
    const reader = new ResponseReader(false);
    reader.push(bytes('HTTP/1.1 200 OK\r\n'));
    const error = errorOf(() => reader.push(Buffer.alloc(70 * 1024, 'a')));
    expect(error).toBeInstanceOf(MalformedResponseError);
  });
});

// ---------------------------------------------------------------------------------------------------------------
/** A raw TCP server: `answer` gets each request's bytes (head and body) and the socket. */
interface RawServer {
  url: string;
  connections: number;
  requests: string[];
  close(): Promise<void>;
}
const servers: RawServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function rawServer(answer: (request: string, socket: net.Socket, n: number) => void): Promise<RawServer> {
  const sockets = new Set<net.Socket>();
  const state: RawServer = { url: '', connections: 0, requests: [], close: async () => {} };
  const server = net.createServer((socket) => {
    state.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let pending = '';
    socket.on('data', (data) => {
      pending += data.toString('latin1');
      for (;;) {
        const end = pending.indexOf('\r\n\r\n');
        if (end < 0) return;
        const length = Number(/content-length: (\d+)/i.exec(pending.slice(0, end))?.[1] ?? 0);
        if (pending.length < end + 4 + length) return;
        const request = pending.slice(0, end + 4 + length);
        pending = pending.slice(request.length);
        state.requests.push(request);
        answer(request, socket, state.requests.length);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  state.close = () => {
    for (const s of sockets) s.destroy();
    return new Promise((resolve) => server.close(() => resolve()));
  };
  servers.push(state);
  return state;
}

const ok = (body = '{}', extra = '') => `HTTP/1.1 200 OK\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;
const client = (maxSockets = 4) => new Http1Client({ maxSockets, tls: {} });
const get = (c: Http1Client, url: string, timeoutMs = 5000) => c.request(new URL(url), 'GET', {}, undefined, timeoutMs);

describe('Http1Client', () => {
  test('sends the request line, host, headers and body as given', async () => {
    const server = await rawServer((_r, socket) => socket.write(ok()));
    const c = client();
    await c.request(new URL(`${server.url}/v2/a/blobs/uploads/?digest=sha256%3A1`), 'PUT', { 'content-length': '5', 'x-one': 'v' }, Buffer.from('hello'), 5000);
    expect(server.requests[0]).toBe(`PUT /v2/a/blobs/uploads/?digest=sha256%3A1 HTTP/1.1\r\nhost: ${server.url.slice(7)}\r\ncontent-length: 5\r\nx-one: v\r\n\r\nhello`);
  });

  test('one keep-alive connection serves requests one after another', async () => {
    const server = await rawServer((request, socket, n) => socket.write(ok(`{"n":${n}}`)));
    const c = client();
    for (let i = 1; i <= 20; i++) expect((await get(c, `${server.url}/v2/`)).body.toString()).toBe(`{"n":${i}}`);
    expect(server.connections).toBe(1);
  });

  test('no more than maxSockets connections; the requests beyond wait and are all answered', async () => {
    const server = await rawServer((_r, socket) => setTimeout(() => socket.write(ok()), 20));
    const c = client(2);
    const answers = await Promise.all(Array.from({ length: 9 }, () => get(c, `${server.url}/v2/`)));
    expect(answers.map((a) => a.statusCode)).toEqual(Array(9).fill(200));
    expect(server.connections).toBe(2);
  });

  test('Connection: close, or a body read until close: the next request opens a new connection', async () => {
    const server = await rawServer((request, socket, n) => {
      if (n === 1) socket.write(ok('{}', 'Connection: close\r\n'), () => socket.end());
      else if (n === 2) socket.end('HTTP/1.1 200 OK\r\n\r\nuntil close');
      else socket.write(ok());
    });
    const c = client();
    await get(c, `${server.url}/a`);
    expect((await get(c, `${server.url}/b`)).body.toString()).toBe('until close');
    await get(c, `${server.url}/c`);
    expect(server.connections).toBe(3);
  });

  test('a connection the server closed while idle is not used again', async () => {
    const server = await rawServer((_r, socket, n) => socket.write(ok(`{"n":${n}}`), () => n === 1 && socket.end()));
    const c = client();
    await get(c, `${server.url}/a`);
    await new Promise((resolve) => setTimeout(resolve, 100)); // the FIN arrives
    expect((await get(c, `${server.url}/b`)).body.toString()).toBe('{"n":2}');
    expect(server.connections).toBe(2);
  });

  test('dropped before the answer: ECONNRESET "socket hang up"', async () => {
    const server = await rawServer((_r, socket) => socket.destroy());
    const error = (await get(client(), `${server.url}/v2/`).catch((e) => e)) as RequestFailure;
    expect(error.code).toBe('ECONNRESET');
    expect(error.message).toBe('socket hang up');
  });

  test('cut mid-body: an error, not a short body', async () => {
    const server = await rawServer((_r, socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"partial'));
    const error = (await get(client(), `${server.url}/v2/`).catch((e) => e)) as RequestFailure;
    expect(error.code).toBe('ECONNRESET');
  });

  test('a malformed answer rejects with its code and drops the connection', async () => {
    const server = await rawServer((_r, socket, n) => socket.write(n === 1 ? 'HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n' : ok()));
    const c = client();
    const error = (await get(c, `${server.url}/a`).catch((e) => e)) as RequestFailure;
    expect(error.code).toBe('HPE_INVALID_RESPONSE');
    expect((await get(c, `${server.url}/b`)).statusCode).toBe(200);
    expect(server.connections).toBe(2);
  });

  test('no answer in time: ETIMEDOUT, marked as a timeout', async () => {
    const server = await rawServer(() => {});
    const error = (await get(client(), `${server.url}/v2/`, 200).catch((e) => e)) as RequestFailure;
    expect(error.code).toBe('ETIMEDOUT');
    expect(error.timedOut).toBe(true);
    expect(error.message).toBe('no answer in 200 ms');
  });

  test('timeouts are per request: one timing out leaves another, slower one with a longer timeout, to finish', async () => {
    const silent = await rawServer(() => {});
    const slow = await rawServer((_r, socket) => setTimeout(() => socket.write(ok()), 600));
    const c = client();
    const [timedOut, answered] = await Promise.all([get(c, `${silent.url}/v2/`, 200).catch((e: RequestFailure) => e), get(c, `${slow.url}/v2/`, 5000)]);
    expect((timedOut as RequestFailure).code).toBe('ETIMEDOUT');
    expect((answered as { statusCode: number }).statusCode).toBe(200);
  });

  test('refused: ECONNREFUSED', async () => {
    const server = await rawServer(() => {});
    const url = server.url;
    await server.close();
    const error = (await get(client(), `${url}/v2/`).catch((e) => e)) as RequestFailure;
    expect(error.code).toBe('ECONNREFUSED');
  });

  test('a header value with CR or LF is refused before sending, without the value in the message', async () => {
    const server = await rawServer((_r, socket) => socket.write(ok()));
    const error = (await client()
      .request(new URL(`${server.url}/v2/`), 'GET', { authorization: 'Bearer s3cret\r\nX-Evil: 1' }, undefined, 5000)
      .catch((e) => e)) as RequestFailure;
    expect(error.code).toBe('ERR_INVALID_CHAR');
    expect(error.message).toContain('authorization');
    expect(error.message).not.toContain('s3cret');
    expect(server.requests).toEqual([]);
  });

  test('idle connections do not keep the process alive', async () => {
    const server = await rawServer((_r, socket) => socket.write(ok('{"ok":true}')));
    const script = `
      import { Http1Client } from ${JSON.stringify(new URL('../../dist/registry/http1.js', import.meta.url).href)};
      const c = new Http1Client({ maxSockets: 2, tls: {} });
      const res = await c.request(new URL(${JSON.stringify(server.url)} + '/v2/'), 'GET', {}, undefined, 5000);
      console.log(res.body.toString());`;
    // A process held open by a socket would be killed by the timeout, and the test fail.
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['--input-type=module', '-e', script], { timeout: 10_000 }, (error, stdout) => (error ? reject(error) : resolve(stdout))),
    );
    expect(out.trim()).toBe('{"ok":true}');
    expect(server.connections).toBe(1);
  });
});
