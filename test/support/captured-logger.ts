/**
 * A logger whose lines a test can read: a pino logger at level debug writing each JSON line,
 * parsed, into `lines`. In a file of its own so a test that only looks at logs does not load the
 * store fixtures (and PostgreSQL) with it.
 */
import { pino } from 'pino';
import type { Logger } from '../../src/logger.js';

/** One log line as pino wrote it. */
export interface CapturedLog {
  level: number;
  msg: string;
  callId?: string;
  event?: string;
  err?: { message: string };
  [key: string]: unknown;
}

/** pino's numeric levels, for filtering `lines`. */
export const LOG_WARN = 40;
export const LOG_ERROR = 50;

/** A pino logger (level debug) whose JSON lines land in `lines`. */
export function captureLogger(): { logger: Logger; lines: CapturedLog[] } {
  const lines: CapturedLog[] = [];
  // pino writes one whole line per write() to a plain object destination, synchronously.
  const destination = { write: (chunk: string) => void lines.push(JSON.parse(chunk) as CapturedLog) };
  return { logger: pino({ level: 'debug' }, destination), lines };
}
