/**
 * Reading the Calls resource's form parameters (create and update) with Twilio's defaults and limits.
 * Each bad value is a 400 with Twilio's error code and a message naming the parameter.
 */
import { httpUrlProblem, type HttpMethod } from '../app-requests.js';
import { badRequest } from './rest-errors.js';
import { parseStatusCallbackEvents, StatusCallbackEventError, type StatusCallbackConfig } from './status-callbacks.js';
import type { MachineDetectionConfig } from './machine-detection.js';
import type { TwimlSource } from './twilio-call.js';

/** Twilio rejects inline Twiml longer than this. */
const MAX_TWIML_CHARS = 4000;
const PHONE_NUMBER = /^\+?[0-9]{3,15}$/;

/** A form field's first value, trimmed; undefined when absent or empty. */
function field(form: URLSearchParams, name: string): string | undefined {
  const value = form.get(name)?.trim();
  return value ? value : undefined;
}

function httpUrl(form: URLSearchParams, name: string, code: number): string | undefined {
  const value = field(form, name);
  const problem = value === undefined ? undefined : httpUrlProblem(value, name);
  if (problem) throw badRequest(code, problem);
  return value;
}

function method(form: URLSearchParams, name: string): HttpMethod {
  const value = field(form, name);
  if (value === undefined) return 'POST';
  const m = value.toUpperCase();
  if (m !== 'GET' && m !== 'POST') throw badRequest(21200, `${name} must be GET or POST, got ${JSON.stringify(value)}`);
  return m;
}

function integer(form: URLSearchParams, name: string, fallback: number, min: number, max: number): number {
  const value = field(form, name);
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw badRequest(21200, `${name} must be an integer between ${min} and ${max}, got ${JSON.stringify(value)}`);
  return n;
}

function bool(form: URLSearchParams, name: string): boolean {
  const value = field(form, name)?.toLowerCase();
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  throw badRequest(21200, `${name} must be true or false, got ${JSON.stringify(form.get(name))}`);
}

function phoneNumber(form: URLSearchParams, name: 'To' | 'From'): string {
  const value = field(form, name);
  if (value === undefined) throw badRequest(name === 'To' ? 21201 : 21213, `No '${name}' number is specified: the ${name} parameter is required`);
  if (!PHONE_NUMBER.test(value.replace(/[\s().-]/g, ''))) throw badRequest(name === 'To' ? 21211 : 21212, `Invalid '${name}' Phone Number: ${JSON.stringify(value)}`);
  return value;
}

/** Url (+ Method, FallbackUrl, FallbackMethod) or Twiml: exactly one of them says what runs. */
function twimlSource(form: URLSearchParams, required: boolean): TwimlSource | undefined {
  const url = httpUrl(form, 'Url', 21205);
  const twiml = field(form, 'Twiml');
  if (url && twiml) throw badRequest(21200, 'give either Url or Twiml, not both');
  if (twiml !== undefined) {
    if (twiml.length > MAX_TWIML_CHARS) throw badRequest(21200, `Twiml is ${twiml.length} characters long; Twilio accepts at most ${MAX_TWIML_CHARS}`);
    return { twiml };
  }
  if (url === undefined) {
    if (required) throw badRequest(21205, 'Url parameter is required: give Url (or Twiml) with the instructions for the call');
    return undefined;
  }
  const fallbackUrl = httpUrl(form, 'FallbackUrl', 21205);
  return { url, method: method(form, 'Method'), ...(fallbackUrl ? { fallback: { url: fallbackUrl, method: method(form, 'FallbackMethod') } } : {}) };
}

function statusCallback(form: URLSearchParams): StatusCallbackConfig | undefined {
  const url = httpUrl(form, 'StatusCallback', 21609);
  let events;
  try {
    events = parseStatusCallbackEvents(form.getAll('StatusCallbackEvent'));
  } catch (err) {
    if (err instanceof StatusCallbackEventError) throw badRequest(21626, `Invalid StatusCallbackEvent: ${err.message}`);
    throw err;
  }
  return url ? { url, method: method(form, 'StatusCallbackMethod'), events } : undefined;
}

function machineDetection(form: URLSearchParams): MachineDetectionConfig | undefined {
  const mode = field(form, 'MachineDetection');
  if (mode === undefined || mode === 'none') return undefined;
  if (mode !== 'Enable' && mode !== 'DetectMessageEnd') throw badRequest(21200, `MachineDetection must be Enable or DetectMessageEnd, got ${JSON.stringify(mode)}`);
  const async = bool(form, 'AsyncAmd');
  const callbackUrl = httpUrl(form, 'AsyncAmdStatusCallback', 21205);
  return {
    mode,
    async,
    ...(callbackUrl ? { callback: { url: callbackUrl, method: method(form, 'AsyncAmdStatusCallbackMethod') } } : {}),
    timeoutMs: integer(form, 'MachineDetectionTimeout', 30, 3, 59) * 1000,
    speechThresholdMs: integer(form, 'MachineDetectionSpeechThreshold', 2400, 1000, 6000),
    speechEndThresholdMs: integer(form, 'MachineDetectionSpeechEndThreshold', 1200, 500, 5000),
    silenceTimeoutMs: integer(form, 'MachineDetectionSilenceTimeout', 5000, 2000, 10_000),
  };
}

export interface CreateCallRequest {
  to: string;
  from: string;
  twiml: TwimlSource;
  statusCallback?: StatusCallbackConfig;
  timeoutSec: number;
  machineDetection?: MachineDetectionConfig;
}

/** POST /Calls.json: To, From, Url|Twiml, StatusCallback*, Timeout, MachineDetection and AsyncAmd*. */
export function parseCreateCall(form: URLSearchParams): CreateCallRequest {
  return {
    to: phoneNumber(form, 'To'),
    from: phoneNumber(form, 'From'),
    twiml: twimlSource(form, true)!,
    statusCallback: statusCallback(form),
    timeoutSec: integer(form, 'Timeout', 60, 1, 600),
    machineDetection: machineDetection(form),
  };
}

export interface UpdateCallRequest {
  status?: 'completed' | 'canceled';
  twiml?: TwimlSource;
}

/** POST /Calls/{CallSid}.json: Status=completed|canceled, or new TwiML (Url/Method or Twiml). */
export function parseUpdateCall(form: URLSearchParams): UpdateCallRequest {
  const status = field(form, 'Status');
  if (status !== undefined && status !== 'completed' && status !== 'canceled') throw badRequest(21200, `Status must be completed or canceled, got ${JSON.stringify(status)}`);
  const twiml = twimlSource(form, false);
  if (status === undefined && twiml === undefined) throw badRequest(21200, 'nothing to update: give Status (completed, canceled), Url or Twiml');
  return { ...(status ? { status } : {}), ...(twiml ? { twiml } : {}) };
}
