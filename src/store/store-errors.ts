/**
 * Tells a store that cannot write right now (disk full, I/O error, lock, lost connection) from a
 * write the store refused on its merits (a constraint, a bad value). The first kind is worth
 * retrying, since the same write succeeds once space or the connection returns; the second fails
 * the same way every time, so retrying it would only block what comes after it.
 */
import { StoreInputError } from './input-checks.js';

/** SQLite result codes (better-sqlite3's `code`, extended codes included) that say the store, not the row, is the problem. */
const SQLITE_UNAVAILABLE = /^SQLITE_(FULL|IOERR|BUSY|LOCKED|READONLY|CANTOPEN|NOMEM|PROTOCOL|NOLFS|INTERRUPT)(_|$)/;

/**
 * PostgreSQL SQLSTATE classes for the same: 08 connection exception, 53 insufficient resources
 * (disk full, out of memory, too many connections), 57 operator intervention (shutdown, cancel),
 * 58 system error (I/O), 40 transaction rollback (serialization failure, deadlock).
 */
const PG_UNAVAILABLE_CLASSES = new Set(['08', '53', '57', '58', '40']);

/** Socket-level failures on the way to a database server. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOSPC', 'EIO']);

/** Driver messages (no code) for a connection that is gone or never came. */
const UNAVAILABLE_MESSAGES = [/connection terminated/i, /timeout exceeded when trying to connect/i, /driver has already been destroyed/i, /connection is not open/i, /database connection is not open/i, /client has encountered a connection error/i];

/** True when the write should be kept and retried: the store could not take it, through no fault of its own. */
export function isStoreUnavailable(err: unknown): boolean {
  if (err instanceof StoreInputError) return false;
  if (err instanceof AggregateError) return err.errors.some(isStoreUnavailable);
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code)) return true;
    if (code.startsWith('SQLITE_')) return SQLITE_UNAVAILABLE.test(code);
    if (/^[0-9A-Z]{5}$/.test(code)) return PG_UNAVAILABLE_CLASSES.has(code.slice(0, 2));
  }
  return UNAVAILABLE_MESSAGES.some((pattern) => pattern.test(err.message));
}

/** A short description for logs, readiness and alarms: the code (when there is one) and the message. */
export function storeErrorText(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return err.errors.map(storeErrorText).join('; ');
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: unknown }).code;
  const message = err.message || err.name;
  return typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
}
