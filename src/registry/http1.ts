import net from 'node:net';
import tls from 'node:tls';
import { ResponseReader, type HttpResponse } from './response-reader.js';

export interface Http1Options {
  /** Open connections per origin; more requests wait for one to be free. */
  maxSockets: number;
  /** For https origins: trust, client certificate, verification. */
  tls: Pick<tls.ConnectionOptions, 'secureContext' | 'rejectUnauthorized'>;
}

/** A request that failed before its answer was complete; `code` as node sets it (ECONNRESET, ETIMEDOUT, TLS codes). */
export type RequestFailure = Error & { code?: string; timedOut?: boolean };

const BAD_HEADER_TEXT = /[\r\n\0]/;

/** Where plain TCP connections read into (one read at a time: the event loop is single-threaded). */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

/** The first n bytes, in a buffer of their own (as node's own reads give them: no pool slab kept alive). */
function copyOf(buffer: Buffer, n: number): Buffer {
  const copy = Buffer.allocUnsafeSlow(n);
  buffer.copy(copy, 0, 0, n);
  return copy;
}

/** What a request that outlived its timeout fails with, on either path (direct or through a proxy agent). */
export function timeoutError(timeoutMs: number): RequestFailure {
  return Object.assign(new Error(`no answer in ${timeoutMs} ms`), { code: 'ETIMEDOUT', timedOut: true });
}

/**
 * A lean HTTP/1.1 client for direct connections (proxied requests keep node:http and their agents). node:http's
 * layers (ClientRequest, IncomingMessage, streams, agent events) cost 0.23 ms of CPU per request against 0.10 ms
 * here, measured on the bench registry; on shared cores the client's CPU is taken from the registry. One request at
 * a time per keep-alive connection, the most recently freed connection first.
 */
export class Http1Client {
  private readonly origins = new Map<string, Origin>();

  constructor(private readonly opts: Http1Options) {}

  request(url: URL, method: string, headers: Record<string, string>, body: Buffer | undefined, timeoutMs: number): Promise<HttpResponse> {
    let head: string;
    try {
      head = requestHead(url, method, headers);
    } catch (error) {
      return Promise.reject(error);
    }
    // A kept-alive connection the server closed just as it was reused fails with ECONNRESET, as with node's
    // agents: the transport's retries deal with it.
    const connection = this.origin(url).acquire();
    const headRequest = method === 'HEAD';
    if (connection instanceof Connection) return connection.exchange(head, body, headRequest, timeoutMs);
    return connection.then((free) => free.exchange(head, body, headRequest, timeoutMs));
  }

  private origin(url: URL): Origin {
    let origin = this.origins.get(url.origin);
    if (!origin) {
      origin = new Origin((onData) => this.connect(url, onData), this.opts.maxSockets);
      this.origins.set(url.origin, origin);
    }
    return origin;
  }

  private connect(url: URL, onData: (data: Buffer) => void): net.Socket {
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    if (url.protocol !== 'https:') {
      // Reads land in one shared buffer and are handed over without the stream layer ('data' events): 2-3% of
      // the client's CPU in a cold plan. Each read is copied out, since the buffer is reused by the next one.
      const onread = { buffer: READ_BUFFER, callback: (n: number, buffer: Buffer) => (onData(copyOf(buffer, n)), true) };
      return net.connect({ host, port: Number(url.port) || 80, onread });
    }
    // SNI carries names only, never addresses.
    const servername = net.isIP(host) ? undefined : host;
    const socket = tls.connect({ host, port: Number(url.port) || 443, servername, ALPNProtocols: ['http/1.1'], ...this.opts.tls });
    return socket.on('data', onData);
  }
}

/** The request line and headers, checked: a header with CR or LF in it would split the request. */
function requestHead(url: URL, method: string, headers: Record<string, string>): string {
  let head = `${method} ${url.pathname}${url.search} HTTP/1.1\r\nhost: ${url.host}\r\n`;
  for (const name in headers) {
    const value = headers[name];
    // The value is left out of the message: it may be a credential.
    if (BAD_HEADER_TEXT.test(value) || BAD_HEADER_TEXT.test(name)) throw Object.assign(new Error(`invalid character in header "${name}"`), { code: 'ERR_INVALID_CHAR' });
    head += `${name}: ${value}\r\n`;
  }
  return `${head}\r\n`;
}

/** The connections to one scheme://host:port. */
class Origin {
  private readonly idle: Connection[] = [];
  private readonly waiting: ((connection: Connection) => void)[] = [];
  private open = 0;

  constructor(
    private readonly connect: (onData: (data: Buffer) => void) => net.Socket,
    private readonly maxSockets: number,
  ) {}

  acquire(): Connection | Promise<Connection> {
    // A connection whose socket died is still listed until its 'close' event.
    for (let idle = this.idle.pop(); idle; idle = this.idle.pop()) if (idle.alive) return idle;
    if (this.open < this.maxSockets) return this.create();
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private create(): Connection {
    this.open++;
    return new Connection(this.connect, (c) => this.release(c), (c) => this.gone(c));
  }

  private release(connection: Connection): void {
    const next = this.waiting.shift();
    if (next) next(connection);
    else this.idle.push(connection);
  }

  private gone(connection: Connection): void {
    this.open--;
    const at = this.idle.indexOf(connection);
    if (at >= 0) this.idle.splice(at, 1);
    const next = this.waiting.shift();
    if (next) next(this.create());
  }
}

/** How often the requests out are checked against their deadlines: a timeout fires up to this much late. */
const SWEEP_MS = 250;

/**
 * The timeouts of the requests out, checked by one interval timer rather than a timer per request (creating and
 * clearing one per request was 2-3% of the client's CPU in a cold plan). While a request is out, the interval keeps
 * the process alive; with none out it does not.
 */
const deadlines = new Map<Connection, number>();
let sweeper: NodeJS.Timeout | undefined;

function watch(connection: Connection, timeoutMs: number): void {
  deadlines.set(connection, performance.now() + timeoutMs);
  if (!sweeper) sweeper = setInterval(sweep, SWEEP_MS);
  else if (deadlines.size === 1) sweeper.ref();
}

function unwatch(connection: Connection): void {
  if (deadlines.delete(connection) && deadlines.size === 0) sweeper?.unref();
}

function sweep(): void {
  const now = performance.now();
  for (const [connection, deadline] of deadlines) if (now >= deadline) connection.timedOut();
}

/** One keep-alive connection: at most one exchange at a time. */
class Connection {
  private reader?: ResponseReader;
  private settle?: { resolve: (response: HttpResponse) => void; reject: (error: RequestFailure) => void };
  private timeoutMs = 0;

  private readonly socket: net.Socket;

  constructor(
    connect: (onData: (data: Buffer) => void) => net.Socket,
    private readonly onFree: (c: Connection) => void,
    private readonly onGone: (c: Connection) => void,
  ) {
    const socket = connect((data) => this.data(data));
    this.socket = socket;
    socket.setNoDelay(true);
    // A connection never keeps the process alive by itself: while a request is out, the deadline sweeper does.
    socket.unref();
    socket.on('error', (error: RequestFailure) => this.fail(error));
    socket.on('close', () => this.closed());
  }

  get alive(): boolean {
    return !this.socket.destroyed;
  }

  exchange(head: string, body: Buffer | undefined, headRequest: boolean, timeoutMs: number): Promise<HttpResponse> {
    return new Promise((resolve, reject) => {
      this.reader = new ResponseReader(headRequest);
      this.settle = { resolve, reject };
      this.timeoutMs = timeoutMs;
      watch(this, timeoutMs);
      if (body?.length) {
        this.socket.cork();
        this.socket.write(head, 'latin1');
        this.socket.write(body);
        this.socket.uncork();
      } else {
        this.socket.write(head, 'latin1');
      }
    });
  }

  private data(data: Buffer): void {
    const reader = this.reader;
    // Bytes nobody asked for: the connection is out of step.
    if (!reader) return void this.socket.destroy();
    let complete: boolean;
    try {
      complete = reader.push(data);
    } catch (error) {
      return this.fail(error as RequestFailure);
    }
    if (complete) this.finish(reader, reader.keepAlive && reader.leftover === 0);
  }

  private finish(reader: ResponseReader, reusable: boolean): void {
    const settle = this.settle!;
    this.done();
    if (reusable) {
      this.onFree(this);
    } else {
      this.socket.destroy();
    }
    settle.resolve(reader.response());
  }

  private fail(error: RequestFailure): void {
    const settle = this.settle;
    this.done();
    this.socket.destroy();
    settle?.reject(error);
  }

  timedOut(): void {
    this.fail(timeoutError(this.timeoutMs));
  }

  private closed(): void {
    const reader = this.reader;
    if (reader?.closed()) this.finish(reader, false);
    else if (this.settle) this.fail(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    this.onGone(this);
  }

  private done(): void {
    unwatch(this);
    this.reader = undefined;
    this.settle = undefined;
  }
}
