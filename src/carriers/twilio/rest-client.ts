/**
 * Twilio's Voice REST API for the calls Voxgate places and controls (docs/protocols/twilio.md, "REST"):
 * form-encoded bodies, JSON answers, HTTP Basic auth with the account SID and auth token, global
 * fetch. Every failure is a TwilioApiError naming the request and Twilio's own error code.
 */

export interface TwilioRestClientOptions {
  accountSid: string;
  authToken: string;
  /** Default https://api.twilio.com; the simulator and tests point it at loopback. */
  baseUrl?: string;
  /** Per-request deadline; default 10 s. */
  timeoutMs?: number;
}

export class TwilioApiError extends Error {
  override readonly name = 'TwilioApiError';
  constructor(
    /** HTTP status, or 0 when no response arrived (network error, timeout). */
    readonly status: number,
    /** Twilio's error code (20003 authentication, 20404 not found, 21201...), when it gave one. */
    readonly code: number | undefined,
    readonly apiMessage: string,
    readonly method: string,
    readonly path: string,
  ) {
    super(`Twilio API ${method} ${path} failed${status ? ` with HTTP ${status}` : ''}${code ? ` (error ${code})` : ''}: ${apiMessage}`);
  }
}

export type StatusCallbackEvent = 'initiated' | 'ringing' | 'answered' | 'completed';

export interface CreateCallParams {
  to: string;
  from: string;
  /** The voice webhook Twilio fetches once the callee answers. */
  url: string;
  method?: 'GET' | 'POST';
  statusCallback?: string;
  statusCallbackEvent?: StatusCallbackEvent[];
  /** Seconds the callee's phone may ring (Twilio's default 60, at most 600). */
  timeout?: number;
  callerId?: string;
  machineDetection?: 'Enable' | 'DetectMessageEnd';
  /** With AsyncAmd the TwiML runs at once and the verdict is POSTed to asyncAmdStatusCallback. */
  asyncAmd?: boolean;
  asyncAmdStatusCallback?: string;
}

export interface CallResource {
  sid: string;
  status: string;
}

export interface UpdateCallParams {
  /** `completed` hangs up an answered call; `canceled` one still ringing. */
  status?: 'completed' | 'canceled';
  /** New TwiML that replaces what runs on the call (ends an active <Connect><Stream>). */
  twiml?: string;
  url?: string;
  method?: 'GET' | 'POST';
}

export class TwilioRestClient {
  readonly baseUrl: string;
  private readonly accountSid: string;
  private readonly authorization: string;
  private readonly hasToken: boolean;
  private readonly timeoutMs: number;

  constructor(options: TwilioRestClientOptions) {
    this.accountSid = options.accountSid;
    this.baseUrl = (options.baseUrl ?? 'https://api.twilio.com').replace(/\/+$/, '');
    this.authorization = `Basic ${Buffer.from(`${options.accountSid}:${options.authToken}`).toString('base64')}`;
    this.hasToken = Boolean(options.authToken);
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  async createCall(params: CreateCallParams): Promise<CallResource> {
    const body = new URLSearchParams({ To: params.to, From: params.from, Url: params.url, Method: params.method ?? 'POST' });
    if (params.statusCallback) {
      body.set('StatusCallback', params.statusCallback);
      body.set('StatusCallbackMethod', 'POST');
      for (const event of params.statusCallbackEvent ?? []) body.append('StatusCallbackEvent', event);
    }
    if (params.timeout !== undefined) body.set('Timeout', String(params.timeout));
    if (params.callerId) body.set('CallerId', params.callerId);
    if (params.machineDetection) {
      body.set('MachineDetection', params.machineDetection);
      if (params.asyncAmd) body.set('AsyncAmd', 'true');
      if (params.asyncAmdStatusCallback) {
        body.set('AsyncAmdStatusCallback', params.asyncAmdStatusCallback);
        body.set('AsyncAmdStatusCallbackMethod', 'POST');
      }
    }
    return this.callResource(await this.request('POST', 'Calls.json', body));
  }

  async updateCall(callSid: string, params: UpdateCallParams): Promise<CallResource> {
    const body = new URLSearchParams();
    if (params.status) body.set('Status', params.status);
    if (params.twiml) body.set('Twiml', params.twiml);
    if (params.url) {
      body.set('Url', params.url);
      body.set('Method', params.method ?? 'POST');
    }
    return this.callResource(await this.request('POST', `Calls/${this.segment(callSid)}.json`, body));
  }

  /** Fetches the call resource (`GET Calls/{sid}.json`): its status and, once over, its duration. */
  async fetchCall(callSid: string): Promise<CallResource & { durationSec?: number }> {
    const body = await this.request('GET', `Calls/${this.segment(callSid)}.json`);
    const resource = this.callResource(body);
    const duration = Number(body.duration);
    return typeof body.duration === 'string' && body.duration !== '' && Number.isFinite(duration) ? { ...resource, durationSec: duration } : resource;
  }

  /** Hangs up an answered call. Resolves false when Twilio says the call is not in progress any more. */
  async hangupCall(callSid: string): Promise<boolean> {
    try {
      await this.updateCall(callSid, { status: 'completed' });
      return true;
    } catch (err) {
      // 404: no such call; 21220: the call is not in progress (it already ended).
      if (err instanceof TwilioApiError && (err.status === 404 || err.code === 21220)) return false;
      throw err;
    }
  }

  private callResource(body: Record<string, unknown>): CallResource {
    if (typeof body.sid !== 'string' || !body.sid) throw new TwilioApiError(200, undefined, 'response has no call sid', 'POST', this.path('Calls.json'));
    return { sid: body.sid, status: typeof body.status === 'string' ? body.status : '' };
  }

  private segment(value: string): string {
    if (!value) throw new Error('a Twilio call sid is required');
    return encodeURIComponent(value);
  }

  private path(relative: string): string {
    return `/2010-04-01/Accounts/${encodeURIComponent(this.accountSid)}/${relative}`;
  }

  private async request(method: 'GET' | 'POST', relative: string, body?: URLSearchParams): Promise<Record<string, unknown>> {
    const path = this.path(relative);
    // Checked per request, not at construction, so a gateway without credentials still takes inbound calls.
    if (!this.accountSid || !this.hasToken) throw new TwilioApiError(0, undefined, 'no Twilio account SID and auth token configured', method, path);
    const headers: Record<string, string> = { authorization: this.authorization, accept: 'application/json' };
    if (body) headers['content-type'] = 'application/x-www-form-urlencoded';
    let response: Response;
    try {
      response = await fetch(this.baseUrl + path, { method, headers, body: body?.toString(), signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      const reason = err instanceof Error ? (err.name === 'TimeoutError' ? `no response within ${this.timeoutMs} ms` : err.message) : String(err);
      throw new TwilioApiError(0, undefined, reason, method, path);
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
      const message = typeof parsed.message === 'string' ? parsed.message : text.slice(0, 200) || response.statusText;
      throw new TwilioApiError(response.status, typeof parsed.code === 'number' ? parsed.code : undefined, message, method, path);
    }
    return parsed;
  }
}
