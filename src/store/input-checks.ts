/** Checks on values handed to the repositories, so a bad write names the field instead of failing deep in SQL. */

export class StoreInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreInputError';
  }
}

export function requireText(record: string, field: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new StoreInputError(`${record}: ${field} must be a non-empty string, got ${describe(value)}`);
  }
  return value;
}

export function requireString(record: string, field: string, value: unknown): string {
  if (typeof value !== 'string') {
    throw new StoreInputError(`${record}: ${field} must be a string, got ${describe(value)}`);
  }
  return value;
}

export function requireEpochMs(record: string, field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(Math.round(value)) || value < 0) {
    throw new StoreInputError(`${record}: ${field} must be a time in epoch milliseconds, got ${describe(value)}`);
  }
  return Math.round(value);
}

export function requireOneOf<T extends string>(record: string, field: string, value: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) {
    throw new StoreInputError(`${record}: ${field} must be one of ${allowed.join(', ')}, got ${describe(value)}`);
  }
  return value as T;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  return typeof value;
}
