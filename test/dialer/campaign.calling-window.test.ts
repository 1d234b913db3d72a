import { afterEach, describe, expect, it } from 'vitest';
import { campaignWindowSchema } from '../../src/dialer/campaign-definition.js';
import { CallingWindow } from '../../src/dialer/campaign-window.js';
import { advanceUntil, campaignEnded } from '../support/campaign-doubles.js';
import { runnerRig, type RunnerRig } from '../support/campaign-fixtures.js';
import { describeOnEachDialect } from '../support/store-fixtures.js';

/** Monday 5 January 2026, 06:00 UTC: 08:00 in Athens, 15:00 in Tokyo, 01:00 in New York. */
const MONDAY_0600_UTC = Date.UTC(2026, 0, 5, 6, 0);
const HOUR = 3_600_000;

const ATHENS = '+302100000001';
const TOKYO = '+81300000001';
const NEW_YORK = '+12125550001';

describeOnEachDialect('campaign calling windows', (ctx) => {
  let rig: RunnerRig | undefined;
  afterEach(async () => {
    await rig?.dispose();
    rig = undefined;
  });

  it("calls each contact when the window opens in the contact's own time zone", async () => {
    rig = await runnerRig(ctx.store, (phone, attemptNo) => (phone === TOKYO && attemptNo === 1 ? { fail: 'no-answer' } : { answer: true, dtmf: '1' }), {
      start: MONDAY_0600_UTC,
    });
    const campaign = await rig.runner.create({
      name: 'office hours',
      caller: '+15550001000',
      bot: 'reminder',
      escalation: 'all',
      retrySpacingSec: 3 * 3600,
      window: { start: '09:00', end: '17:00', days: ['mon', 'tue', 'wed', 'thu', 'fri'], timezone: 'Europe/Athens' },
      contacts: [
        { phone: ATHENS, name: 'no zone: the window default' },
        { phone: TOKYO, timezone: 'Asia/Tokyo' },
        { phone: NEW_YORK, timezone: 'America/New_York' },
      ],
    });
    await advanceUntil(rig.clock, rig.runner, campaignEnded(rig.runner, campaign.id), { stepMs: 60_000, maxMs: 48 * HOUR });
    const history = await rig.runner.history(campaign.id);
    expect(history.map((h) => [h.phone, h.attemptNo, new Date(h.startedAt).toISOString()])).toEqual([
      // Tokyo is open at 15:00 local: called at once.
      [TOKYO, 1, '2026-01-05T06:00:00.000Z'],
      // Athens opens at 09:00 EET.
      [ATHENS, 1, '2026-01-05T07:00:00.000Z'],
      // New York opens at 09:00 EST.
      [NEW_YORK, 1, '2026-01-05T14:00:00.000Z'],
      // Tokyo's retry fell due at 18:00 Tokyo time, after closing: it waits for Tuesday 09:00 JST.
      [TOKYO, 2, '2026-01-06T00:00:00.000Z'],
    ]);
  });
});

describe('CallingWindow', () => {
  const window = (w: Record<string, unknown>) => new CallingWindow(campaignWindowSchema.parse(w));

  it('skips closed days: Friday evening waits for Monday morning', () => {
    const w = window({ start: '09:00', end: '17:00', days: ['mon', 'tue', 'wed', 'thu', 'fri'], timezone: 'Europe/Athens' });
    const fridayEvening = Date.UTC(2026, 0, 9, 16, 0); // 18:00 Athens
    expect(w.isOpen(fridayEvening)).toBe(false);
    expect(new Date(w.nextOpening(fridayEvening)).toISOString()).toBe('2026-01-12T07:00:00.000Z');
  });

  it('follows daylight saving time: the opening after the spring change uses the new offset', () => {
    const w = window({ start: '09:00', end: '17:00', timezone: 'Europe/Athens' });
    const saturdayEvening = Date.UTC(2026, 2, 28, 18, 0); // 20:00 EET; clocks go forward on Sunday 29 March
    expect(new Date(w.nextOpening(saturdayEvening)).toISOString()).toBe('2026-03-29T06:00:00.000Z');
    const fallBack = Date.UTC(2026, 9, 24, 18, 0); // Saturday before the autumn change
    expect(new Date(w.nextOpening(fallBack)).toISOString()).toBe('2026-10-25T07:00:00.000Z');
  });

  it('a window past midnight belongs to the day it starts on', () => {
    const w = window({ start: '22:00', end: '02:00', days: ['fri'], timezone: 'UTC' });
    expect(w.isOpen(Date.UTC(2026, 0, 9, 23, 0))).toBe(true); // Friday 23:00
    expect(w.isOpen(Date.UTC(2026, 0, 10, 1, 0))).toBe(true); // Saturday 01:00, still Friday's window
    expect(w.isOpen(Date.UTC(2026, 0, 10, 23, 0))).toBe(false); // Saturday 23:00
    expect(new Date(w.nextOpening(Date.UTC(2026, 0, 10, 3, 0))).toISOString()).toBe('2026-01-16T22:00:00.000Z');
  });

  it('an open window is open now', () => {
    const w = window({ start: '09:00', end: '17:00', timezone: 'America/New_York' });
    const at = Date.UTC(2026, 0, 5, 15, 30); // 10:30 EST
    expect(w.nextOpening(at)).toBe(at);
    expect(w.isOpen(at, 'Asia/Tokyo')).toBe(false); // 00:30 in Tokyo
  });
});
