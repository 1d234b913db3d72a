/**
 * Keeps this instance's live calls in the call directory without the call path ever waiting on it:
 * every register, update and unregister is sent and forgotten. Redis being slow or down costs the
 * cluster its view of these calls (siblings cannot forward to them, the service-wide live list misses
 * them) but never a call: failures are logged, rate limited. The directory is made only once the
 * server listens, so calls offered before it exists are kept and registered when it is attached.
 */
import type { Logger } from '../logger.js';
import type { Clock } from '../runtime/clock.js';
import { RateLimitedWarnings } from '../runtime/rate-limited-warnings.js';
import type { CallDirectory, DirectoryCall } from './call-directory.js';

export type RegisteredCall = Omit<DirectoryCall, 'owner'>;

export class DirectoryRegistration {
  private directory: CallDirectory | undefined;
  /** What this instance has told the directory (updates resend the whole entry). */
  private readonly registered = new Map<string, RegisteredCall>();
  private readonly warnings: RateLimitedWarnings;

  constructor(logger: Logger, clock: Clock) {
    this.warnings = new RateLimitedWarnings(logger.child({ component: 'call-directory' }), clock);
  }

  /** From now on calls go to `directory`; the calls already live are registered at once. */
  attach(directory: CallDirectory): void {
    this.directory = directory;
    for (const call of this.registered.values()) this.send('register', call.callId, (d) => d.register(call));
  }

  register(call: RegisteredCall): void {
    this.registered.set(call.callId, call);
    this.send('register', call.callId, (d) => d.register(call));
  }

  /** Changes a registered call (its leg came up); unknown calls are left alone. */
  update(callId: string, change: Partial<Omit<RegisteredCall, 'callId'>>): void {
    const before = this.registered.get(callId);
    if (!before) return;
    const call = { ...before, ...change };
    this.registered.set(callId, call);
    this.send('register', callId, (d) => d.register(call));
  }

  unregister(callId: string): void {
    if (!this.registered.delete(callId)) return;
    this.send('unregister', callId, (d) => d.unregister(callId));
  }

  has(callId: string): boolean {
    return this.registered.has(callId);
  }

  private send(what: 'register' | 'unregister', callId: string, op: (directory: CallDirectory) => Promise<void>): void {
    const directory = this.directory;
    if (!directory) return;
    const failed = (err: unknown) =>
      this.warnings.warn(`directory-${what}`, `call directory: ${what} failed (${err instanceof Error ? err.message : String(err)}); the call goes on, but siblings may not find it until the directory answers again`, { callId });
    try {
      op(directory).catch(failed);
    } catch (err) {
      failed(err);
    }
  }
}
