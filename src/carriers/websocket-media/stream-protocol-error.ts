/** A stream message that does not match its carrier's protocol; `field` names the offending field. */
export class StreamProtocolError extends Error {
  override readonly name: string = 'StreamProtocolError';
  constructor(
    /** "Plivo", "Twilio": whose protocol was broken. */
    readonly carrierLabel: string,
    readonly field: string,
    readonly expected: string,
    readonly got?: string,
  ) {
    super(`${carrierLabel} stream message: "${field}" ${got === undefined ? 'is missing' : `is ${got}`}, expected ${expected}`);
  }
}

/** How a value that broke the protocol is named in an error: short, and never the whole payload. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return value.length > 40 ? `the string "${value.slice(0, 40)}..."` : `the string "${value}"`;
  return `a ${typeof value}`;
}

/** Parses a text frame as a JSON object, or throws naming what it was instead. */
export function parseJsonObject(text: string, error: (field: string, expected: string, got?: string) => StreamProtocolError): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw error('(message)', 'a JSON object', `not JSON (${text.length} chars starting ${JSON.stringify(text.slice(0, 20))})`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw error('(message)', 'a JSON object', describeValue(raw));
  return raw as Record<string, unknown>;
}
