/**
 * A SIP message to bytes. Content-Length is always written from the body actually sent, whatever the
 * headers said: a stale one would desynchronise a TCP stream or make the peer reject a UDP datagram.
 * Start-line fields are checked here because they are plain properties the caller can set to anything;
 * header values were checked when they went into SipHeaders.
 */
import { isToken } from './lexical.js';
import { headerKey, type SipMessage } from './sip-message.js';

const CONTENT_LENGTH = headerKey('Content-Length');

function startLine(message: SipMessage): string {
  if (message.kind === 'request') {
    if (!isToken(message.method)) throw new TypeError(`invalid SIP method ${JSON.stringify(message.method)}`);
    if (message.uri.length === 0 || /[\s<>]/.test(message.uri)) throw new TypeError(`invalid Request-URI ${JSON.stringify(message.uri)}`);
    return `${message.method} ${message.uri} SIP/2.0`;
  }
  if (!Number.isInteger(message.status) || message.status < 100 || message.status > 699) throw new TypeError(`invalid SIP status ${message.status}`);
  if (/[\r\n]/.test(message.reason)) throw new TypeError(`invalid reason phrase ${JSON.stringify(message.reason)}`);
  return `SIP/2.0 ${message.status} ${message.reason}`;
}

export function serializeSipMessage(message: SipMessage): Buffer {
  let head = `${startLine(message)}\r\n`;
  for (const [name, value] of message.headers.entries()) {
    if (headerKey(name) === CONTENT_LENGTH) continue;
    head += `${name}: ${value}\r\n`;
  }
  head += `Content-Length: ${message.body.length}\r\n\r\n`;
  const headBytes = Buffer.from(head, 'utf8');
  return message.body.length === 0 ? headBytes : Buffer.concat([headBytes, message.body]);
}
