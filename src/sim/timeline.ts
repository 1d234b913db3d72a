/**
 * Timeline of one simulated call (Plivo or Twilio), for the demo to print and tests to assert on. Times
 * are ms since the call started. `xml` events are the verbs executed (Plivo XML or TwiML); a `checkpoint`
 * is a stream marker acknowledged once played (Plivo checkpoint, Twilio mark); a hangup's `cause` and
 * `causeCode` are Plivo's cause name and code, or for Twilio what ended the call and the SIP response code.
 */
export type TimelineEvent =
  | { type: 'ringing'; atMs: number; to: string }
  | { type: 'answered'; atMs: number }
  | { type: 'xml'; atMs: number; verb: string; detail?: string }
  | { type: 'stream-start'; atMs: number; streamId: string; url: string; contentType: string }
  | { type: 'stream-stop'; atMs: number; streamId: string; reason: string }
  | { type: 'heard-audio-start'; atMs: number; source: string }
  | { type: 'heard-audio-stop'; atMs: number; source: string; durationMs: number }
  | { type: 'key'; atMs: number; digit: string; consumed: boolean }
  | { type: 'dtmf-heard'; atMs: number; digits: string; source: string }
  | { type: 'checkpoint'; atMs: number; streamId: string; name: string }
  | { type: 'cleared'; atMs: number; streamId: string; droppedMs: number }
  | { type: 'dial'; atMs: number; status: string; number?: string }
  | { type: 'sip-headers'; atMs: number; uri: string; headers: Record<string, string> }
  | { type: 'machine-detection'; atMs: number; machine: boolean; answeredBy?: string }
  | { type: 'application-error'; atMs: number; code: number; message: string }
  | { type: 'warning'; atMs: number; message: string }
  | { type: 'hangup'; atMs: number; cause: string; causeCode: number; source: string };

export type TimelineEventType = TimelineEvent['type'];
/** An event as recorded by callers: the call stamps `atMs`. */
export type TimelineEventInput = TimelineEvent extends infer E ? (E extends TimelineEvent ? Omit<E, 'atMs'> : never) : never;

/** Formats an event as one line, e.g. `  1.240s  checkpoint  stream=... name=greeting`. */
export function formatTimelineEvent(ev: TimelineEvent): string {
  const { type, atMs, ...rest } = ev;
  const fields = Object.entries(rest)
    .map(([k, v]) => `${k}=${typeof v === 'string' || (typeof v === 'object' && v !== null) ? JSON.stringify(v) : String(v)}`)
    .join(' ');
  return `${(atMs / 1000).toFixed(3).padStart(8)}s  ${type.padEnd(18)} ${fields}`;
}
