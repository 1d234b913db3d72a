/**
 * A Rasa bot over Rasa's REST channel (`rest:` in credentials.yml): every caller turn is one
 * `POST {url}/webhooks/rest/webhook` with `{sender: <call id>, message, metadata?}` and Rasa's
 * answer (an array of bot messages) becomes the bot's activities.
 *
 * The REST channel has no conversation lifecycle: the call starts with a configurable message
 * (default the intent trigger `/greet`) whose metadata carries the call's parameters, and ends, if
 * configured, with one more message. Errors (unreachable, non-2xx, timeout, malformed answer) become
 * a `failure` event; start/send/end never throw.
 */
import type { Activity } from '../activity.js';
import type { BotConnector, BotConversationInfo, BotDisconnectReason } from '../connector.js';
import { SerializedRequestConnector } from '../serialized-requests.js';
import { silentLogger, type Logger } from '../../logger.js';
import { systemClock, type Clock } from '../../runtime/clock.js';
import { postRasaMessage, RasaError, rasaWebhookUrl, type RasaEndpoint, type RasaUserMessage } from './rasa-http.js';
import { rasaAnswerActivities, RasaAnswerError } from './rasa-messages.js';

export interface RasaConnectorOptions {
  /** The bot's name in the config; reported as `botName`. */
  name: string;
  /** The Rasa server, e.g. http://rasa:5005 (a path prefix behind a proxy is kept). */
  url: string;
  /** The input channel's name: `rest`, or a custom channel derived from RestInput. Default `rest`. */
  channel?: string;
  /** Sent as the `token` query parameter (Rasa's `--auth-token` convention). */
  token?: string;
  /** Sent as `Authorization: Bearer` (a JWT when Rasa runs with `--jwt-secret`). */
  bearerToken?: string;
  /** First message of the call. Default `/greet`. */
  startMessage?: string;
  /** Message for caller DTMF; `${digits}` is replaced by the digits. Default `${digits}`. */
  dtmfTemplate?: string;
  /** Gateway event name -> message (`${value}` replaced by the event's value); other events are not sent. */
  eventMessages?: Record<string, string>;
  /** Sent when the call ends (`${reasonCode}` / `${reason}` replaced); nothing is sent when absent. */
  endMessage?: string;
  /** Longest wait for Rasa's answer to one message. Default 10000. */
  requestTimeoutMs?: number;
  logger?: Logger;
  clock?: Clock;
}

export const DEFAULT_RASA_START_MESSAGE = '/greet';
export const DEFAULT_RASA_DTMF_TEMPLATE = '${digits}';
const DEFAULT_TIMEOUT_MS = 10_000;

interface Turn {
  /** For logs and error messages: start, text, dtmf, event noUserInput, end. */
  label: string;
  body: RasaUserMessage;
}

function fillTemplate(template: string, values: Record<string, string>): string {
  return template.replace(/\$\{(\w+)\}/g, (whole, key: string) => values[key] ?? whole);
}

function valueText(value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

export class RasaConnector extends SerializedRequestConnector implements BotConnector {
  readonly botName: string;
  /** The call reports barge-in cuts only to bots that want them: here, when a message is configured for them. */
  readonly wantsPromptInterruptions: boolean;
  private readonly endpoint: RasaEndpoint;
  private readonly startMessage: string;
  private readonly dtmfTemplate: string;
  private readonly eventMessages: Record<string, string>;
  private readonly endMessage?: string;
  private readonly clock: Clock;
  private sender?: string;
  private endPromise?: Promise<void>;

  constructor(options: RasaConnectorOptions) {
    // One message at a time: Rasa handles a sender's messages in order, and so must the caller's turns reach it.
    super((options.logger ?? silentLogger()).child({ bot: options.name, botKind: 'rasa' }), { failureLog: 'Rasa bot failure' });
    this.botName = options.name;
    let webhookUrl: string;
    try {
      if (!/^https?:$/.test(new URL(options.url).protocol)) throw new Error('not http(s)');
      webhookUrl = rasaWebhookUrl(options.url, options.channel ?? 'rest');
    } catch {
      throw new Error(`Rasa bot "${options.name}": url ${JSON.stringify(options.url)} is not an absolute http(s) URL of the Rasa server`);
    }
    // fetch refuses URLs with user:password, and the URL appears in logs: credentials belong in token/bearerToken.
    const parsed = new URL(options.url);
    if (parsed.username || parsed.password) throw new Error(`Rasa bot "${options.name}": url must not contain credentials; use token or bearerToken`);
    this.endpoint = { webhookUrl, token: options.token || undefined, bearerToken: options.bearerToken || undefined, timeoutMs: options.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS };
    this.startMessage = options.startMessage ?? DEFAULT_RASA_START_MESSAGE;
    this.dtmfTemplate = options.dtmfTemplate ?? DEFAULT_RASA_DTMF_TEMPLATE;
    this.eventMessages = options.eventMessages ?? {};
    this.wantsPromptInterruptions = Object.hasOwn(this.eventMessages, 'promptInterrupted');
    this.endMessage = options.endMessage;
    this.clock = options.clock ?? systemClock;
  }

  /** The Rasa sender id (the call id), once started. */
  get conversationId(): string | undefined {
    return this.sender;
  }

  async start(info: BotConversationInfo): Promise<void> {
    if (this.sender !== undefined) {
      this.fail(new Error(`Rasa bot "${this.botName}": start() called twice for call ${this.sender}`));
      return;
    }
    if (this.endPromise) return; // ended before it started: nothing to open
    this.sender = info.conversationId;
    this.log = this.log.child({ sender: info.conversationId });
    // Rasa copies the first message's metadata into session_started, where the domain's action_session_start reads it.
    const metadata: Record<string, unknown> = {
      caller: info.caller,
      callee: info.callee,
      callerHost: info.callerHost,
      calleeHost: info.calleeHost,
      callerDisplayName: info.callerDisplayName,
      direction: info.direction,
      vaigConversationId: info.conversationId,
      ...info.parameters,
    };
    for (const key of Object.keys(metadata)) if (metadata[key] === undefined) delete metadata[key];
    await this.enqueueTurn({ label: 'start', body: { sender: info.conversationId, message: this.startMessage, metadata } });
  }

  async send(activity: Activity): Promise<void> {
    if (this.endPromise || this.sender === undefined) {
      this.log.debug({ activityId: activity.id }, this.endPromise ? 'activity after end not sent to Rasa' : 'activity before start not sent to Rasa');
      return;
    }
    const turn = this.turnFor(activity, this.sender);
    if (!turn) {
      this.log.debug({ type: activity.type, name: activity.name }, 'activity has no Rasa message configured; not sent');
      return;
    }
    await this.enqueueTurn(turn);
  }

  end(reasonCode: BotDisconnectReason, reason?: string): Promise<void> {
    this.endPromise ??= this.finish(reasonCode, reason);
    return this.endPromise;
  }

  private async finish(reasonCode: BotDisconnectReason, reason?: string): Promise<void> {
    this.stop();
    if (this.sender === undefined || this.endMessage === undefined) return;
    const message = fillTemplate(this.endMessage, { reasonCode, reason: reason ?? reasonCode });
    const body: RasaUserMessage = { sender: this.sender, message, metadata: { reasonCode, reason: reason ?? reasonCode } };
    await this.enqueueLast(async () => {
      try {
        // Its answer has no call to play on.
        await postRasaMessage(this.endpoint, body, this.describe('end'), this.clock);
      } catch (err) {
        this.log.warn({ err }, 'Rasa did not take the end-of-call message');
      }
    });
  }

  private turnFor(activity: Activity, sender: string): Turn | undefined {
    if (activity.type === 'message') {
      if (typeof activity.text !== 'string' || !activity.text.trim()) return undefined;
      const params = activity.parameters;
      return { label: 'text', body: params && Object.keys(params).length ? { sender, message: activity.text, metadata: params } : { sender, message: activity.text } };
    }
    if (activity.name === 'DTMF') {
      // Only keypad characters: the digits may land inside an intent's JSON entities.
      const digits = valueText(activity.value).replace(/[^0-9*#A-Da-d]/g, '');
      if (!digits) return undefined;
      return { label: 'dtmf', body: { sender, message: fillTemplate(this.dtmfTemplate, { digits }) } };
    }
    const template = activity.name === undefined ? undefined : this.eventMessages[activity.name];
    if (template === undefined) return undefined;
    return {
      label: `event ${activity.name}`,
      body: { sender, message: fillTemplate(template, { value: valueText(activity.value) }), metadata: { event: activity.name, value: activity.value ?? null } },
    };
  }

  private describe(label: string): string {
    return `Rasa bot "${this.botName}": POST ${this.endpoint.webhookUrl} (${label})`;
  }

  private enqueueTurn(turn: Turn): Promise<void> {
    const what = this.describe(turn.label);
    return this.enqueue({
      send: (signal) => postRasaMessage(this.endpoint, turn.body, what, this.clock, signal),
      accept: (answer) => {
        let activities: Activity[];
        try {
          activities = rasaAnswerActivities(answer, this.clock.now(), this.log);
        } catch (err) {
          const detail = err instanceof RasaAnswerError ? err.message : String(err);
          this.fail(new RasaError('malformed', `${what} answered with something that is not Rasa's list of bot messages: ${detail}`, 200, undefined, { cause: err }));
          return;
        }
        if (activities.length) this.emitActivities(activities);
      },
    });
  }
}
