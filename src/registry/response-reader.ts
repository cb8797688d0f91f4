import type { IncomingHttpHeaders } from 'node:http';

export interface HttpResponse {
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A response the reader cannot make sense of; the connection is dropped. */
export class MalformedResponseError extends Error {
  readonly code = 'HPE_INVALID_RESPONSE';
}

const enum Stage {
  Head,
  Fixed,
  ChunkSize,
  ChunkData,
  ChunkEnd,
  Trailers,
  UntilClose,
  Done,
}

const EMPTY: Buffer = Buffer.alloc(0);
const CRLF = Buffer.from('\r\n');
const HEAD_END = Buffer.from('\r\n\r\n');
const MAX_HEAD_BYTES = 64 * 1024;
/** Headers node:http keeps the first of when repeated; set-cookie becomes a list; the others are joined with ", ". */
const FIRST_WINS = new Set(['content-type', 'content-length', 'user-agent', 'referer', 'host', 'authorization', 'proxy-authorization',
  'if-modified-since', 'if-unmodified-since', 'from', 'location', 'max-forwards', 'retry-after', 'etag', 'last-modified', 'server',
  'age', 'expires']);

/**
 * Reads one HTTP/1.1 response from the bytes of a connection, framed as RFC 9112 section 6.3 says: no body after a
 * HEAD, a 204 or a 304; chunked; Content-Length; else everything until the server closes. Interim 1xx answers
 * are skipped. In the usual case (the whole answer in one read) the body is a slice of that read, not a copy.
 */
export class ResponseReader {
  private buffer = EMPTY;
  private stage = Stage.Head;
  private remaining = 0;
  private readonly chunks: Buffer[] = [];
  private statusCode = 0;
  private headers: IncomingHttpHeaders = {};
  /** Whether the connection may carry another request once this response is read. */
  keepAlive = true;

  constructor(private readonly headRequest: boolean) {}

  /** Feeds the next bytes; true once the response is complete. Throws MalformedResponseError. */
  push(data: Buffer): boolean {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, data]) : data;
    for (;;) {
      switch (this.stage) {
        case Stage.Head: {
          const end = this.buffer.indexOf(HEAD_END);
          if (end < 0) {
            if (this.buffer.length > MAX_HEAD_BYTES) throw new MalformedResponseError('response headers larger than 64 KiB');
            return false;
          }
          this.readHead(end);
          this.buffer = this.buffer.subarray(end + 4);
          this.stage = this.framing();
          break;
        }
        case Stage.Fixed:
        case Stage.ChunkData:
          if (!this.take()) return false;
          this.stage = this.stage === Stage.Fixed ? Stage.Done : Stage.ChunkEnd;
          break;
        case Stage.ChunkSize: {
          const line = this.line();
          if (line === undefined) return false;
          const size = /^[0-9a-fA-F]{1,12}/.exec(line);
          if (!size) throw new MalformedResponseError(`bad chunk size line "${line.slice(0, 40)}"`);
          this.remaining = parseInt(size[0], 16);
          this.stage = this.remaining === 0 ? Stage.Trailers : Stage.ChunkData;
          break;
        }
        case Stage.ChunkEnd:
          if (this.buffer.length < 2) return false;
          if (this.buffer[0] !== 13 || this.buffer[1] !== 10) throw new MalformedResponseError('chunk not followed by CRLF');
          this.buffer = this.buffer.subarray(2);
          this.stage = Stage.ChunkSize;
          break;
        case Stage.Trailers: {
          const line = this.line(); // trailer fields are read and ignored
          if (line === undefined) return false;
          if (line === '') this.stage = Stage.Done;
          break;
        }
        case Stage.UntilClose:
          if (this.buffer.length) this.chunks.push(this.buffer);
          this.buffer = EMPTY;
          return false;
        case Stage.Done:
          return true;
      }
    }
  }

  /** The server closed the connection: true when that ends the body (no length given), false when it cuts it. */
  closed(): boolean {
    if (this.stage !== Stage.UntilClose) return false;
    this.stage = Stage.Done;
    return true;
  }

  /** Bytes received past the end of the response: the connection is out of step and must not be reused. */
  get leftover(): number {
    return this.buffer.length;
  }

  response(): HttpResponse {
    const body = this.chunks.length === 1 ? this.chunks[0] : this.chunks.length ? Buffer.concat(this.chunks) : EMPTY;
    return { statusCode: this.statusCode, headers: this.headers, body };
  }

  /**
   * The status line and headers, bytes [0, end) of the buffer. Each name and value is decoded on its own: a slice
   * of one string for the whole head would keep that string alive as long as any value is kept (a digest is kept
   * for every image of the plan: 40 MB at 100,000 tags).
   */
  private readHead(end: number): void {
    const bytes = this.buffer;
    const statusEnd = lineEnd(bytes, 0, end);
    const status = /^HTTP\/1\.([01]) (\d{3})(?: |$)/.exec(bytes.toString('latin1', 0, Math.min(statusEnd, 64)));
    if (!status) throw new MalformedResponseError(`not an HTTP/1.x status line: "${bytes.toString('latin1', 0, Math.min(statusEnd, 40))}"`);
    this.statusCode = Number(status[2]);
    const headers: IncomingHttpHeaders = {};
    for (let at = statusEnd + 2; at < end; ) {
      const eol = lineEnd(bytes, at, end);
      const colon = bytes.indexOf(COLON, at);
      if (colon <= at || colon >= eol || isBlank(bytes[at])) {
        throw new MalformedResponseError(`bad header line "${bytes.toString('latin1', at, Math.min(eol, at + 40))}"`);
      }
      let nameEnd = colon;
      while (nameEnd > at && isBlank(bytes[nameEnd - 1])) nameEnd--;
      let valueStart = colon + 1;
      let valueEnd = eol;
      while (valueStart < valueEnd && isBlank(bytes[valueStart])) valueStart++;
      while (valueEnd > valueStart && isBlank(bytes[valueEnd - 1])) valueEnd--;
      addHeader(headers, bytes.toString('latin1', at, nameEnd).toLowerCase(), bytes.toString('latin1', valueStart, valueEnd));
      at = eol + 2;
    }
    this.headers = headers;
    const connection = String(headers.connection ?? '').toLowerCase();
    this.keepAlive = status[1] === '1' ? !connection.includes('close') : connection.includes('keep-alive');
  }

  private framing(): Stage {
    const status = this.statusCode;
    if (status >= 100 && status < 200) {
      // 100 Continue, 103 Early Hints: the real answer follows on the same connection.
      this.headers = {};
      return Stage.Head;
    }
    if (this.headRequest || status === 204 || status === 304) return Stage.Done;
    const coding = this.headers['transfer-encoding'];
    if (coding !== undefined) {
      if (/(?:^|,)\s*chunked\s*$/i.test(coding)) return Stage.ChunkSize;
      this.keepAlive = false;
      return Stage.UntilClose;
    }
    const length = this.headers['content-length'];
    if (length !== undefined) {
      if (!/^\d{1,15}$/.test(length)) throw new MalformedResponseError(`bad Content-Length "${length.slice(0, 20)}"`);
      this.remaining = Number(length);
      return this.remaining === 0 ? Stage.Done : Stage.Fixed;
    }
    this.keepAlive = false;
    return Stage.UntilClose;
  }

  /** Moves up to `remaining` body bytes out of the buffer; true when none remain. */
  private take(): boolean {
    const n = Math.min(this.remaining, this.buffer.length);
    if (n > 0) {
      this.chunks.push(this.buffer.subarray(0, n));
      this.buffer = this.buffer.subarray(n);
      this.remaining -= n;
    }
    return this.remaining === 0;
  }

  /** The next CRLF-terminated line (consumed), or undefined until it has arrived. */
  private line(): string | undefined {
    const end = this.buffer.indexOf(CRLF);
    if (end < 0) {
      if (this.buffer.length > MAX_HEAD_BYTES) throw new MalformedResponseError('line longer than 64 KiB');
      return undefined;
    }
    const line = this.buffer.toString('latin1', 0, end);
    this.buffer = this.buffer.subarray(end + 2);
    return line;
  }
}

const COLON = 0x3a;
const isBlank = (byte: number) => byte === 0x20 || byte === 0x09;

/** Where the line starting at `from` ends (its CR), at most `end`. */
function lineEnd(bytes: Buffer, from: number, end: number): number {
  const at = bytes.indexOf(CRLF, from);
  return at < 0 || at > end ? end : at;
}

function addHeader(headers: IncomingHttpHeaders, name: string, value: string): void {
  if (name === '__proto__') return;
  const known = headers[name];
  if (name === 'set-cookie') headers['set-cookie'] = [...(known ?? []), value];
  else if (known === undefined) headers[name] = value;
  else if (!FIRST_WINS.has(name)) headers[name] = `${known}, ${value}`;
}
