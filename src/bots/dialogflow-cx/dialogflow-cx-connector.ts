/**
 * A Dialogflow CX agent as a Voxgate bot, over the REST `sessions.detectIntent` method (v3). Every
 * gateway activity is one detectIntent on the call's session: the start event (with the caller and
 * callee as session parameters and payload), caller text, DTMF, and no-input; the agent's
 * `responseMessages` come back as activities in the answer.
 *
 * CX has no call to close a session (it expires after its TTL, 30 min idle by default), so end()
 * only stops: in-flight requests are aborted and later activities are dropped.
 *
 * Errors (token, HTTP status, deadline, malformed answer) become a `failure` event; start/send/end
 * never throw.
 */
import { createHash } from 'node:crypto';
import type { Activity } from '../activity.js';
import type { BotConnector, BotConversationInfo, BotDisconnectReason } from '../connector.js';
import { SerializedRequestConnector } from '../serialized-requests.js';
import { systemClock, type Clock } from '../../runtime/clock.js';
import { silentLogger, type Logger } from '../../logger.js';
import { DialogflowCxError, postDetectIntent } from './dialogflow-cx-http.js';
import { activitiesFromResponseMessages, parseDetectIntentAnswer } from './dialogflow-cx-messages.js';

export const DIALOGFLOW_SCOPE = 'https://www.googleapis.com/auth/dialogflow';

export interface DialogflowCxConnectorOptions {
  /** The bot's name in the config; reported as `botName`. */
  name: string;
  project: string;
  /** `global` or a region such as `europe-west2`; selects the regional endpoint. */
  location: string;
  agent: string;
  /** Environment id (a published agent version); the draft agent when absent. */
  environment?: string;
  /** A Google OAuth access token with the dialogflow (or cloud-platform) scope. */
  getAccessToken: () => Promise<string>;
  /** Called with a token that CX refused (401), so the next getAccessToken() fetches a new one. */
  invalidateAccessToken?: (token: string) => void;
  /** QueryInput.languageCode when the activity has no language of its own. Default `en`. */
  languageCode?: string;
  /** The custom event sent at call start. Default `welcome`. */
  startEvent?: string;
  /** The event sent when the caller says nothing (gateway `noUserInput`). Default `sys.no-input-default`. */
  noInputEvent?: string;
  /** Transfer target of a liveAgentHandoff whose metadata has no `transferTarget`. */
  defaultTransferTarget?: string;
  /** API root; default https://{location}-dialogflow.googleapis.com (global: https://dialogflow.googleapis.com). */
  baseUrl?: string;
  /** Per detectIntent. Default 10000. */
  requestTimeoutMs?: number;
  logger?: Logger;
  clock?: Clock;
}

/** Session ids are at most 36 characters (sessions.detectIntent reference). */
const MAX_SESSION_ID = 36;
const DEFAULT_TIMEOUT_MS = 10_000;

type QueryInput = { text: { text: string } } | { event: { event: string } } | { dtmf: { digits: string; finishDigit?: string } };

interface Query {
  input: QueryInput;
  languageCode?: string;
  queryParams?: { parameters?: Record<string, unknown>; payload?: Record<string, unknown> };
  what: string;
}

/** The regional REST endpoint for a CX location. */
export function dialogflowCxBaseUrl(location: string): string {
  return location === 'global' ? 'https://dialogflow.googleapis.com' : `https://${location}-dialogflow.googleapis.com`;
}

/** The call id when it fits CX's session id rules, else a stable hash of it. */
export function dialogflowCxSessionId(conversationId: string): string {
  if (/^[A-Za-z0-9_-]{1,36}$/.test(conversationId)) return conversationId;
  return createHash('sha256').update(conversationId).digest('hex').slice(0, MAX_SESSION_ID);
}

/** CX parameter ids hold letters, digits, `_` and `-`; SIP header names may carry dots and more. */
function sessionParameterNames(parameters: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(parameters ?? {})) out[name.replace(/[^A-Za-z0-9_-]/g, '_')] = value;
  return out;
}

export class DialogflowCxConnector extends SerializedRequestConnector implements BotConnector {
  readonly botName: string;
  readonly wantsPromptInterruptions = false;
  private readonly agentPath: string;
  private readonly baseUrl: string;
  private readonly languageCode: string;
  private readonly startEvent: string;
  private readonly noInputEvent: string;
  private readonly defaultTransferTarget?: string;
  private readonly timeoutMs: number;
  private readonly getAccessToken: () => Promise<string>;
  private readonly invalidateAccessToken?: (token: string) => void;
  private readonly clock: Clock;
  private sessionUrl?: string;
  private cxSessionId?: string;

  constructor(options: DialogflowCxConnectorOptions) {
    // Queries queued behind a failed one are pointless: the call applies its failure policy.
    super((options.logger ?? silentLogger()).child({ bot: options.name, botKind: 'dialogflow-cx' }), { failureLog: 'Dialogflow CX bot failure', stopAfterFailure: true });
    this.botName = options.name;
    const environment = options.environment ? `/environments/${encodeURIComponent(options.environment)}` : '';
    this.agentPath = `projects/${encodeURIComponent(options.project)}/locations/${encodeURIComponent(options.location)}/agents/${encodeURIComponent(options.agent)}${environment}`;
    this.baseUrl = (options.baseUrl ?? dialogflowCxBaseUrl(options.location)).replace(/\/+$/, '');
    this.languageCode = options.languageCode ?? 'en';
    this.startEvent = options.startEvent ?? 'welcome';
    this.noInputEvent = options.noInputEvent ?? 'sys.no-input-default';
    this.defaultTransferTarget = options.defaultTransferTarget;
    this.timeoutMs = options.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.getAccessToken = options.getAccessToken;
    this.invalidateAccessToken = options.invalidateAccessToken;
    this.clock = options.clock ?? systemClock;
  }

  /** The CX session id of this call, once started. */
  get sessionId(): string | undefined {
    return this.cxSessionId;
  }

  async start(info: BotConversationInfo): Promise<void> {
    if (this.sessionUrl !== undefined) {
      this.fail(new Error(`dialogflow-cx bot "${this.botName}": start() called twice`));
      return;
    }
    const sessionId = dialogflowCxSessionId(info.conversationId);
    this.cxSessionId = sessionId;
    this.sessionUrl = `${this.baseUrl}/v3/${this.agentPath}/sessions/${sessionId}:detectIntent`;
    this.log = this.log.child({ cxSession: sessionId });
    if (!URL.canParse(this.sessionUrl)) {
      this.fail(new DialogflowCxError('config', `dialogflow-cx bot "${this.botName}": ${JSON.stringify(this.sessionUrl)} is not a valid URL (check baseUrl)`));
      return;
    }
    const call: Record<string, unknown> = {
      caller: info.caller,
      callee: info.callee,
      direction: info.direction,
      vaigConversationId: info.conversationId,
    };
    for (const key of ['callerHost', 'calleeHost', 'callerDisplayName'] as const) if (info[key] !== undefined) call[key] = info[key];
    // Session parameters are what flows and conditions read ($session.params.caller); the payload is what webhooks see.
    await this.enqueueQuery({
      input: { event: { event: this.startEvent } },
      queryParams: { parameters: { ...sessionParameterNames(info.parameters), ...call }, payload: { ...call, parameters: info.parameters ?? {} } },
      what: `event ${this.startEvent}`,
    });
  }

  async send(activity: Activity): Promise<void> {
    if (this.hasEnded || this.sessionUrl === undefined) {
      this.log.debug({ activityId: activity.id }, this.hasEnded ? 'activity after end not sent to Dialogflow CX' : 'activity before start not sent to Dialogflow CX');
      return;
    }
    const query = this.queryFor(activity);
    if (!query) {
      this.log.debug({ type: activity.type, name: activity.name }, 'activity has no Dialogflow CX equivalent; not sent');
      return;
    }
    await this.enqueueQuery(query);
  }

  /** CX sessions cannot be closed: they expire on their own. Ending only stops this connector. */
  async end(reasonCode: BotDisconnectReason, reason?: string): Promise<void> {
    if (this.hasEnded) return;
    this.stop();
    this.log.debug({ reasonCode, reason }, 'Dialogflow CX conversation ended (the session expires on its own)');
  }

  private queryFor(a: Activity): Query | undefined {
    const languageCode = a.language;
    if (a.type === 'message') {
      if (typeof a.text !== 'string' || !a.text.trim()) return undefined;
      return { input: { text: { text: a.text } }, languageCode, what: 'text' };
    }
    if (a.name === 'DTMF') {
      const raw = String(a.value ?? '').replace(/[^0-9*#]/g, '');
      if (!raw) return undefined;
      // A trailing # ends the entry: CX takes it as finishDigit, not as part of the digits.
      const dtmf = raw.length > 1 && raw.endsWith('#') ? { digits: raw.slice(0, -1), finishDigit: '#' } : { digits: raw };
      return { input: { dtmf }, languageCode, what: 'dtmf' };
    }
    if (a.name === 'noUserInput') return { input: { event: { event: this.noInputEvent } }, languageCode, what: `event ${this.noInputEvent}` };
    if (a.name === 'promptInterrupted' || !a.name) return undefined;
    // Other gateway events reach the bot only when listed in sendEventsToBot: they become CX custom events.
    const payload = a.value !== undefined ? { value: a.value } : undefined;
    return { input: { event: { event: a.name } }, languageCode, queryParams: payload && { payload }, what: `event ${a.name}` };
  }

  private enqueueQuery(query: Query): Promise<void> {
    const what = `Dialogflow CX detectIntent (${query.what}) for agent ${this.agentPath}`;
    const body: Record<string, unknown> = { queryInput: { ...query.input, languageCode: query.languageCode ?? this.languageCode } };
    if (query.queryParams) body.queryParams = query.queryParams;
    return this.enqueue({ send: (signal) => this.detectIntent(body, what, signal), accept: (answer) => this.accept(answer, what) });
  }

  private accept(answer: unknown, what: string): void {
    try {
      const parsed = parseDetectIntentAnswer(answer, what);
      const mapped = activitiesFromResponseMessages(parsed.responseMessages, { now: this.clock.now(), defaultTransferTarget: this.defaultTransferTarget });
      if (mapped.skipped.length) this.log.warn({ skipped: mapped.skipped }, 'Dialogflow CX response messages skipped');
      this.log.debug({ matchType: parsed.matchType, activities: mapped.activities.length }, 'Dialogflow CX answered');
      if (mapped.activities.length) this.emitActivities(mapped.activities);
      if (mapped.error) this.fail(new DialogflowCxError(mapped.error.kind, `${what}: ${mapped.error.message}`));
    } catch (err) {
      this.fail(err as Error);
    }
  }

  /** One detectIntent; a 401 is retried once with a fresh token (a revoked or rotated key). */
  private async detectIntent(body: unknown, what: string, signal: AbortSignal): Promise<unknown> {
    for (let attempt = 0; ; attempt++) {
      const accessToken = await this.accessToken(what);
      try {
        return await postDetectIntent({ url: this.sessionUrl!, accessToken, body, what, timeoutMs: this.timeoutMs, clock: this.clock, signal });
      } catch (err) {
        const e = err as DialogflowCxError;
        if (e.status !== 401 || attempt > 0 || !this.invalidateAccessToken || this.hasEnded) throw e;
        this.log.warn({ problem: e.message }, 'Dialogflow CX refused the access token; retrying with a new one');
        this.invalidateAccessToken(accessToken);
      }
    }
  }

  private async accessToken(what: string): Promise<string> {
    try {
      return await this.getAccessToken();
    } catch (err) {
      throw new DialogflowCxError('auth', `${what}: no Google access token: ${(err as Error).message}`, undefined, undefined, { cause: err });
    }
  }
}
