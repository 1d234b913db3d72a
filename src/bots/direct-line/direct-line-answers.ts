/** Checks of the Direct Line answers that carry the conversation and its token. */
import { DirectLineError } from './direct-line-http.js';

export interface ConversationAnswer {
  conversationId: string;
  token?: string;
  expiresIn?: number;
  streamUrl?: string;
}

export interface TokenAnswer {
  token: string;
  expiresIn?: number;
}

/** POST /conversations (201 new, 200 existing) and GET /conversations/{id}: `{conversationId, token, expires_in, streamUrl}`. */
export function parseConversationAnswer(body: unknown, operation: string): ConversationAnswer {
  const o = record(body, operation);
  const conversationId = o.conversationId;
  if (typeof conversationId !== 'string' || !conversationId) throw malformed(operation, `"conversationId" is ${describe(conversationId)}`);
  const token = optionalString(o.token, 'token', operation);
  const streamUrl = optionalString(o.streamUrl, 'streamUrl', operation);
  if (streamUrl !== undefined && !/^wss?:\/\//i.test(streamUrl)) throw malformed(operation, `"streamUrl" is not a ws:// or wss:// URL`);
  return { conversationId, token, streamUrl, expiresIn: expiresIn(o.expires_in, operation) };
}

/** POST /tokens/generate and /tokens/refresh: `{conversationId, token, expires_in}`. */
export function parseTokenAnswer(body: unknown, operation: string): TokenAnswer {
  const o = record(body, operation);
  if (typeof o.token !== 'string' || !o.token) throw malformed(operation, `"token" is ${describe(o.token)}`);
  return { token: o.token, expiresIn: expiresIn(o.expires_in, operation) };
}

function expiresIn(v: unknown, operation: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw malformed(operation, `"expires_in" must be a positive number of seconds, got ${describe(v)}`);
  return v;
}

function optionalString(v: unknown, field: string, operation: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw malformed(operation, `"${field}" must be a string, got ${describe(v)}`);
  return v;
}

function record(body: unknown, operation: string): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw malformed(operation, `expected a JSON object, got ${describe(body)}`);
  return body as Record<string, unknown>;
}

function malformed(operation: string, problem: string): DirectLineError {
  return new DirectLineError('malformed', `Direct Line ${operation} answer is malformed: ${problem}`);
}

function describe(v: unknown): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'string' ? JSON.stringify(v.slice(0, 40)) : `${typeof v} ${String(v).slice(0, 20)}`;
}
