/**
 * A loopback double of the Dialogflow CX v3 REST `sessions.detectIntent` method:
 * POST /v3/projects/{p}/locations/{l}/agents/{a}[/environments/{e}]/sessions/{s}:detectIntent with
 * `Authorization: Bearer <Google access token>` and a DetectIntentRequest JSON body. It checks the
 * token (through the OAuth double), the agent path and the QueryInput shape, answers Google's error
 * bodies (`{"error":{"code","message","status"}}`) and scripted DetectIntentResponses.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LoopbackDouble, receive, RequestLog } from './fake-vendor-server.js';

export interface DetectIntentRecord {
  project: string;
  location: string;
  agent: string;
  environment?: string;
  sessionId: string;
  authorization?: string;
  /** The DetectIntentRequest as sent. */
  body: {
    queryInput: {
      languageCode: string;
      text?: { text: string };
      event?: { event: string };
      dtmf?: { digits: string; finishDigit?: string };
    };
    queryParams?: { parameters?: Record<string, unknown>; payload?: Record<string, unknown> };
  };
}

/** How the agent answers one query. */
export type AgentReply =
  | { responseMessages: unknown[]; matchType?: string; parameters?: Record<string, unknown> }
  /** A Google API error: status plus google.rpc status name and message. */
  | { error: { code: number; status: string; message: string } }
  /** Any body, for malformed answers. */
  | { raw: string; status?: number; contentType?: string }
  /** No answer until the server closes (deadline tests). */
  | { hang: true }
  /** The connection is dropped without an answer (mid-call disconnect). */
  | { drop: true };

export interface DialogflowCxServerOptions {
  project: string;
  location: string;
  agent: string;
  environment?: string;
  /** Whether a Bearer token is valid for the dialogflow scope (the OAuth double's accepts()). */
  acceptsToken: (token: string) => boolean;
}

const PATH = /^\/v3\/projects\/([^/]+)\/locations\/([^/]+)\/agents\/([^/]+)(?:\/environments\/([^/]+))?\/sessions\/([^/]+):detectIntent$/;
const INPUT_KINDS = ['text', 'intent', 'audio', 'event', 'dtmf', 'toolCallResult'] as const;

export class DialogflowCxServer extends LoopbackDouble {
  private readonly log = new RequestLog<DetectIntentRecord>();
  readonly requests = this.log.entries;
  /** Answers for the next queries, in order; when empty, `agent` decides. */
  readonly replies: AgentReply[] = [];
  /** The default agent: answers every query with nothing to say. */
  agent: (query: DetectIntentRecord) => AgentReply = () => ({ responseMessages: [] });

  constructor(private readonly options: DialogflowCxServerOptions) {
    super();
  }

  /** Queues answers for the next queries. */
  reply(...replies: AgentReply[]): this {
    this.replies.push(...replies);
    return this;
  }

  /** Resolves once `count` well-formed, authorized queries have arrived in total. */
  async waitForRequests(count: number): Promise<void> {
    await this.log.atLeast(count);
  }

  protected override async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { text } = await receive(req);
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const match = PATH.exec(path);
    if (req.method !== 'POST' || !match) {
      googleError(res, 404, 'NOT_FOUND', `The requested URL ${path} was not found on this server.`);
      return;
    }
    const [, project, location, agent, environment, sessionId] = match;
    const authorization = req.headers.authorization;
    const bearer = /^Bearer (.+)$/.exec(authorization ?? '')?.[1];
    if (!bearer) {
      googleError(res, 401, 'UNAUTHENTICATED', 'Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.');
      return;
    }
    if (!this.options.acceptsToken(bearer)) {
      res.setHeader('www-authenticate', 'Bearer realm="https://accounts.google.com/", error="invalid_token"');
      googleError(res, 401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.');
      return;
    }
    const agentName = `projects/${project}/locations/${location}/agents/${agent}`;
    if (project !== this.options.project || agent !== this.options.agent || location !== this.options.location) {
      googleError(res, 404, 'NOT_FOUND', `com.google.apps.framework.request.NotFoundException: Agent '${agent}' does not exist.`);
      return;
    }
    if (environment !== undefined && environment !== this.options.environment) {
      googleError(res, 404, 'NOT_FOUND', `com.google.apps.framework.request.NotFoundException: Environment '${agentName}/environments/${environment}' does not exist.`);
      return;
    }
    if (sessionId.length > 36) {
      googleError(res, 400, 'INVALID_ARGUMENT', `Session id "${sessionId}" is too long: it must not exceed 36 characters.`);
      return;
    }
    if (!/^application\/json/.test(req.headers['content-type'] ?? '')) {
      googleError(res, 400, 'INVALID_ARGUMENT', 'Invalid JSON payload received. Unexpected Content-Type.');
      return;
    }
    let body: DetectIntentRecord['body'];
    try {
      body = JSON.parse(text) as DetectIntentRecord['body'];
    } catch {
      googleError(res, 400, 'INVALID_ARGUMENT', 'Invalid JSON payload received. Unexpected token.');
      return;
    }
    const problem = queryInputProblem(body);
    if (problem) {
      googleError(res, 400, 'INVALID_ARGUMENT', problem);
      return;
    }
    const record: DetectIntentRecord = { project, location, agent, environment, sessionId, authorization, body };
    this.log.add(record);

    const reply = this.replies.shift() ?? this.agent(record);
    if ('hang' in reply) return;
    if ('drop' in reply) {
      req.socket.destroy();
      return;
    }
    if ('error' in reply) {
      googleError(res, reply.error.code, reply.error.status, reply.error.message);
      return;
    }
    if ('raw' in reply) {
      res.writeHead(reply.status ?? 200, { 'content-type': reply.contentType ?? 'application/json; charset=UTF-8' }).end(reply.raw);
      return;
    }
    const input = body.queryInput;
    const queryResult: Record<string, unknown> = {
      languageCode: input.languageCode,
      parameters: reply.parameters,
      responseMessages: reply.responseMessages,
      currentPage: { name: `${agentName}/flows/00000000-0000-0000-0000-000000000000/pages/START_PAGE`, displayName: 'Start Page' },
      match: { matchType: reply.matchType ?? (input.event ? 'EVENT' : 'INTENT'), confidence: 1 },
    };
    if (input.text) queryResult.text = input.text.text;
    if (input.event) queryResult.triggerEvent = input.event.event;
    if (input.dtmf) queryResult.dtmf = input.dtmf;
    res.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' }).end(JSON.stringify({ responseId: randomUUID(), queryResult, responseType: 'FINAL' }));
  }
}

function queryInputProblem(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return 'Invalid JSON payload received. Expected an object.';
  const q = (body as { queryInput?: Record<string, unknown> }).queryInput;
  if (typeof q !== 'object' || q === null) return 'Field [query_input] is required.';
  if (typeof q.languageCode !== 'string' || !q.languageCode) return 'Field [query_input.language_code] is required.';
  const kinds = INPUT_KINDS.filter((k) => q[k] !== undefined);
  if (kinds.length !== 1) return `Exactly one of text, intent, audio, event, dtmf or toolCallResult must be set in query_input; got ${kinds.join(', ') || 'none'}.`;
  const unknown = Object.keys(q).filter((k) => k !== 'languageCode' && !INPUT_KINDS.includes(k as (typeof INPUT_KINDS)[number]));
  if (unknown.length) return `Invalid JSON payload received. Unknown name "${unknown[0]}" at 'query_input': Cannot find field.`;
  const text = q.text as { text?: unknown } | undefined;
  if (text && (typeof text.text !== 'string' || !text.text)) return 'Field [query_input.text.text] is required.';
  const event = q.event as { event?: unknown } | undefined;
  if (event && (typeof event.event !== 'string' || !event.event)) return 'Field [query_input.event.event] is required.';
  const dtmf = q.dtmf as { digits?: unknown; finishDigit?: unknown } | undefined;
  if (dtmf && (typeof dtmf.digits !== 'string' || (dtmf.finishDigit !== undefined && typeof dtmf.finishDigit !== 'string'))) return 'Invalid value at \'query_input.dtmf\'.';
  const params = (body as { queryParams?: unknown }).queryParams;
  if (params !== undefined && (typeof params !== 'object' || params === null || Array.isArray(params))) return "Invalid value at 'query_params'.";
  return undefined;
}

function googleError(res: ServerResponse, code: number, status: string, message: string): void {
  res.writeHead(code, { 'content-type': 'application/json; charset=UTF-8' }).end(JSON.stringify({ error: { code, message, status } }, null, 2));
}

/** A ResponseMessage with text, as the CX console's "Agent says" fulfillment produces. */
export function cxText(...variants: string[]): { text: { text: string[] } } {
  return { text: { text: variants } };
}
