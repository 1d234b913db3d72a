/**
 * How a conversation opens: the start parameters the bot gets (caller, callee, mapped carrier/SIP
 * headers), the initial activity (the connector's default `start`, none, or a configured override),
 * and the call attributes `${...}` placeholders may name.
 */
import { randomUUID } from 'node:crypto';
import type { Activity } from '../bots/activity.js';
import type { BotConversationInfo } from '../bots/connector.js';
import type { CallInfo } from '../carriers/leg.js';
import { resolvePlaceholders } from '../runtime/placeholders.js';
import type { CallSettings } from './settings.js';

/** The values `${name}` placeholders may use: call attributes plus every carrier extra (X-PH-* headers...). */
export function callAttributes(info: CallInfo): Record<string, string | undefined> {
  return { conversationId: info.callId, caller: info.from, callee: info.to, callerDisplayName: info.callerDisplayName, carrier: info.carrier, carrierCallId: info.carrierCallId, direction: info.direction, ...info.extra };
}

/**
 * The carrier extras passed to the bot in the start activity: all of them when `sipHeadersToBot` is
 * empty, else only the listed headers (matched case-insensitively, since SIP header names are).
 */
export function startParameters(info: CallInfo, settings: CallSettings): Record<string, string> {
  const extra = info.extra ?? {};
  if (settings.sipHeadersToBot.length === 0) return { ...extra };
  const byLower = new Map(Object.entries(extra).map(([k, v]) => [k.toLowerCase(), v]));
  const out: Record<string, string> = {};
  for (const name of settings.sipHeadersToBot) {
    const value = byLower.get(name.toLowerCase());
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/**
 * The initial activity to send instead of the connector's default start: undefined = the default,
 * null = none. An override's string values may hold placeholders; throws PlaceholderError naming an
 * unknown one.
 */
export function initialActivityOverride(info: CallInfo, settings: CallSettings, now: number): Activity | null | undefined {
  const setting = settings.initialActivity;
  if (setting === 'start') return undefined;
  if (setting === 'none') return null;
  const values = callAttributes(info);
  const resolved = resolveDeep(setting, values) as Record<string, unknown>;
  const type = resolved.type === 'message' ? 'message' : 'event';
  return {
    ...resolved,
    id: randomUUID(),
    timestamp: new Date(now).toISOString(),
    type,
    ...(type === 'event' && typeof resolved.name !== 'string' ? { name: 'start' } : {}),
  } as Activity;
}

function resolveDeep(value: unknown, values: Record<string, string | undefined>): unknown {
  if (typeof value === 'string') return resolvePlaceholders(value, values, 'initialActivity');
  if (Array.isArray(value)) return value.map((v) => resolveDeep(v, values));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveDeep(v, values)]));
  return value;
}

/** What the bot connector is started with. Throws PlaceholderError when an override names an unknown value. */
export function botConversationInfo(info: CallInfo, settings: CallSettings, now: number): BotConversationInfo {
  const parameters: Record<string, unknown> = startParameters(info, settings);
  let prelude: Activity[] | undefined;
  if (info.outbound) {
    parameters.outboundTarget = info.outbound.target;
    if (info.outbound.metadata) parameters.dialoutMetadata = info.outbound.metadata;
    if (settings.sendEventsToBot.includes('dialoutInitiated')) {
      prelude = [{ id: randomUUID(), timestamp: new Date(now).toISOString(), type: 'event', name: 'dialoutInitiated', value: { target: info.outbound.target } }];
    }
  }
  return {
    conversationId: info.callId,
    direction: info.direction,
    caller: info.from,
    callee: info.to,
    callerDisplayName: info.callerDisplayName,
    parameters,
    initialActivity: initialActivityOverride(info, settings, now),
    ...(prelude ? { prelude } : {}),
  };
}
