/**
 * Checks presented client secrets against stored scrypt hashes with bounded work: at most
 * `maxConcurrent` checks run at once (each takes ~16 MiB and a libuv thread for tens of
 * milliseconds) and at most `maxQueued` wait; beyond that the check is refused at once with
 * HashChecksBusyError, so a flood of token requests cannot queue unbounded memory and CPU.
 *
 * An unknown client id is checked against a decoy hash, so it costs and looks the same as a known
 * id with a wrong secret.
 */
import { decoyHash, verifySecret } from './secret-hash.js';

export type VerifySecretFn = (secret: string, stored: string) => Promise<boolean>;

export interface SecretVerifierOptions {
  /** Default 2: half the libuv pool, leaving threads for file and DNS work. */
  maxConcurrent?: number;
  /** Default 32. */
  maxQueued?: number;
  /** The hash check itself (tests count its calls). Default scrypt's verifySecret. */
  verify?: VerifySecretFn;
}

export class HashChecksBusyError extends Error {
  constructor(readonly running: number, readonly queued: number) {
    super(`too many client secret checks in progress (${running} running, ${queued} waiting)`);
    this.name = 'HashChecksBusyError';
  }
}

export class SecretVerifier {
  private readonly maxConcurrent: number;
  private readonly maxQueued: number;
  private readonly verifyFn: VerifySecretFn;
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(opts: SecretVerifierOptions = {}) {
    this.maxConcurrent = opts.maxConcurrent ?? 2;
    this.maxQueued = opts.maxQueued ?? 32;
    if (!Number.isInteger(this.maxConcurrent) || this.maxConcurrent < 1) throw new RangeError(`maxConcurrentHashChecks: expected a positive integer, got ${String(opts.maxConcurrent)}`);
    if (!Number.isInteger(this.maxQueued) || this.maxQueued < 0) throw new RangeError(`maxQueuedHashChecks: expected a non-negative integer, got ${String(opts.maxQueued)}`);
    this.verifyFn = opts.verify ?? verifySecret;
  }

  /** Computes the decoy hash now, so the first unknown client id is not slower than the rest. */
  async warm(): Promise<void> {
    await decoyHash();
  }

  /** True when `secret` matches `storedHash`; always false, after the same work, without a stored hash. */
  async check(secret: string, storedHash: string | undefined): Promise<boolean> {
    await this.acquire();
    try {
      const matched = await this.verifyFn(secret, storedHash ?? (await decoyHash()));
      return matched && storedHash !== undefined;
    } finally {
      this.release();
    }
  }

  private acquire(): Promise<void> {
    if (this.running < this.maxConcurrent) {
      this.running++;
      return Promise.resolve();
    }
    if (this.waiting.length >= this.maxQueued) return Promise.reject(new HashChecksBusyError(this.running, this.waiting.length));
    // The slot passes straight from release() to the waiter: running stays counted.
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running--;
  }
}
