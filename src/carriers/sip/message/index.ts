/**
 * The SIP message layer in one import: parsing, serializing, header grammar, stream framing, response
 * building and digest authentication. The transaction and dialog layers build on these and nothing here
 * knows about sockets or timers.
 */
export * from './sip-message.js';
export * from './parser.js';
export * from './serializer.js';
export * from './headers.js';
export * from './stream-framer.js';
export * from './responses.js';
export * from './digest.js';
