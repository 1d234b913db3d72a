/**
 * Who may call from other websites: the widget-key side of `WebCallers` (its `widgetAccess` hook).
 * A credential starting with `vxw_` is a widget key; anything else is left to the console path.
 *
 * Checks, in order, each refusal naming what was wrong: the key (unknown or malformed 401, revoked
 * 403), the page's Origin against the key's list (403), the key's bot (404 when it no longer exists),
 * then the key's limits (429: calls in progress, calls started in the last minute).
 *
 * Verified keys are cached for `cacheMs` (a few seconds) so a burst of calls does not read the store
 * per request; an edit or revocation through this process drops the key at once (the repository's
 * change event), one on another instance arrives through the cluster's configuration sync (`forget`),
 * or within `cacheMs` at the latest.
 */
import type { WebCaller, WebCallRefusal, WebCallRequest } from '../carriers/carrier.js';
import type { Logger } from '../logger.js';
import type { Clock } from '../runtime/clock.js';
import { parseWidgetCredential, widgetSecretMatches, WIDGET_CREDENTIAL_PREFIX, type WidgetKeyInfo, type WidgetKeyRepository } from '../store/widget-key-repository.js';
import type { AuthThrottle } from '../api/auth/auth-throttle.js';
import { MemoryWidgetCallLimits, type WidgetCallLimits } from './widget-call-limits.js';
import type { WebCallersOptions } from './web-callers.js';

type Refusal = { ok: false } & WebCallRefusal;
type Found = { key: WidgetKeyInfo; secretHash: string } | undefined;

export interface WidgetAccessOptions {
  keys: Pick<WidgetKeyRepository, 'findForVerification' | 'activeOrigins' | 'markUsed' | 'onChange'>;
  /** Whether a bot by this name answers calls (a key's bot may have been deleted since). */
  knowsBot: (name: string) => boolean;
  /** Where calls in progress and recent starts are counted; this process's memory by default. */
  limits?: WidgetCallLimits;
  clock: Clock;
  logger: Logger;
  /** How long a verified key (and the list of allowed origins) is trusted before the store is read again. Default 5 s. */
  cacheMs?: number;
  /**
   * The API's failed-authentication limits (ApiAuth.throttle): an address guessing widget keys is
   * locked out like one guessing tokens (429), and its failures reach the auth-failure alarm.
   */
  throttle?: Pick<AuthThrottle, 'admit' | 'failed' | 'succeeded'>;
}

/** `last_used_at` is written at most this often per key: it is for people, not per call. */
const MARK_USED_EVERY_MS = 60_000;

export class WidgetAccess implements NonNullable<WebCallersOptions['widgetAccess']> {
  private readonly cacheMs: number;
  private readonly limits: WidgetCallLimits;
  private readonly log: Logger;
  private readonly cached = new Map<string, { found: Promise<Found>; until: number }>();
  private origins: { set: Promise<Set<string>>; until: number } | undefined;
  private readonly markedAt = new Map<string, number>();
  private readonly unsubscribe: () => void;

  constructor(private readonly opts: WidgetAccessOptions) {
    this.cacheMs = opts.cacheMs ?? 5000;
    this.limits = opts.limits ?? new MemoryWidgetCallLimits(opts.clock);
    this.log = opts.logger.child({ component: 'widget-access' });
    this.unsubscribe = opts.keys.onChange((keyId) => this.forget(keyId));
  }

  async admitCall(request: WebCallRequest & { authorization: string; ip: string; bot?: string }): Promise<{ ok: true; caller: WebCaller } | Refusal | undefined> {
    const checked = await this.activeKey(request, request.ip);
    if (!checked || !checked.ok) return checked;
    const { key } = checked;
    if (request.bot !== undefined && request.bot !== key.bot) return this.refuse(request, 403, `widget key ${key.id} may call bot "${key.bot}" only, not "${request.bot}"`, key.id);
    if (!this.opts.knowsBot(key.bot)) return this.refuse(request, 404, `bot "${key.bot}" of widget key ${key.id} no longer exists`, key.id);
    const slot = await this.limits.take(key.id, key);
    if (!slot.ok && slot.limit === 'concurrent') {
      return this.refuse(request, 429, `widget key ${key.id} has ${slot.live} calls in progress, its limit (maxConcurrentCalls ${key.maxConcurrentCalls}); try again when one ends`, key.id);
    }
    if (!slot.ok) {
      const retryAfterSec = Math.max(1, Math.ceil(slot.retryAfterMs / 1000));
      return { ...this.refuse(request, 429, `widget key ${key.id} started ${slot.started} calls in the last minute, its limit (callsPerMinute ${key.callsPerMinute}); try again in ${retryAfterSec} s`, key.id), retryAfterSec };
    }
    this.markUsed(key.id);
    this.log.info({ keyId: key.id, origin: request.origin, bot: key.bot }, 'widget call admitted');
    return { ok: true, caller: { identity: `widget:${key.id}`, displayName: key.name, bot: key.bot, release: slot.release } };
  }

  async checkOrigin(request: WebCallRequest): Promise<{ ok: true } | Refusal | undefined> {
    if (request.authorization !== undefined) {
      const checked = await this.activeKey(request);
      return checked && (checked.ok ? { ok: true } : checked);
    }
    // A CORS preflight carries no credential: any active key listing the origin lets it through
    // (the request that follows is checked against its own key). Not listed: WebCallers decides.
    if (request.origin === undefined) return undefined;
    try {
      return (await this.activeOrigins()).has(request.origin) ? { ok: true } : undefined;
    } catch (err) {
      this.log.error({ err }, 'widget keys could not be read from the store');
      return refusal(503, 'widget keys cannot be checked right now (the store did not answer)');
    }
  }

  /** Drops what is cached about a key (edited or revoked here or on another instance). */
  forget(keyId: string): void {
    this.cached.delete(keyId);
    this.origins = undefined;
  }

  async close(): Promise<void> {
    this.unsubscribe();
    this.cached.clear();
    await this.limits.close();
  }

  /**
   * The credential's key when it is valid, active and used from one of its origins; undefined when it
   * is no widget key. With `ip` (a new call) the failed-authentication limits apply.
   */
  private async activeKey(request: WebCallRequest, ip?: string): Promise<{ ok: true; key: WidgetKeyInfo } | Refusal | undefined> {
    const credential = bearer(request.authorization);
    if (!credential?.startsWith(WIDGET_CREDENTIAL_PREFIX)) return undefined;
    const guard = ip !== undefined && this.opts.throttle ? { throttle: this.opts.throttle, attempt: { source: ip } } : undefined;
    const admission = await guard?.throttle.admit(guard.attempt);
    if (admission && !admission.allowed) {
      return { ...this.refuse(request, 429, 'too many failed authentications from this address'), retryAfterSec: Math.ceil(admission.retryAfterMs / 1000) };
    }
    const parts = parseWidgetCredential(credential);
    const invalid = async (error: string, keyId?: string) => {
      await guard?.throttle.failed({ ...guard.attempt, reason: 'invalid widget key' });
      return this.refuse(request, 401, error, keyId);
    };
    if (!parts) return invalid('the widget key is malformed: expected vxw_<id>.<secret> as shown when the key was created');
    let found: Found;
    try {
      found = await this.lookup(parts.keyId);
    } catch (err) {
      this.log.error({ err, keyId: parts.keyId }, 'widget key could not be read from the store');
      return refusal(503, 'widget keys cannot be checked right now (the store did not answer)');
    }
    if (!found || !widgetSecretMatches(parts.secret, found.secretHash)) return invalid(`unknown widget key ${parts.keyId} (no such key, or a wrong secret)`, parts.keyId);
    await guard?.throttle.succeeded(guard.attempt, admission);
    const { key } = found;
    if (key.revokedAt !== null) return this.refuse(request, 403, `widget key ${key.id} was revoked`, key.id);
    if (request.origin === undefined) return this.refuse(request, 403, `widget key ${key.id} works only from a web page of its allowed origins: the request has no Origin header`, key.id);
    if (!key.origins.includes(request.origin)) return this.refuse(request, 403, `origin ${request.origin} is not allowed for widget key ${key.id}; add it to the key's origins`, key.id);
    return { ok: true, key };
  }

  private lookup(keyId: string): Promise<Found> {
    const now = this.opts.clock.now();
    const hit = this.cached.get(keyId);
    if (hit && hit.until > now) return hit.found;
    // One read per key however many requests wait for it; a failed read is not cached.
    const found = this.opts.keys.findForVerification(keyId);
    const entry = { found, until: now + this.cacheMs };
    this.cached.set(keyId, entry);
    found.catch(() => {
      if (this.cached.get(keyId) === entry) this.cached.delete(keyId);
    });
    return found;
  }

  private activeOrigins(): Promise<Set<string>> {
    const now = this.opts.clock.now();
    if (this.origins && this.origins.until > now) return this.origins.set;
    const entry = { set: this.opts.keys.activeOrigins(), until: now + this.cacheMs };
    this.origins = entry;
    entry.set.catch(() => {
      if (this.origins === entry) this.origins = undefined;
    });
    return entry.set;
  }

  private markUsed(keyId: string): void {
    const now = this.opts.clock.now();
    if (now - (this.markedAt.get(keyId) ?? -Infinity) < MARK_USED_EVERY_MS) return;
    this.markedAt.set(keyId, now);
    this.opts.keys.markUsed(keyId).catch((err: unknown) => this.log.warn({ err, keyId }, 'widget key last use not recorded'));
  }

  private refuse(request: WebCallRequest, status: WebCallRefusal['status'], error: string, keyId?: string): Refusal {
    this.log.info({ keyId, origin: request.origin, status, error }, 'widget call refused');
    return refusal(status, error);
  }
}

function refusal(status: WebCallRefusal['status'], error: string): Refusal {
  return { ok: false, status, error };
}

/** The credential of `Authorization: Bearer <credential>` (or the bare credential). */
function bearer(authorization: string | undefined): string | undefined {
  if (authorization === undefined) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization.trim());
  return match ? match[1] : authorization.trim();
}
