/**
 * Bytes to a SIP message, strictly: whatever comes off a socket is attacker input, so every message
 * is checked against the RFC 3261 grammar for the parts the transaction and dialog layers rely on
 * (start line, Via, From, To, Call-ID, CSeq, Contact, Route, Content-Length) before anyone acts on
 * it, and anything else is a SipParseError whose message names what was wrong. When enough of a bad
 * request parsed to answer it, the error carries that request so the caller can send the 400 (or 505)
 * instead of leaving the peer to retransmit. RFC 4475's torture messages are the acceptance test.
 *
 * Cost is linear in the input: the header section is bounded (maxBytes, 200 fields, 8 KiB lines)
 * and scanned by hand, with no backtracking regular expression on attacker text.
 */
import { isUtf8 } from 'node:buffer';
import { SipHeaders, headerKey, type SipMessage, type SipRequest } from './sip-message.js';
import { SipParseError } from './sip-parse-error.js';
import { isAbsoluteUri, parseCSeq, parseNameAddr, parseUri, parseVia, readNameAddr } from './headers.js';
import { CharClass, describe, hasClass, isDigits, isToken, parseDecimal, splitList, trimLws } from './lexical.js';

export { SipParseError } from './sip-parse-error.js';

export interface ParseOptions {
  /**
   * UDP: the datagram is the message. A Content-Length larger than the data is an error, bytes beyond
   * it are ignored (RFC 3261 18.3), and without Content-Length the rest of the datagram is the body.
   * Otherwise the buffer must be exactly one message (trailing CRLFs aside), as a stream framer cuts it.
   */
  datagram?: boolean;
  /** Default 65535. */
  maxBytes?: number;
}

export const DEFAULT_MAX_MESSAGE_BYTES = 65535;
/** Header fields (after unfolding) a message may have. */
export const MAX_HEADER_FIELDS = 200;
/** Characters in one physical line. */
export const MAX_LINE_LENGTH = 8192;

const CR = 0x0d;
const LF = 0x0a;
const CRLF_CRLF = Buffer.from('\r\n\r\n');
const LF_LF = Buffer.from('\n\n');

/** Headers that may appear once: a second one leaves the message ambiguous (RFC 4475 multi01, mcl01). */
const SINGLE_HEADERS = ['Call-ID', 'From', 'To', 'CSeq', 'Max-Forwards', 'Content-Length', 'Content-Type'];
const REQUIRED_HEADERS = ['Via', 'From', 'To', 'Call-ID', 'CSeq'];

const RFC1123_DATE = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;
const SIP_VERSION = /^SIP\/\d{1,9}\.\d{1,9}$/i;

/** A CRLF keep-alive (RFC 5626 "\r\n\r\n" ping or "\r\n" pong), not a message and not an error. */
export function isKeepAlive(data: Buffer): boolean {
  if (data.length === 0 || data.length % 2 !== 0) return false;
  for (let i = 0; i < data.length; i += 2) if (data[i] !== CR || data[i + 1] !== LF) return false;
  return true;
}

type StartLine = { kind: 'request'; method: string; uri: string } | { kind: 'response'; status: number; reason: string };

function isControl(code: number): boolean {
  return (code < 0x20 && code !== 0x09) || code === 0x7f;
}

/** Where a control character sits outside a quoted-pair, or -1. Quoted strings may escape any ASCII octet (RFC 4475 intmeth's "NUL:\<NUL>"). */
function findBareControl(value: string): number {
  let inQuote = false;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (inQuote && code === 0x5c) i++;
    else if (code === 0x22) inQuote = !inQuote;
    else if (isControl(code)) return i;
  }
  return -1;
}

function namesList(names: string[]): string {
  return names.length === 1 ? names[0] : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

function parseStartLine(line: string): { start: StartLine; error?: SipParseError } {
  for (let i = 0; i < line.length; i++) {
    if (isControl(line.charCodeAt(i))) throw new SipParseError(`control character in the start line ${describe(line)}`);
  }
  const firstSpace = line.indexOf(' ');
  const first = firstSpace < 0 ? line : line.slice(0, firstSpace);
  if (first.includes('/')) return { start: parseStatusLine(line, first, firstSpace) };

  const parts = line.split(' ');
  if (parts.length !== 3 || parts.some((p) => p.length === 0)) {
    throw new SipParseError(`malformed request line ${describe(line)}: expected "METHOD Request-URI SIP/2.0" with single spaces`);
  }
  const [method, uri, version] = parts;
  if (!isToken(method)) throw new SipParseError(`invalid method ${describe(method)} in the request line`);
  const start: StartLine = { kind: 'request', method, uri };
  if (version.toUpperCase() !== 'SIP/2.0') {
    if (!SIP_VERSION.test(version)) throw new SipParseError(`malformed request line ${describe(line)}: no SIP version`);
    return { start, error: new SipParseError(`unsupported SIP version ${describe(version)}`, { status: 505 }) };
  }
  try {
    checkRequestUri(uri);
  } catch (err) {
    if (!(err instanceof SipParseError)) throw err;
    return { start, error: err };
  }
  return { start };
}

function parseStatusLine(line: string, version: string, firstSpace: number): StartLine {
  if (version.toUpperCase() !== 'SIP/2.0') {
    if (SIP_VERSION.test(version)) throw new SipParseError(`unsupported SIP version ${describe(version)}`, { status: 505 });
    throw new SipParseError(`not a SIP message: the start line is ${describe(line)}`);
  }
  const codeEnd = firstSpace < 0 ? -1 : line.indexOf(' ', firstSpace + 1);
  const code = firstSpace < 0 ? '' : line.slice(firstSpace + 1, codeEnd < 0 ? undefined : codeEnd);
  const status = code.length === 3 ? parseDecimal(code, 699) : undefined;
  if (status === undefined || status < 100) throw new SipParseError(`malformed status code ${describe(code)}: expected 100-699`);
  return { kind: 'response', status, reason: codeEnd < 0 ? '' : line.slice(codeEnd + 1) };
}

/** RFC 3261 19.1.1: a SIP Request-URI has no headers part; other schemes only need to be URIs (the UAS answers 416 for them). */
function checkRequestUri(uri: string): void {
  const colon = uri.indexOf(':');
  const scheme = colon > 0 ? uri.slice(0, colon).toLowerCase() : '';
  if (scheme === 'sip' || scheme === 'sips' || scheme === 'tel') {
    let parsed;
    try {
      parsed = parseUri(uri);
    } catch (err) {
      throw new SipParseError(`invalid Request-URI: ${(err as Error).message}`);
    }
    if (parsed.headers.size > 0) throw new SipParseError(`the Request-URI ${describe(uri)} carries headers (?...), which a request must not`);
  } else if (!isAbsoluteUri(uri)) throw new SipParseError(`malformed Request-URI ${describe(uri)}`);
}

/** Raw field values of one header, comma lists not split. */
function fieldValues(headers: SipHeaders, name: string): string[] {
  const key = headerKey(name);
  const out: string[] = [];
  for (const [fieldName, value] of headers.entries()) if (headerKey(fieldName) === key) out.push(value);
  return out;
}

/** Every element of a list header, empty ones included so they can be rejected. */
function listElements(headers: SipHeaders, name: string): string[] {
  return fieldValues(headers, name).flatMap((value) => splitList(value));
}

function checkCallId(value: string): void {
  const at = value.indexOf('@');
  const parts = at < 0 ? [value] : [value.slice(0, at), value.slice(at + 1)];
  for (const part of parts) {
    let ok = part.length > 0;
    for (let i = 0; ok && i < part.length; i++) ok = hasClass(part.charCodeAt(i), CharClass.WORD);
    if (!ok) throw new SipParseError(`malformed Call-ID ${describe(value)}`);
  }
}

function checkNameAddrHeader(name: string, value: string, requireBrackets: boolean): void {
  let bracketed: boolean;
  try {
    bracketed = readNameAddr(value).bracketed;
  } catch (err) {
    if (!(err instanceof SipParseError)) throw err;
    throw new SipParseError(`malformed ${name}: ${err.message}`);
  }
  if (requireBrackets && !bracketed) throw new SipParseError(`malformed ${name}: the URI must be enclosed in <> in ${describe(value)}`);
}

/** Checks the headers the upper layers act on. Throws the first problem found. */
function checkHeaders(headers: SipHeaders, start: StartLine): void {
  const missing = REQUIRED_HEADERS.filter((name) => !headers.has(name));
  if (missing.length > 0) throw new SipParseError(`missing ${namesList(missing)} header${missing.length > 1 ? 's' : ''}`);
  for (const name of SINGLE_HEADERS) {
    if (fieldValues(headers, name).length > 1) throw new SipParseError(`multiple ${name} headers`);
  }

  for (const via of listElements(headers, 'Via')) {
    if (via.length === 0) throw new SipParseError('empty Via value (stray comma)');
    parseVia(via);
  }

  const cseq = parseCSeq(headers.get('CSeq') ?? '');
  if (start.kind === 'request' && cseq.method !== start.method) {
    throw new SipParseError(`CSeq method ${describe(cseq.method)} does not match the request method ${describe(start.method)}`);
  }
  checkCallId(headers.get('Call-ID') ?? '');
  checkNameAddrHeader('From', headers.get('From') ?? '', false);
  checkNameAddrHeader('To', headers.get('To') ?? '', false);

  const maxForwards = headers.get('Max-Forwards');
  if (maxForwards !== undefined) {
    if (!isDigits(maxForwards)) throw new SipParseError(`malformed Max-Forwards ${describe(maxForwards)}`);
    if (parseDecimal(maxForwards, 255) === undefined) throw new SipParseError(`Max-Forwards ${describe(maxForwards)} is out of range 0-255`);
  }
  const contentLength = headers.get('Content-Length');
  if (contentLength !== undefined && !isDigits(contentLength)) throw new SipParseError(`malformed Content-Length ${describe(contentLength)}`);

  const contacts = listElements(headers, 'Contact');
  for (const contact of contacts) {
    if (contact === '*' && contacts.length === 1) continue;
    if (contact.length === 0) throw new SipParseError('empty Contact value (stray comma)');
    checkNameAddrHeader('Contact', contact, false);
  }
  for (const name of ['Route', 'Record-Route']) {
    for (const route of listElements(headers, name)) {
      if (route.length === 0) throw new SipParseError(`empty ${name} value (stray comma)`);
      checkNameAddrHeader(name, route, true);
    }
  }
  const date = headers.get('Date');
  if (date !== undefined && !RFC1123_DATE.test(date)) throw new SipParseError(`malformed Date ${describe(date)}: expected an RFC 1123 date in GMT`);
}

/** "1*DIGIT LWS Method" without the 32-bit limit: enough to copy into a 400 that complains about the number. */
const CSEQ_SHAPE = /^\d+[ \t]+[^ \t]+$/;

/** The request as far as it parsed, when it has what a response needs: a parseable top Via, From, To, Call-ID and a CSeq to copy. */
function partialRequest(start: StartLine, headers: SipHeaders, body: Buffer): SipRequest | undefined {
  if (start.kind !== 'request') return undefined;
  try {
    const top = headers.get('Via');
    if (top === undefined) return undefined;
    parseVia(top);
    for (const name of ['From', 'To', 'Call-ID', 'CSeq']) if (fieldValues(headers, name).length !== 1) return undefined;
    parseNameAddr(headers.get('From') ?? '');
    parseNameAddr(headers.get('To') ?? '');
    if (!CSEQ_SHAPE.test(headers.get('CSeq') ?? '')) return undefined;
    checkCallId(headers.get('Call-ID') ?? '');
  } catch (err) {
    if (err instanceof SipParseError) return undefined;
    throw err;
  }
  return { kind: 'request', method: start.method, uri: start.uri, headers, body };
}

function onlyCrlf(data: Buffer, from: number): boolean {
  for (let i = from; i < data.length; i += 2) if (data[i] !== CR || data[i + 1] !== LF) return false;
  return true;
}

/** Parses one message. Throws SipParseError, never anything else, for any input. The body shares memory with `data`. */
export function parseSipMessage(data: Buffer, options: ParseOptions = {}): SipMessage {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  if (data.length > maxBytes) throw new SipParseError(`message of ${data.length} bytes exceeds the ${maxBytes}-byte limit`, { status: 513 });
  // RFC 3261 7.5: CRLFs before the start line are ignored (they are keep-alives or padding).
  let begin = 0;
  while (begin + 1 < data.length && data[begin] === CR && data[begin + 1] === LF) begin += 2;
  if (begin >= data.length) throw new SipParseError(data.length === 0 ? 'empty message' : 'no message, only CRLF (a keep-alive: see isKeepAlive)');
  const headEnd = data.indexOf(CRLF_CRLF, begin);
  if (headEnd < 0) {
    if (data.indexOf(LF_LF, begin) >= 0) throw new SipParseError('lines end with a bare LF: SIP requires CRLF');
    throw new SipParseError('no empty line ends the header section (truncated message?)');
  }
  const headBytes = data.subarray(begin, headEnd);
  if (!isUtf8(headBytes)) throw new SipParseError('the header section is not valid UTF-8');
  const lines = headBytes.toString('utf8').split('\r\n');

  for (const line of lines) {
    if (line.length > MAX_LINE_LENGTH) throw new SipParseError(`a line of ${line.length} characters exceeds the ${MAX_LINE_LENGTH}-character limit`);
  }
  if (lines[0].includes('\r') || lines[0].includes('\n')) throw new SipParseError('bare CR or LF in the start line');
  const parsedStart = parseStartLine(lines[0]);
  const start = parsedStart.start;
  let error = parsedStart.error;
  const record = (err: SipParseError): void => {
    error ??= err;
  };

  const headers = new SipHeaders();
  let fields = 0;
  let name: string | undefined;
  let value = '';
  let skipping = false;
  const flush = (): void => {
    if (name === undefined) return;
    const bad = findBareControl(value);
    if (bad >= 0) {
      const what = value.charCodeAt(bad) === 0 ? 'NUL byte' : 'control character';
      record(new SipParseError(`${what} in the ${name} header: ${describe(value)}`));
    } else headers.append(name, value);
    name = undefined;
  };
  for (let n = 1; n < lines.length; n++) {
    const line = lines[n];
    if (line.includes('\r') || line.includes('\n')) {
      flush();
      skipping = true;
      record(new SipParseError(`bare CR or LF in header line ${describe(line)}`));
      continue;
    }
    const first = line.charCodeAt(0);
    if (first === 0x20 || first === 0x09) {
      // LWS continuation (folding): joined to the field with one space
      if (skipping) continue;
      if (name === undefined) {
        record(new SipParseError(`continuation line ${describe(line)} before any header`));
        continue;
      }
      const piece = trimLws(line);
      if (piece.length > 0) value = value.length > 0 ? `${value} ${piece}` : piece;
      continue;
    }
    flush();
    skipping = false;
    const colon = line.indexOf(':');
    const fieldName = colon < 0 ? '' : trimLws(line.slice(0, colon));
    if (colon < 0 || !isToken(fieldName)) {
      skipping = true;
      record(new SipParseError(colon < 0 ? `header line without a colon: ${describe(line)}` : `invalid header name ${describe(fieldName)}`));
      continue;
    }
    if (++fields > MAX_HEADER_FIELDS) {
      record(new SipParseError(`more than ${MAX_HEADER_FIELDS} header fields`));
      break;
    }
    name = fieldName;
    value = trimLws(line.slice(colon + 1));
  }
  flush();

  if (!error) {
    try {
      checkHeaders(headers, start);
    } catch (err) {
      if (!(err instanceof SipParseError)) throw err;
      record(err);
    }
  }

  const bodyStart = headEnd + 4;
  const available = data.length - bodyStart;
  let body = data.subarray(bodyStart);
  const contentLength = headers.get('Content-Length');
  if (contentLength !== undefined && isDigits(contentLength)) {
    const length = parseDecimal(contentLength, maxBytes);
    if (length === undefined || length > available) {
      const shown = contentLength.length > 12 ? describe(contentLength) : contentLength;
      record(new SipParseError(`Content-Length ${shown} exceeds the ${available}-byte body`));
    } else {
      body = data.subarray(bodyStart, bodyStart + length);
      if (length < available && !options.datagram && !onlyCrlf(data, bodyStart + length)) {
        record(new SipParseError(`${available - length} bytes follow the ${length}-byte body that Content-Length announced`));
      }
    }
  }

  if (error) {
    const partial = partialRequest(start, headers, body);
    throw partial ? error.withPartial(partial) : error;
  }
  if (start.kind === 'request') return { kind: 'request', method: start.method, uri: start.uri, headers, body };
  return { kind: 'response', status: start.status, reason: start.reason, headers, body };
}
