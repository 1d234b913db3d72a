/**
 * The grammar of the header values the transaction and dialog layers act on (RFC 3261 section 25):
 * SIP and tel URIs, name-addr (From, To, Contact, Route, Record-Route, Refer-To), Via, CSeq and
 * generic parameters, plus the random identifiers a UA mints (branch, tag, Call-ID). Parsers are strict
 * and throw SipParseError naming what was wrong; formatters refuse (TypeError) values that could not
 * be parsed back, so nothing a caller builds can smuggle a delimiter into a message.
 */
import { randomBytes } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import {
  CharClass,
  describe,
  hasClass,
  hasLws,
  isAlpha,
  isDigit,
  isHexDigit,
  isToken,
  isTokenChar,
  parseDecimal,
  quoteString,
  readQuotedString,
  skipLws,
  trimLws,
} from './lexical.js';
import { SipParseError } from './sip-parse-error.js';

/** For tel: URIs `host` holds the number. IPv6 hosts keep their brackets ("[2001:db8::1]"). `user` stays escaped as written: see unescapeUser. */
export interface SipUri {
  scheme: 'sip' | 'sips' | 'tel';
  user?: string;
  password?: string;
  host: string;
  port?: number;
  /** Names lower-cased (they are case-insensitive); null for a parameter without a value (`;lr`). */
  params: Map<string, string | null>;
  /** URI headers (`?subject=x`), escaped as written. */
  headers: Map<string, string>;
}

/** From/To/Contact/Route/Record-Route/Refer-To values. `uri` may be any absolute URI; `params` are the header's (the To tag is params.get('tag')). */
export interface NameAddr {
  displayName?: string;
  uri: string;
  /** Names lower-cased; quoted values keep their quotes so they are written back unchanged. */
  params: Map<string, string | null>;
}

export interface Via {
  /** 'SIP/2.0' */
  protocol: string;
  /** 'UDP' | 'TCP' | 'TLS' | 'SCTP' | 'WS' | 'WSS' ..., upper-case */
  transport: string;
  /** IPv6 keeps its brackets, as in the header. */
  host: string;
  port?: number;
  /** branch, received, rport (null when present without a value, as a request asking for RFC 3581 rport), ... */
  params: Map<string, string | null>;
}

export const BRANCH_MAGIC_COOKIE = 'z9hG4bK';

const MAX_PORT = 65535;

function fail(message: string): never {
  throw new SipParseError(message);
}

/** Index after the run of `flag` characters and %HH escapes starting at `i`; a '%' not followed by two hex digits is an error. */
function scanEscaped(text: string, i: number, flag: number, what: string): number {
  while (i < text.length) {
    const code = text.charCodeAt(i);
    if (code === 0x25) {
      if (!isHexDigit(text.charCodeAt(i + 1)) || !isHexDigit(text.charCodeAt(i + 2))) {
        fail(`invalid %-escape in ${what}: ${describe(text)}`);
      }
      i += 3;
    } else if (hasClass(code, flag)) i++;
    else break;
  }
  return i;
}

function isAllOf(text: string, flag: number): boolean {
  try {
    return scanEscaped(text, 0, flag, 'URI') === text.length;
  } catch {
    return false;
  }
}

/** hostname / IPv4address / IPv6reference, as in a SIP URI or a Via sent-by. */
export function isValidHost(host: string): boolean {
  if (host.length === 0) return false;
  if (host.charCodeAt(0) === 0x5b) return host.charCodeAt(host.length - 1) === 0x5d && isIPv6(host.slice(1, -1));
  let numeric = true;
  for (let i = 0; i < host.length; i++) {
    const code = host.charCodeAt(i);
    if (!hasClass(code, CharClass.HOST)) return false;
    if (!isDigit(code) && code !== 0x2e) numeric = false;
  }
  if (numeric) return isIPv4(host);
  const labels = host.endsWith('.') ? host.slice(0, -1).split('.') : host.split('.');
  for (const label of labels) {
    if (label.length === 0 || label.startsWith('-') || label.endsWith('-')) return false;
  }
  // toplabel = ALPHA *( alphanum / "-" ) alphanum: what tells "example.com" from a mistyped IPv4 address.
  return isAlpha(labels[labels.length - 1].charCodeAt(0));
}

function readUriParams(text: string, i: number, params: Map<string, string | null>, stopAtQuery: boolean): number {
  while (text.charCodeAt(i) === 0x3b) {
    const nameStart = i + 1;
    i = scanEscaped(text, nameStart, CharClass.PARAM, 'URI parameter');
    const name = text.slice(nameStart, i);
    if (name.length === 0) fail(`empty URI parameter in ${describe(text)}`);
    let value: string | null = null;
    if (text.charCodeAt(i) === 0x3d) {
      const valueStart = i + 1;
      i = scanEscaped(text, valueStart, CharClass.PARAM, 'URI parameter');
      value = text.slice(valueStart, i);
      if (value.length === 0) fail(`URI parameter '${name}' has '=' but no value in ${describe(text)}`);
    }
    const key = name.toLowerCase();
    if (params.has(key)) fail(`duplicate URI parameter '${key}' in ${describe(text)}`);
    params.set(key, value);
  }
  if (i < text.length && !(stopAtQuery && text.charCodeAt(i) === 0x3f)) fail(`unexpected ${describe(text[i])} in URI ${describe(text)}`);
  return i;
}

function parseTelUri(text: string, start: number): SipUri {
  let i = start;
  const global = text.charCodeAt(i) === 0x2b;
  if (global) i++;
  let digits = 0;
  for (; i < text.length; i++) {
    const code = text.charCodeAt(i);
    // global numbers are digits; local ones also HEXDIG * #; visual separators - . ( ) anywhere
    if (isDigit(code) || (!global && (isHexDigit(code) || code === 0x2a || code === 0x23))) digits++;
    else if (code !== 0x2d && code !== 0x2e && code !== 0x28 && code !== 0x29) break;
  }
  if (digits === 0) fail(`tel URI without a number: ${describe(text)}`);
  const host = text.slice(start, i);
  const params = new Map<string, string | null>();
  readUriParams(text, i, params, false);
  return { scheme: 'tel', host, params, headers: new Map() };
}

/** A sip:, sips: or tel: URI. Throws SipParseError for another scheme or a malformed URI. */
export function parseUri(text: string): SipUri {
  const colon = text.indexOf(':');
  if (colon <= 0) fail(`malformed URI ${describe(text)}: no scheme`);
  const scheme = text.slice(0, colon).toLowerCase();
  if (scheme === 'tel') return parseTelUri(text, colon + 1);
  if (scheme !== 'sip' && scheme !== 'sips') fail(`unsupported URI scheme '${describe(scheme).slice(1, -1)}' in ${describe(text)}`);

  let i = colon + 1;
  let user: string | undefined;
  let password: string | undefined;
  // '@' cannot appear unescaped anywhere but after the userinfo, so the first one ends it.
  const at = text.indexOf('@', i);
  if (at >= 0) {
    const userEnd = scanEscaped(text, i, CharClass.USER, 'URI user');
    user = text.slice(i, userEnd);
    if (user.length === 0) fail(`empty user part in URI ${describe(text)}`);
    i = userEnd;
    if (text.charCodeAt(i) === 0x3a) {
      const passwordEnd = scanEscaped(text, i + 1, CharClass.PASSWORD, 'URI password');
      password = text.slice(i + 1, passwordEnd);
      i = passwordEnd;
    }
    if (i !== at) fail(`invalid character ${describe(text[i])} in the user part of URI ${describe(text)}`);
    i = at + 1;
  }

  let host: string;
  if (text.charCodeAt(i) === 0x5b) {
    const close = text.indexOf(']', i);
    if (close < 0) fail(`unterminated IPv6 reference in URI ${describe(text)}`);
    host = text.slice(i, close + 1);
    i = close + 1;
  } else {
    const hostStart = i;
    while (i < text.length && hasClass(text.charCodeAt(i), CharClass.HOST)) i++;
    host = text.slice(hostStart, i);
  }
  if (!isValidHost(host)) fail(`invalid host ${describe(host)} in URI ${describe(text)}`);

  let port: number | undefined;
  if (text.charCodeAt(i) === 0x3a) {
    const portStart = i + 1;
    i = portStart;
    while (i < text.length && isDigit(text.charCodeAt(i))) i++;
    port = parseDecimal(text.slice(portStart, i), MAX_PORT);
    if (port === undefined) fail(`invalid port in URI ${describe(text)}`);
  }

  const params = new Map<string, string | null>();
  i = readUriParams(text, i, params, true);
  const headers = new Map<string, string>();
  if (text.charCodeAt(i) === 0x3f) {
    do {
      const nameStart = i + 1;
      i = scanEscaped(text, nameStart, CharClass.HNV, 'URI header');
      const name = text.slice(nameStart, i);
      if (name.length === 0 || text.charCodeAt(i) !== 0x3d) fail(`malformed URI header in ${describe(text)}`);
      const valueStart = i + 1;
      i = scanEscaped(text, valueStart, CharClass.HNV, 'URI header');
      headers.set(name, text.slice(valueStart, i));
    } while (text.charCodeAt(i) === 0x26);
    if (i < text.length) fail(`unexpected ${describe(text[i])} in URI headers of ${describe(text)}`);
  }

  const uri: SipUri = { scheme, host, params, headers };
  if (user !== undefined) uri.user = user;
  if (password !== undefined) uri.password = password;
  if (port !== undefined) uri.port = port;
  return uri;
}

function formatUriParams(params: Map<string, string | null>): string {
  let out = '';
  for (const [name, value] of params) {
    if (name.length === 0 || !isAllOf(name, CharClass.PARAM)) throw new TypeError(`invalid URI parameter name ${JSON.stringify(name)}`);
    if (value !== null && (value.length === 0 || !isAllOf(value, CharClass.PARAM))) {
      throw new TypeError(`invalid value for URI parameter ${name}: ${JSON.stringify(value)} (escape it)`);
    }
    out += value === null ? `;${name}` : `;${name}=${value}`;
  }
  return out;
}

export function formatUri(uri: SipUri): string {
  if (uri.scheme === 'tel') {
    // the number went through the tel grammar on parse; re-check it the same way
    const text = `tel:${uri.host}${formatUriParams(uri.params)}`;
    parseTelUriOrTypeError(text);
    return text;
  }
  if (uri.scheme !== 'sip' && uri.scheme !== 'sips') throw new TypeError(`unsupported URI scheme ${JSON.stringify(uri.scheme)}`);
  let out = `${uri.scheme}:`;
  if (uri.user !== undefined) {
    if (uri.user.length === 0 || !isAllOf(uri.user, CharClass.USER)) throw new TypeError(`invalid URI user ${JSON.stringify(uri.user)} (escape it)`);
    out += uri.user;
    if (uri.password !== undefined) {
      if (!isAllOf(uri.password, CharClass.PASSWORD)) throw new TypeError('invalid URI password (escape it)');
      out += `:${uri.password}`;
    }
    out += '@';
  }
  if (!isValidHost(uri.host)) throw new TypeError(`invalid URI host ${JSON.stringify(uri.host)}`);
  out += uri.host;
  if (uri.port !== undefined) {
    if (!Number.isInteger(uri.port) || uri.port < 0 || uri.port > MAX_PORT) throw new TypeError(`invalid URI port ${uri.port}`);
    out += `:${uri.port}`;
  }
  out += formatUriParams(uri.params);
  let separator = '?';
  for (const [name, value] of uri.headers) {
    if (name.length === 0 || !isAllOf(name, CharClass.HNV) || !isAllOf(value, CharClass.HNV)) {
      throw new TypeError(`invalid URI header ${JSON.stringify(name)} (escape it)`);
    }
    out += `${separator}${name}=${value}`;
    separator = '&';
  }
  return out;
}

function parseTelUriOrTypeError(text: string): void {
  try {
    parseTelUri(text, 4);
  } catch (err) {
    throw new TypeError((err as Error).message);
  }
}

/** The user part with %-escapes resolved (UTF-8), for comparing or displaying: "%75se%72" is "user". */
export function unescapeUser(user: string): string {
  if (!user.includes('%')) return user;
  const bytes: number[] = [];
  for (let i = 0; i < user.length; i++) {
    const code = user.charCodeAt(i);
    if (code === 0x25 && isHexDigit(user.charCodeAt(i + 1)) && isHexDigit(user.charCodeAt(i + 2))) {
      bytes.push(parseInt(user.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      for (const b of Buffer.from(user[i], 'utf8')) bytes.push(b);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Any absolute URI (isbn:, http:, urn:...), checked for its scheme and URI characters only. */
export function isAbsoluteUri(text: string): boolean {
  const colon = text.indexOf(':');
  if (colon <= 0 || colon === text.length - 1 || !isAlpha(text.charCodeAt(0))) return false;
  for (let i = 1; i < colon; i++) {
    const code = text.charCodeAt(i);
    if (!isAlpha(code) && !isDigit(code) && code !== 0x2b && code !== 0x2d && code !== 0x2e) return false;
  }
  return isAllOf(text.slice(colon + 1), CharClass.URIC);
}

/** Checks a URI found in a header or the request line: sip/sips/tel strictly, other schemes for URI syntax. */
export function checkUri(uri: string, where: string): void {
  const colon = uri.indexOf(':');
  const scheme = colon > 0 ? uri.slice(0, colon).toLowerCase() : '';
  if (scheme === 'sip' || scheme === 'sips' || scheme === 'tel') {
    try {
      parseUri(uri);
    } catch (err) {
      fail(`${where}: ${(err as Error).message}`);
    }
  } else if (!isAbsoluteUri(uri)) fail(`${where}: malformed URI ${describe(uri)}`);
}

const VALUE_EXTRA = new Set([0x3a, 0x5b, 0x5d]); // ':' '[' ']' of an IPv6 host value (received=2001:db8::1)

function isParamValueChar(code: number): boolean {
  return isTokenChar(code) || VALUE_EXTRA.has(code);
}

/** Header parameters, ";a=b;c" style, LWS allowed around ';' and '='. Values are token, host or quoted-string (kept quoted). */
export function parseParams(text: string): Map<string, string | null> {
  const params = new Map<string, string | null>();
  let i = skipLws(text, 0);
  while (i < text.length) {
    if (text.charCodeAt(i) !== 0x3b) fail(`expected ';' before ${describe(text.slice(i))}`);
    i = skipLws(text, i + 1);
    const nameStart = i;
    while (i < text.length && isTokenChar(text.charCodeAt(i))) i++;
    const name = text.slice(nameStart, i);
    if (name.length === 0) fail(`empty parameter in ${describe(text)}`);
    i = skipLws(text, i);
    let value: string | null = null;
    if (text.charCodeAt(i) === 0x3d) {
      i = skipLws(text, i + 1);
      if (text.charCodeAt(i) === 0x22) {
        const quoted = readQuotedString(text, i, `parameter '${name}'`);
        value = text.slice(i, quoted.end);
        i = quoted.end;
      } else {
        const valueStart = i;
        while (i < text.length && isParamValueChar(text.charCodeAt(i))) i++;
        value = text.slice(valueStart, i);
        if (value.length === 0) fail(`parameter '${name}' has '=' but no value in ${describe(text)}`);
      }
      i = skipLws(text, i);
    }
    const key = name.toLowerCase();
    if (params.has(key)) fail(`duplicate parameter '${key}' in ${describe(text)}`);
    params.set(key, value);
  }
  return params;
}

function formatParamValue(name: string, value: string): string {
  let plain = value.length > 0;
  for (let i = 0; plain && i < value.length; i++) plain = isParamValueChar(value.charCodeAt(i));
  if (plain) return value;
  if (value.length >= 2 && value.startsWith('"')) {
    try {
      if (readQuotedString(value, 0, `parameter '${name}'`).end === value.length) return value;
    } catch {
      // not a complete quoted-string: quote it below
    }
  }
  return quoteString(value);
}

/** ";name=value;flag" for header parameters; a value that is not a token or host is quoted. */
export function formatParams(params: Map<string, string | null>): string {
  let out = '';
  for (const [name, value] of params) {
    if (!isToken(name)) throw new TypeError(`invalid parameter name ${JSON.stringify(name)}: expected a token`);
    out += value === null ? `;${name}` : `;${name}=${formatParamValue(name, value)}`;
  }
  return out;
}

/** name-addr ("Bob" <sip:bob@host>;tag=1) or addr-spec (sip:bob@host;tag=1) with quoted, escaped or token display names. */
export function parseNameAddr(value: string): NameAddr {
  return readNameAddr(value).address;
}

/** parseNameAddr, also telling whether the URI was in <>: Route and Record-Route require it. */
export function readNameAddr(value: string): { address: NameAddr; bracketed: boolean } {
  const text = trimLws(value);
  let displayName: string | undefined;
  let open: number;
  if (text.charCodeAt(0) === 0x22) {
    const quoted = readQuotedString(text, 0, 'display name');
    displayName = quoted.value;
    open = skipLws(text, quoted.end);
    if (text.charCodeAt(open) !== 0x3c) fail(`expected <URI> after the display name in ${describe(text)}`);
  } else {
    open = 0;
    while (open < text.length && text.charCodeAt(open) !== 0x3c && text.charCodeAt(open) !== 0x3a) open++;
    if (open === text.length) fail(`no URI in ${describe(text)}`);
    if (text.charCodeAt(open) === 0x3a) return { address: parseAddrSpec(text), bracketed: false };
    const name = trimLws(text.slice(0, open));
    for (let i = 0; i < name.length; i++) {
      const code = name.charCodeAt(i);
      if (!isTokenChar(code) && code !== 0x20 && code !== 0x09) fail(`display name ${describe(name)} must be quoted: it is not a series of tokens`);
    }
    if (name.length > 0) displayName = name;
  }
  const close = text.indexOf('>', open + 1);
  if (close < 0) fail(`no closing '>' in ${describe(text)}`);
  const uri = text.slice(open + 1, close);
  if (hasLws(uri)) fail(`spaces inside <> around the URI in ${describe(text)}`);
  checkUri(uri, 'URI in <>');
  const params = parseParams(text.slice(close + 1));
  return { address: displayName === undefined ? { uri, params } : { displayName, uri, params }, bracketed: true };
}

function parseAddrSpec(text: string): NameAddr {
  const semi = text.indexOf(';');
  const uri = trimLws(semi < 0 ? text : text.slice(0, semi));
  // RFC 3261 20: a URI with a comma, question mark or semicolon must be inside <>; here they would be misread.
  for (let i = 0; i < uri.length; i++) {
    const code = uri.charCodeAt(i);
    if (code === 0x2c || code === 0x3f) fail(`a URI with ${describe(uri[i])} must be enclosed in <>: ${describe(text)}`);
    if (code === 0x20 || code === 0x09) fail(`space inside the URI ${describe(text)}`);
  }
  checkUri(uri, 'URI');
  return { uri, params: parseParams(semi < 0 ? '' : text.slice(semi)) };
}

/** Always the <uri> form, display name quoted, so URI parameters can never be mistaken for header parameters. */
export function formatNameAddr(value: NameAddr): string {
  if (value.uri.length === 0 || /[\s<>]/.test(value.uri)) throw new TypeError(`invalid URI for a name-addr: ${JSON.stringify(value.uri)}`);
  const name = value.displayName === undefined ? '' : `${quoteString(value.displayName)} `;
  return `${name}<${value.uri}>${formatParams(value.params)}`;
}

function readToken(text: string, i: number): number {
  while (i < text.length && isTokenChar(text.charCodeAt(i))) i++;
  return i;
}

/** One Via value: "SIP/2.0/UDP host:port;branch=...", LWS allowed where RFC 3261 allows it. */
export function parseVia(value: string): Via {
  const malformed = (why: string): never => fail(`malformed Via ${describe(value)}: ${why}`);
  let i = skipLws(value, 0);
  const parts: string[] = [];
  for (let part = 0; part < 3; part++) {
    if (part > 0) {
      i = skipLws(value, i);
      if (value.charCodeAt(i) !== 0x2f) malformed('expected protocol/version/transport');
      i = skipLws(value, i + 1);
    }
    const end = readToken(value, i);
    if (end === i) malformed('expected protocol/version/transport');
    parts.push(value.slice(i, end));
    i = end;
  }
  const afterTransport = i;
  i = skipLws(value, i);
  if (i === afterTransport) malformed('expected a space before the host');

  let host: string;
  if (value.charCodeAt(i) === 0x5b) {
    const close = value.indexOf(']', i);
    if (close < 0) malformed('unterminated IPv6 reference');
    host = value.slice(i, close + 1);
    i = close + 1;
  } else {
    const start = i;
    while (i < value.length && hasClass(value.charCodeAt(i), CharClass.HOST)) i++;
    host = value.slice(start, i);
  }
  if (!isValidHost(host)) malformed(`invalid host ${describe(host)}`);

  let port: number | undefined;
  i = skipLws(value, i);
  if (value.charCodeAt(i) === 0x3a) {
    i = skipLws(value, i + 1);
    const start = i;
    while (i < value.length && isDigit(value.charCodeAt(i))) i++;
    port = parseDecimal(value.slice(start, i), MAX_PORT);
    if (port === undefined) malformed('invalid port');
  }

  let params: Map<string, string | null>;
  try {
    params = parseParams(value.slice(i));
  } catch (err) {
    return malformed((err as Error).message);
  }
  const received = params.get('received');
  if (received !== undefined && (received === null || !(isIPv4(received) || isIPv6(received.replace(/^\[(.*)\]$/, '$1'))))) {
    malformed('received is not an IP address');
  }
  const rport = params.get('rport');
  if (rport !== undefined && rport !== null && parseDecimal(rport, MAX_PORT) === undefined) malformed('rport is not a port number');
  const ttl = params.get('ttl');
  if (ttl !== undefined && (ttl === null || parseDecimal(ttl, 255) === undefined)) malformed('ttl is not 0-255');
  if (params.get('branch') === null) malformed('branch without a value');

  const via: Via = { protocol: `${parts[0].toUpperCase()}/${parts[1]}`, transport: parts[2].toUpperCase(), host, params };
  if (port !== undefined) via.port = port;
  return via;
}

export function formatVia(via: Via): string {
  if (!/^[^\s/]+\/[^\s/]+$/.test(via.protocol) || !isToken(via.transport)) throw new TypeError(`invalid Via protocol ${JSON.stringify(`${via.protocol}/${via.transport}`)}`);
  if (!isValidHost(via.host)) throw new TypeError(`invalid Via host ${JSON.stringify(via.host)}`);
  if (via.port !== undefined && (!Number.isInteger(via.port) || via.port < 0 || via.port > MAX_PORT)) throw new TypeError(`invalid Via port ${via.port}`);
  return `${via.protocol}/${via.transport} ${via.host}${via.port === undefined ? '' : `:${via.port}`}${formatParams(via.params)}`;
}

/** "1*DIGIT LWS Method"; the number must fit 32 bits unsigned (RFC 3261 8.1.1.5). */
export function parseCSeq(value: string): { seq: number; method: string } {
  const text = trimLws(value);
  let i = 0;
  while (i < text.length && isDigit(text.charCodeAt(i))) i++;
  const digits = text.slice(0, i);
  const methodStart = skipLws(text, i);
  const method = text.slice(methodStart);
  if (digits.length === 0 || methodStart === i || !isToken(method)) fail(`malformed CSeq: ${describe(text)}`);
  const seq = parseDecimal(digits, 0xffffffff);
  if (seq === undefined) fail(`CSeq number ${describe(digits)} does not fit in 32 bits`);
  return { seq, method };
}

/** A Via branch: the RFC 3261 magic cookie and 96 random bits. */
export function newBranch(): string {
  return BRANCH_MAGIC_COOKIE + randomBytes(12).toString('hex');
}

/** A From/To tag: 64 random bits. */
export function newTag(): string {
  return randomBytes(8).toString('hex');
}

/** A Call-ID: 96 random bits "@" the host (an IP address or host name of this UA). */
export function newCallId(host: string): string {
  const id = randomBytes(12).toString('hex');
  if (host.length === 0) return id;
  for (let i = 0; i < host.length; i++) {
    if (!hasClass(host.charCodeAt(i), CharClass.WORD)) throw new TypeError(`host ${JSON.stringify(host)} cannot be part of a Call-ID`);
  }
  return `${id}@${host}`;
}
