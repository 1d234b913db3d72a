/**
 * Plivo REST API client for the calls Voxgate places and controls (docs/protocols/plivo.md, "REST API").
 * JSON bodies, HTTP Basic auth, global fetch; every failure is a PlivoApiError naming the request.
 */
import { formatStreamExtraHeaders, type PlivoContentType } from './answer-xml.js';

export interface PlivoRestClientOptions {
  authId: string;
  authToken: string;
  /** Default https://api.plivo.com; the simulator and tests point it at loopback. */
  baseUrl?: string;
  /** Per-request deadline; default 10 s. */
  timeoutMs?: number;
}

export class PlivoApiError extends Error {
  override readonly name = 'PlivoApiError';
  constructor(
    /** HTTP status, or 0 when no response arrived (network error, timeout). */
    readonly status: number,
    /** Plivo's own message (its `error` or `message` field), or the raw body. */
    readonly apiMessage: string,
    readonly method: string,
    readonly path: string,
  ) {
    super(`Plivo API ${method} ${path} failed${status ? ` with HTTP ${status}` : ''}: ${apiMessage}`);
  }
}

export type HttpMethod = 'GET' | 'POST';
export type PlivoLegs = 'aleg' | 'bleg' | 'both';

export interface MakeCallParams {
  from: string;
  /** Several numbers are dialled together (Plivo joins them with "<"). */
  to: string | string[];
  answerUrl: string;
  answerMethod?: HttpMethod;
  ringUrl?: string;
  hangupUrl?: string;
  hangupMethod?: HttpMethod;
  fallbackUrl?: string;
  callerName?: string;
  sendDigits?: string;
  /** Seconds; Plivo's default is 14400. */
  timeLimit?: number;
  /** Seconds; Plivo's default is 120. */
  ringTimeout?: number;
  machineDetection?: 'true' | 'hangup';
  machineDetectionTime?: number;
  machineDetectionUrl?: string;
  sipHeaders?: Record<string, string>;
}

export interface MakeCallResult {
  /** The first (usually only) request UUID; the answer callback's ALegRequestUUID equals it. */
  requestUuid: string;
  /** One per dialled number when several were given. */
  requestUuids: string[];
  message: string;
  apiId?: string;
}

export interface TransferCallParams {
  legs?: PlivoLegs;
  alegUrl?: string;
  alegMethod?: HttpMethod;
  blegUrl?: string;
  blegMethod?: HttpMethod;
}

export interface PlayParams {
  urls: string | string[];
  legs?: PlivoLegs;
  loop?: boolean;
  mix?: boolean;
}

export interface SpeakParams {
  text: string;
  voice?: string;
  language?: string;
  legs?: PlivoLegs;
  loop?: boolean;
  mix?: boolean;
}

export interface StartStreamParams {
  serviceUrl: string;
  bidirectional?: boolean;
  audioTrack?: 'inbound' | 'outbound' | 'both';
  contentType?: PlivoContentType;
  streamTimeout?: number;
  statusCallbackUrl?: string;
  statusCallbackMethod?: HttpMethod;
  /** Sent as Plivo's `k=v,k2=v2`. */
  extraHeaders?: Record<string, string>;
}

/** A call as Plivo's Call API reports it (callStatus). */
export type PlivoCallStatus =
  | { state: 'live'; callStatus: string }
  | { state: 'ended'; hangupCauseName?: string; hangupSource?: string; direction?: string; durationSec?: number }
  | { state: 'unknown' };

const stringField = (value: unknown): string | undefined => (typeof value === 'string' && value ? value : undefined);

type JsonBody = Record<string, string | number | boolean | undefined>;

function headerList(headers: Record<string, string> | undefined): string | undefined {
  if (!headers || Object.keys(headers).length === 0) return undefined;
  return Object.entries(headers)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

export class PlivoRestClient {
  readonly baseUrl: string;
  private readonly authId: string;
  private readonly authorization: string;
  private readonly timeoutMs: number;
  private readonly hasToken: boolean;

  constructor(options: PlivoRestClientOptions) {
    this.authId = options.authId;
    this.baseUrl = (options.baseUrl ?? 'https://api.plivo.com').replace(/\/+$/, '');
    this.authorization = `Basic ${Buffer.from(`${options.authId}:${options.authToken}`).toString('base64')}`;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.hasToken = Boolean(options.authToken);
  }

  async makeCall(params: MakeCallParams): Promise<MakeCallResult> {
    const body = await this.request('POST', 'Call/', {
      from: params.from,
      to: Array.isArray(params.to) ? params.to.join('<') : params.to,
      answer_url: params.answerUrl,
      answer_method: params.answerMethod ?? 'POST',
      ring_url: params.ringUrl,
      hangup_url: params.hangupUrl,
      hangup_method: params.hangupMethod,
      fallback_url: params.fallbackUrl,
      caller_name: params.callerName,
      send_digits: params.sendDigits,
      time_limit: params.timeLimit,
      ring_timeout: params.ringTimeout,
      machine_detection: params.machineDetection,
      machine_detection_time: params.machineDetectionTime,
      machine_detection_url: params.machineDetectionUrl,
      sip_headers: headerList(params.sipHeaders),
    });
    const raw = body.request_uuid;
    const requestUuids = (Array.isArray(raw) ? raw : [raw]).filter((u): u is string => typeof u === 'string' && u.length > 0);
    if (requestUuids.length === 0) {
      throw new PlivoApiError(200, 'response has no request_uuid', 'POST', this.path('Call/'));
    }
    return {
      requestUuid: requestUuids[0],
      requestUuids,
      message: typeof body.message === 'string' ? body.message : '',
      apiId: typeof body.api_id === 'string' ? body.api_id : undefined,
    };
  }

  /** Hangs up a live call. Resolves false when Plivo says the call had already ended (404). */
  async hangupCall(callUuid: string): Promise<boolean> {
    try {
      await this.request('DELETE', `Call/${this.segment(callUuid)}/`);
      return true;
    } catch (err) {
      if (err instanceof PlivoApiError && err.status === 404) return false;
      throw err;
    }
  }

  /**
   * What Plivo says about a call: the Live Call API (`GET Call/{uuid}/?status=live`) while it is up,
   * else its call detail record (`GET Call/{uuid}/`); `unknown` when Plivo has neither (404 on both).
   */
  async callStatus(callUuid: string): Promise<PlivoCallStatus> {
    try {
      const live = await this.request('GET', `Call/${this.segment(callUuid)}/?status=live`);
      return { state: 'live', callStatus: stringField(live.call_status) ?? 'in-progress' };
    } catch (err) {
      if (!(err instanceof PlivoApiError && err.status === 404)) throw err;
    }
    try {
      const cdr = await this.request('GET', `Call/${this.segment(callUuid)}/`);
      const duration = Number(cdr.call_duration);
      return {
        state: 'ended',
        hangupCauseName: stringField(cdr.hangup_cause_name),
        hangupSource: stringField(cdr.hangup_source),
        direction: stringField(cdr.call_direction),
        ...(cdr.call_duration !== undefined && cdr.call_duration !== null && Number.isFinite(duration) ? { durationSec: duration } : {}),
      };
    } catch (err) {
      if (err instanceof PlivoApiError && err.status === 404) return { state: 'unknown' };
      throw err;
    }
  }

  /** Points the call at new XML (`aleg_url`), e.g. a <Dial> for a transfer. */
  async transferCall(callUuid: string, params: TransferCallParams): Promise<void> {
    if (!params.alegUrl && !params.blegUrl) {
      throw new Error('transferCall needs alegUrl or blegUrl (the XML the call should run next)');
    }
    await this.request('POST', `Call/${this.segment(callUuid)}/`, {
      legs: params.legs ?? (params.alegUrl && params.blegUrl ? 'both' : params.blegUrl ? 'bleg' : 'aleg'),
      aleg_url: params.alegUrl,
      aleg_method: params.alegUrl ? (params.alegMethod ?? 'POST') : undefined,
      bleg_url: params.blegUrl,
      bleg_method: params.blegUrl ? (params.blegMethod ?? 'POST') : undefined,
    });
  }

  async play(callUuid: string, params: PlayParams): Promise<void> {
    const urls = Array.isArray(params.urls) ? params.urls.join(',') : params.urls;
    if (!urls) throw new Error('play needs at least one URL in urls');
    await this.request('POST', `Call/${this.segment(callUuid)}/Play/`, { urls, legs: params.legs, loop: params.loop, mix: params.mix });
  }

  async speak(callUuid: string, params: SpeakParams): Promise<void> {
    if (!params.text) throw new Error('speak needs text');
    await this.request('POST', `Call/${this.segment(callUuid)}/Speak/`, {
      text: params.text,
      voice: params.voice,
      language: params.language,
      legs: params.legs,
      loop: params.loop,
      mix: params.mix,
    });
  }

  async sendDtmf(callUuid: string, digits: string, legs?: PlivoLegs): Promise<void> {
    if (!/^[0-9*#A-Dw W]+$/.test(digits)) {
      throw new Error(`sendDtmf digits "${digits}" are invalid: expected 0-9 * # A-D (w/W for pauses)`);
    }
    await this.request('POST', `Call/${this.segment(callUuid)}/DTMF/`, { digits, leg: legs });
  }

  /** Starts an audio stream on a live call; resolves Plivo's stream id. */
  async startStream(callUuid: string, params: StartStreamParams): Promise<{ streamId: string }> {
    const body = await this.request('POST', `Call/${this.segment(callUuid)}/Stream/`, {
      service_url: params.serviceUrl,
      bidirectional: params.bidirectional,
      audio_track: params.audioTrack,
      content_type: params.contentType,
      stream_timeout: params.streamTimeout,
      status_callback_url: params.statusCallbackUrl,
      status_callback_method: params.statusCallbackMethod,
      // The Stream API keeps the same rule as <Stream extraHeaders>: refused here, before Plivo refuses the stream.
      extra_headers: params.extraHeaders && Object.keys(params.extraHeaders).length > 0 ? formatStreamExtraHeaders(params.extraHeaders) : undefined,
    });
    const streamId = body.stream_id;
    if (typeof streamId !== 'string') throw new PlivoApiError(200, 'response has no stream_id', 'POST', this.path(`Call/${callUuid}/Stream/`));
    return { streamId };
  }

  /** Stops one stream, or all streams of the call when no id is given. */
  async stopStream(callUuid: string, streamId?: string): Promise<void> {
    await this.request('DELETE', `Call/${this.segment(callUuid)}/Stream/${streamId ? `${this.segment(streamId)}/` : ''}`);
  }

  private segment(value: string): string {
    if (!value) throw new Error('a Plivo call/stream id is required');
    return encodeURIComponent(value);
  }

  private path(relative: string): string {
    return `/v1/Account/${encodeURIComponent(this.authId)}/${relative}`;
  }

  private async request(method: 'GET' | 'POST' | 'DELETE', relative: string, body?: JsonBody): Promise<Record<string, unknown>> {
    const path = this.path(relative);
    // Checked per request, not at construction, so a gateway without Plivo credentials still starts (inbound calls need none).
    if (!this.authId || !this.hasToken) throw new PlivoApiError(0, 'no Plivo auth id and auth token configured', method, path);
    const headers: Record<string, string> = { authorization: this.authorization, accept: 'application/json' };
    let payload: string | undefined;
    if (body) {
      // Omit unset fields so Plivo applies its own defaults.
      const defined = Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined));
      payload = JSON.stringify(defined);
      headers['content-type'] = 'application/json';
    }
    let response: Response;
    try {
      response = await fetch(this.baseUrl + path, { method, headers, body: payload, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      const reason = err instanceof Error ? (err.name === 'TimeoutError' ? `no response within ${this.timeoutMs} ms` : err.message) : String(err);
      throw new PlivoApiError(0, reason, method, path);
    }
    const text = await response.text().catch(() => '');
    let parsed: Record<string, unknown> = {};
    if (text) {
      try {
        const value: unknown = JSON.parse(text);
        if (value && typeof value === 'object' && !Array.isArray(value)) parsed = value as Record<string, unknown>;
      } catch {
        // Non-JSON bodies (proxies, HTML error pages) are reported verbatim below.
      }
    }
    if (!response.ok) {
      const message =
        typeof parsed.error === 'string' ? parsed.error : typeof parsed.message === 'string' ? parsed.message : text.slice(0, 200) || response.statusText;
      throw new PlivoApiError(response.status, message, method, path);
    }
    return parsed;
  }
}
