import { describe, expect, it } from 'vitest';
import { DtmfCollector, type DtmfSubmitReason } from '../../src/call/dtmf-collector.js';
import { FakeClock } from '../support/fake-clock.js';
import { settle } from '../support/call-doubles.js';
import { startSession } from '../support/call-session-harness.js';

function collector(opts: Partial<{ maxDigits: number; interDigitTimeoutMs: number; submitDigit: string; collect: boolean }> = {}) {
  const clock = new FakeClock();
  const c = new DtmfCollector(clock, { collect: true, maxDigits: 4, interDigitTimeoutMs: 2000, submitDigit: '#', ...opts });
  const submitted: [string, DtmfSubmitReason][] = [];
  c.on('submit', (d, r) => submitted.push([d, r]));
  return { clock, c, submitted };
}

describe('DTMF collection', () => {
  it('submits when the maximum number of digits is reached', () => {
    const { c, submitted } = collector({ maxDigits: 4 });
    for (const d of '12345') c.press(d);
    expect(submitted).toEqual([['1234', 'max-digits']]);
    expect(c.pending).toBe('5');
  });

  it('submits on the submit digit, without including it', () => {
    const { c, submitted } = collector();
    for (const d of '42#') c.press(d);
    expect(submitted).toEqual([['42', 'submit-digit']]);
  });

  it('submits after the inter-digit timeout, measured from the last digit', () => {
    const { c, clock, submitted } = collector({ interDigitTimeoutMs: 2000 });
    c.press('9');
    clock.advance(1500);
    c.press('8');
    clock.advance(1999);
    expect(submitted).toEqual([]);
    clock.advance(1);
    expect(submitted).toEqual([['98', 'inter-digit-timeout']]);
  });

  it('sends each digit on its own when not collecting', () => {
    const { c, submitted } = collector({ collect: false });
    c.press('1');
    c.press('#');
    expect(submitted).toEqual([
      ['1', 'digit'],
      ['#', 'digit'],
    ]);
  });

  it('delivers the collected digits to the bot as one DTMF event', async () => {
    const { leg, bot, clock } = await startSession({
      settings: { dtmfCollect: true, dtmfCollectMaxDigits: 6, dtmfCollectInterDigitTimeoutMS: 3000 },
      greeting: [{ text: 'Enter your PIN.' }],
    });
    leg.playedAll();
    for (const d of '2468') leg.emit('dtmf', d);
    await settle();
    expect(bot.events('DTMF')).toHaveLength(0);
    clock.advance(3000);
    await settle();
    expect(bot.events('DTMF').map((a) => a.value)).toEqual(['2468']);
  });

  it('switches to collect mode when the bot sends dtmfCollect in sessionParams', async () => {
    const { leg, bot } = await startSession({ greeting: [{ type: 'event', name: 'config', sessionParams: { dtmfCollect: true, dtmfCollectMaxDigits: 3 } }] });
    for (const d of '555') leg.emit('dtmf', d);
    await settle();
    expect(bot.events('DTMF').map((a) => a.value)).toEqual(['555']);
  });
});
