/**
 * Who may call a bot from a web page. The console's operator calls with their own access token
 * (scope `calls:web`, or `admin`) and names the bot; the page is the console itself, so its Origin is
 * this gateway's or absent. Widget keys for other websites are checked by `widgetAccess` when given.
 */
import type { WebCallerAccess, WebCallRefusal, WebCaller, WebCallRequest } from '../carriers/carrier.js';
import type { ApiAuth } from '../api/auth/api-auth.js';
import { hasScope } from '../api/auth/scopes.js';

type Refusal = { ok: false } & WebCallRefusal;

export interface WebCallersOptions {
  auth: Pick<ApiAuth, 'authenticateRequest' | 'authenticate'>;
  /** Whether a bot by this name answers calls. */
  knowsBot: (name: string) => boolean;
  /** The origins the console is served from (this gateway's public URLs); other origins need a widget key. */
  consoleOrigins: () => readonly string[];
  /**
   * Widget keys (src/app/widget-access.ts): answers for credentials that are widget keys, undefined for
   * anything else. `bot`, when the page names one, must be the key's.
   */
  widgetAccess?: {
    admitCall(request: WebCallRequest & { authorization: string; ip: string; bot?: string }): Promise<{ ok: true; caller: WebCaller } | Refusal | undefined>;
    checkOrigin(request: WebCallRequest): Promise<{ ok: true } | Refusal | undefined>;
  };
}

export class WebCallers implements WebCallerAccess {
  constructor(private readonly options: WebCallersOptions) {}

  async admitCall(request: WebCallRequest & { bot?: string; ip: string }): Promise<{ ok: true; caller: WebCaller } | Refusal> {
    if (!request.authorization) return refuse(401, 'a browser call needs Authorization: Bearer <console access token or widget key>');
    const widget = await this.options.widgetAccess?.admitCall({ ...request, authorization: request.authorization });
    if (widget) return widget;
    const outcome = await this.options.auth.authenticateRequest(request.authorization, request.ip);
    if (!outcome.ok) {
      if (outcome.reason === 'throttled') return { ok: false, status: 429, error: 'too many failed authentications from this address', retryAfterSec: Math.ceil(outcome.retryAfterMs / 1000) };
      return refuse(401, 'the bearer credential is not a valid access token or widget key');
    }
    if (!hasScope(outcome.principal.scopes, 'calls:web')) return refuse(403, `client ${outcome.principal.clientId} lacks scope calls:web`);
    const originProblem = this.consoleOriginProblem(request);
    if (originProblem) return originProblem;
    if (!request.bot) return refuse(400, 'name the bot to call (?bot=<name>)');
    if (!this.options.knowsBot(request.bot)) return refuse(404, `no bot named "${request.bot}"`);
    return { ok: true, caller: { identity: `console:${outcome.principal.clientId}`, displayName: outcome.principal.clientId, bot: request.bot, release: () => undefined } };
  }

  async checkOrigin(request: WebCallRequest): Promise<{ ok: true } | Refusal> {
    const widget = await this.options.widgetAccess?.checkOrigin(request);
    if (widget) return widget;
    return this.consoleOriginProblem(request) ?? { ok: true };
  }

  /** A console token works only from the console's own pages (or from no page at all: a script, a test). */
  private consoleOriginProblem({ origin, selfOrigin }: WebCallRequest): Refusal | undefined {
    if (origin === undefined || origin === selfOrigin) return undefined;
    const allowed = this.options.consoleOrigins().filter((url) => url !== '').map((url) => new URL(url).origin);
    if (allowed.includes(origin)) return undefined;
    return refuse(403, `origin ${origin} may not use a console credential (allowed: ${allowed.join(', ')}); websites call with a widget key`);
  }
}

function refuse(status: WebCallRefusal['status'], error: string): Refusal {
  return { ok: false, status, error };
}
