import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logger.js';
import type { Activity } from '../../src/bots/activity.js';
import { SerializedRequestConnector, type SerializedRequestPolicy } from '../../src/bots/serialized-requests.js';

interface PendingRequest {
  label: string;
  signal: AbortSignal;
  answer(text: string): void;
  reject(error: Error): void;
}

/** A bot whose requests the test answers by hand; every answer becomes one message activity. */
class HandAnsweredConnector extends SerializedRequestConnector {
  readonly pending: PendingRequest[] = [];
  readonly lastMessages: string[] = [];

  constructor(policy: Partial<SerializedRequestPolicy> = {}) {
    super(silentLogger(), { failureLog: 'hand bot failure', ...policy });
  }

  ask(label: string): Promise<void> {
    return this.enqueue<string>({
      send: (signal) =>
        new Promise<string>((answer, reject) => {
          this.pending.push({ label, signal, answer, reject });
          signal.addEventListener('abort', () => reject(new Error(`${label} aborted`)));
        }),
      accept: (text) => this.emitActivities([{ type: 'message', text } as Activity]),
    });
  }

  finish(): Promise<void> {
    this.stop();
    return this.enqueueLast(async () => {
      this.lastMessages.push('bye');
    });
  }
}

function watch(connector: HandAnsweredConnector): { texts: string[]; failures: string[] } {
  const seen = { texts: [] as string[], failures: [] as string[] };
  connector.on('activities', (activities) => seen.texts.push(...activities.map((a) => a.text ?? '')));
  connector.on('failure', (e) => seen.failures.push(e.message));
  return seen;
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('SerializedRequestConnector: one request at a time per conversation', () => {
  it('sends the next request only once the one before it was answered, and reports a failed one in its place', async () => {
    const bot = new HandAnsweredConnector();
    const seen = watch(bot);
    const first = bot.ask('start');
    const second = bot.ask('text');
    const third = bot.ask('dtmf');
    await settle();
    expect(bot.pending.map((p) => p.label)).toEqual(['start']);
    bot.pending[0]!.answer('hello');
    await first;
    expect(bot.pending.map((p) => p.label)).toEqual(['start', 'text']);
    bot.pending[1]!.reject(new Error('HTTP 500'));
    await second;
    bot.pending[2]!.answer('digits taken');
    await third;
    expect(seen).toEqual({ texts: ['hello', 'digits taken'], failures: ['HTTP 500'] });
  });

  it('after the end drops the request in flight and the queued ones without a failure, but still sends the last message', async () => {
    const bot = new HandAnsweredConnector();
    const seen = watch(bot);
    const inFlight = bot.ask('text');
    const queued = bot.ask('dtmf');
    await settle();
    const ended = bot.finish();
    expect(bot.pending[0]!.signal.aborted).toBe(true);
    await Promise.all([inFlight, queued, ended]);
    expect(bot.pending.map((p) => p.label)).toEqual(['text']);
    expect(bot.lastMessages).toEqual(['bye']);
    expect(seen).toEqual({ texts: [], failures: [] });
  });

  it('does not take a throwing listener for the bot failing, and with stopAfterFailure drops what was queued behind a failure', async () => {
    const bot = new HandAnsweredConnector({ stopAfterFailure: true });
    const failures: string[] = [];
    bot.on('activities', () => {
      throw new Error('listener bug');
    });
    bot.on('failure', (e) => failures.push(e.message));
    const first = bot.ask('start');
    const second = bot.ask('text');
    const third = bot.ask('dtmf');
    await settle();
    bot.pending[0]!.answer('hello');
    await first;
    bot.pending[1]!.reject(new Error('HTTP 403'));
    await Promise.all([second, third]);
    expect(failures).toEqual(['HTTP 403']);
    expect(bot.pending.map((p) => p.label)).toEqual(['start', 'text']);
  });
});
