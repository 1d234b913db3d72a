/**
 * Twilio's status callbacks: the call progress events an application subscribed to (StatusCallbackEvent:
 * initiated, ringing, answered, completed; completed only by default), each POSTed (or GET) signed to
 * StatusCallback with the call's parameters, the status, `Timestamp`, `CallbackSource` and a
 * `SequenceNumber` counting from 0. Twilio sends them as separate requests; the simulator sends one
 * call's callbacks one after the other, so they also arrive in order.
 */
import type { AppRequester, HttpMethod } from '../app-requests.js';
import type { Clock } from '../../runtime/clock.js';
import { rfc2822 } from './twilio-ids.js';

export const STATUS_CALLBACK_EVENTS = ['initiated', 'ringing', 'answered', 'completed'] as const;
export type StatusCallbackEvent = (typeof STATUS_CALLBACK_EVENTS)[number];

export interface StatusCallbackConfig {
  url: string;
  method: HttpMethod;
  events: ReadonlySet<StatusCallbackEvent>;
}

export class StatusCallbackEventError extends Error {}

/**
 * The events of StatusCallbackEvent fields: each field may hold several names separated by spaces
 * (or commas); no field at all means `completed` only.
 */
export function parseStatusCallbackEvents(fields: readonly string[]): Set<StatusCallbackEvent> {
  const names = fields.flatMap((f) => f.split(/[\s,]+/)).filter(Boolean);
  if (names.length === 0) return new Set(['completed']);
  const events = new Set<StatusCallbackEvent>();
  for (const name of names) {
    const event = STATUS_CALLBACK_EVENTS.find((e) => e === name.toLowerCase());
    if (!event) throw new StatusCallbackEventError(`StatusCallbackEvent "${name}" is not one of ${STATUS_CALLBACK_EVENTS.join(', ')}`);
    events.add(event);
  }
  return events;
}

export class StatusCallbackSender {
  private sequenceNumber = 0;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly config: StatusCallbackConfig | undefined,
    private readonly requester: AppRequester,
    private readonly clock: Clock,
  ) {}

  /** Sends `event` when subscribed (resolves once it was answered or failed); `params` are the call's. */
  send(event: StatusCallbackEvent, params: Record<string, string>): Promise<void> {
    const config = this.config;
    if (!config || !config.events.has(event)) return Promise.resolve();
    const full = {
      ...params,
      Timestamp: rfc2822(this.clock.now()),
      CallbackSource: 'call-progress-events',
      SequenceNumber: String(this.sequenceNumber++),
    };
    const sent = this.queue.then(() => this.requester.notify(config.url, config.method, full));
    this.queue = sent;
    return sent.then(() => undefined);
  }
}
