import { beforeEach, expect, it } from 'vitest';
import { AlarmInputError, AlarmManager, type AlarmChange, type AlarmNotifier } from '../../src/alarms/alarm-manager.js';
import { AlarmRepository } from '../../src/store/alarm-repository.js';
import { FakeClock } from '../support/fake-clock.js';
import { describeOnEachDialect } from '../support/store-fixtures.js';

interface Sent {
  url: string;
  payload: AlarmChange;
  idempotencyKey: string;
  orderKey?: string;
}

function recordingNotifier(): AlarmNotifier & { sent: Sent[] } {
  const sent: Sent[] = [];
  return { sent, notify: (url, payload, idempotencyKey, options) => void sent.push({ url, payload: payload as AlarmChange, idempotencyKey, orderKey: options?.orderKey }) };
}

describeOnEachDialect('alarm lifecycle', (ctx) => {
  let clock: FakeClock;
  let notifier: ReturnType<typeof recordingNotifier>;
  let manager: AlarmManager;
  let changes: AlarmChange[];

  beforeEach(async () => {
    // Each test starts from empty alarm tables.
    await ctx.store.db.deleteFrom('alarms').execute();
    await ctx.store.db.deleteFrom('alarm_history').execute();
    await ctx.store.db.deleteFrom('alarm_rules').execute();
    clock = new FakeClock();
    notifier = recordingNotifier();
    manager = new AlarmManager({ repository: new AlarmRepository(ctx.store.db), notifier, webhookUrls: ['https://ops.example.com/alarms'], clock });
    changes = [];
    manager.onChange((c) => changes.push(c));
  });

  it('raises, re-sends on escalation, stays quiet on the same severity, and clears with one webhook', async () => {
    await manager.raise('bot-failure', 'support', 'major', '3 bot errors in 5 min');
    clock.advance(1000);
    expect(await manager.raise('bot-failure', 'support', 'major', '4 bot errors in 5 min')).toBeUndefined();
    clock.advance(1000);
    await manager.raise('bot-failure', 'support', 'critical', '10 bot errors in 5 min');

    const [active] = await manager.active();
    expect(active).toMatchObject({ key: 'bot-failure:support', severity: 'critical', message: '10 bot errors in 5 min', raisedAt: 1_700_000_000_000, updatedAt: 1_700_000_002_000 });
    expect(notifier.sent.map((s) => [s.payload.previousSeverity, s.payload.severity])).toEqual([['clear', 'major'], ['major', 'critical']]);

    clock.advance(60_000);
    await manager.clear('bot-failure', 'support', 'no bot errors for 10 min');
    expect(await manager.clear('bot-failure', 'support')).toBeUndefined();

    expect(await manager.active()).toEqual([]);
    expect(notifier.sent).toHaveLength(3);
    const cleared = notifier.sent[2];
    expect(cleared.url).toBe('https://ops.example.com/alarms');
    expect(cleared.payload).toMatchObject({ event: 'alarm', type: 'bot-failure', entity: 'support', severity: 'clear', previousSeverity: 'critical', message: 'no bot errors for 10 min' });
    expect(new Set(notifier.sent.map((s) => s.idempotencyKey)).size).toBe(3);
    expect(notifier.sent.every((s) => s.orderKey === 'alarm:bot-failure:support')).toBe(true);
    expect(changes.map((c) => c.severity)).toEqual(['major', 'critical', 'clear']);

    const { entries } = await manager.history({ limit: 10 });
    expect(entries.map((e) => e.severity)).toEqual(['clear', 'critical', 'major']);
  });

  it('keeps only the newest history rows and pages through them', async () => {
    const bounded = new AlarmManager({ repository: new AlarmRepository(ctx.store.db), historyLimit: 5, clock });
    for (let i = 0; i < 4; i++) {
      void bounded.raise('tts-failure', `voice-${i}`, 'major', 'TTS failing');
      void bounded.clear('tts-failure', `voice-${i}`);
    }
    await bounded.idle();
    const first = await bounded.history({ limit: 3 });
    expect(first.entries.map((e) => `${e.entity}/${e.severity}`)).toEqual(['voice-3/clear', 'voice-3/major', 'voice-2/clear']);
    expect(first.nextBefore).not.toBeNull();
    const second = await bounded.history({ limit: 3, before: first.nextBefore ?? undefined });
    expect(second.entries.map((e) => `${e.entity}/${e.severity}`)).toEqual(['voice-2/major', 'voice-1/clear']);
    expect(second.nextBefore).toBeNull();
  });

  it('raises nothing for a disabled type, and clears the active alarms when the type gets disabled', async () => {
    await manager.raise('carrier-failure', 'plivo', 'major', 'Plivo refused 5 calls');
    await manager.setRule('carrier-failure', { disabled: true });
    expect(await manager.active()).toEqual([]);
    expect(changes.at(-1)).toMatchObject({ severity: 'clear', message: 'alarm type disabled' });
    expect(await manager.raise('carrier-failure', 'plivo', 'critical', 'still failing')).toBeUndefined();
    expect(await manager.active()).toEqual([]);

    await manager.setRule('carrier-failure', { disabled: false });
    await manager.raise('carrier-failure', 'plivo', 'critical', 'still failing');
    expect((await manager.active()).map((a) => a.severity)).toEqual(['critical']);
  });

  it('raises only for entities in the allow-list', async () => {
    await manager.raise('bot-failure', 'sales', 'major', 'x');
    await manager.setRule('bot-failure', { allowedEntities: ['support'] });
    expect(await manager.rule('bot-failure')).toEqual({ type: 'bot-failure', disabled: false, allowedEntities: ['support'] });
    expect(await manager.active()).toEqual([]);
    await manager.raise('bot-failure', 'sales', 'critical', 'x');
    await manager.raise('bot-failure', 'support', 'minor', 'y');
    expect((await manager.active()).map((a) => a.entity)).toEqual(['support']);
    await manager.setRule('bot-failure', { allowedEntities: null });
    await manager.raise('bot-failure', 'sales', 'warning', 'x');
    expect((await manager.active()).map((a) => a.entity).sort()).toEqual(['sales', 'support']);
  });

  it('clears by id for the console, and keeps alarms across a restart', async () => {
    await manager.raise('stt-failure', 'deepgram', 'warning', 'slow');
    const reopened = await ctx.reopen();
    const again = new AlarmManager({ repository: new AlarmRepository(reopened.db), clock });
    const [alarm] = await again.active();
    expect(alarm).toMatchObject({ key: 'stt-failure:deepgram', severity: 'warning' });
    expect(await again.clearById(alarm.id + 1000)).toBeUndefined();
    expect(await again.clearById(alarm.id)).toMatchObject({ severity: 'clear', message: 'cleared by an operator' });
    expect(await manager.active()).toEqual([]);
  });

  it('rejects bad arguments with a clear error', async () => {
    await expect(manager.raise('', 'x', 'major', 'm')).rejects.toThrow(AlarmInputError);
    await expect(manager.raise('t', 'x', 'fatal' as never, 'm')).rejects.toThrow(/alarm severity: expected one of clear, indeterminate, warning, minor, major, critical, got "fatal"/);
    expect(() => new AlarmManager({ repository: new AlarmRepository(ctx.store.db), webhookUrls: ['https://x.example'] })).toThrow(/no notifier/);
  });
});
