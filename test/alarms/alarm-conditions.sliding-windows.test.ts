import { describe, expect, it } from 'vitest';
import { AlarmConditions } from '../../src/alarms/alarm-conditions.js';
import type { AlarmChange } from '../../src/alarms/alarm-manager.js';
import type { AlarmSeverity } from '../../src/alarms/severity.js';
import { EventBus } from '../../src/events/bus.js';
import type { TurnEvent } from '../../src/events/call-events.js';
import { FakeClock } from '../support/fake-clock.js';

const MIN = 60_000;

/** Records what the conditions ask of the alarm manager; plays back manual clears. */
function alarmRecorder() {
  const calls: { op: 'raise' | 'clear'; type: string; entity: string; severity: AlarmSeverity; message: string }[] = [];
  const listeners = new Set<(c: AlarmChange) => void>();
  return {
    calls,
    raise: async (type: string, entity: string, severity: AlarmSeverity, message: string) => void calls.push({ op: 'raise', type, entity, severity, message }),
    clear: async (type: string, entity: string, message = '') => void calls.push({ op: 'clear', type, entity, severity: 'clear', message }),
    onChange: (l: (c: AlarmChange) => void) => (listeners.add(l), () => void listeners.delete(l)),
    operatorClears(type: string, entity: string) {
      for (const l of listeners) l({ event: 'alarm', key: `${type}:${entity}`, type, entity, severity: 'clear', previousSeverity: 'major', message: 'operator', raisedAt: 0, at: 0, sequence: 1 });
    },
    summary: () => calls.map((c) => `${c.type}/${c.entity}:${c.severity}`),
  };
}

function setUp(opts: ConstructorParameters<typeof AlarmConditions>[0]['thresholds'] = {}) {
  const clock = new FakeClock();
  const bus = new EventBus();
  const alarms = alarmRecorder();
  const conditions = new AlarmConditions({ alarms, clock, thresholds: opts, evaluateEveryMs: 10_000 }).attach(bus);
  let n = 0;
  const call = (bot: string, reason: string, turns: Partial<TurnEvent>[] = [], answered = true) => {
    const callId = `call-${++n}`;
    bus.publish('call.started', { callId, carrier: 'plivo', carrierCallId: callId, direction: 'inbound', from: '+1', to: '+2', bot, at: clock.now() });
    if (answered) bus.publish('call.answered', { callId, at: clock.now() });
    turns.forEach((t, i) =>
      bus.publish('turn', { callId, seq: i + 1, inputKind: 'speech', inputText: 'x', speechEndedAt: null, inputAt: clock.now(), botSentAt: null, botAnsweredAt: null, firstAudioAt: null, sttMs: null, botMs: null, ttsMs: null, e2eMs: null, sttProvider: 'deepgram', ttsProvider: 'azure', bot, outcome: 'answered', error: null, ...t }),
    );
    bus.publish('call.ended', { callId, at: clock.now(), cause: 'x', side: 'gateway', reason });
  };
  return { clock, bus, alarms, conditions, call };
}

describe('alarm conditions fed by bus events', () => {
  it('raises major after 3 bot errors within the window, critical at 10, and clears after 10 quiet minutes', () => {
    const { clock, alarms, call, conditions } = setUp();
    call('support', 'bot-error');
    clock.advance(MIN);
    call('support', 'bot-error', [{ outcome: 'bot-error', error: 'Direct Line 502' }]);
    expect(alarms.calls).toEqual([]);
    clock.advance(MIN);
    call('support', 'bot-error');
    expect(alarms.summary()).toEqual(['bot-failure/support:major']);
    expect(alarms.calls[0].message).toMatch(/^3 bot failures for support in the last 5 min/);

    for (let i = 0; i < 7; i++) call('support', 'bot-error');
    expect(alarms.summary().filter((s) => s.startsWith('bot-failure'))).toEqual(['bot-failure/support:major', 'bot-failure/support:critical']);

    clock.advance(9 * MIN);
    expect(alarms.summary().filter((s) => s.startsWith('bot-failure')).at(-1)).toBe('bot-failure/support:critical');
    clock.advance(MIN);
    expect(alarms.summary().filter((s) => s.startsWith('bot-failure')).at(-1)).toBe('bot-failure/support:clear');
    conditions.stop();
    expect(clock.pendingTimers()).toBe(0);
  });

  it('lets failures slide out of the window: 3 failures spread over 12 minutes raise nothing', () => {
    const { clock, alarms, call } = setUp();
    for (let i = 0; i < 3; i++) {
      call('support', 'bot-error');
      clock.advance(6 * MIN);
    }
    expect(alarms.summary().filter((s) => s.startsWith('bot-failure'))).toEqual([]);
  });

  it('escalates to critical when failures persist past persistentMs at a major rate', () => {
    const { clock, alarms, call } = setUp({ bot: { persistentMs: 15 * MIN } });
    for (let i = 0; i < 3; i++) call('sales', 'bot-error');
    for (let minute = 0; minute < 16; minute++) {
      clock.advance(MIN);
      call('sales', 'bot-error');
    }
    const bot = alarms.calls.filter((c) => c.type === 'bot-failure');
    expect(bot.map((c) => c.severity)).toEqual(['major', 'critical']);
    expect(bot[1].message).toMatch(/failing for 15 min/);
  });

  it('raises TTS and STT provider alarms per provider, counting a call once', () => {
    const { alarms, call } = setUp();
    for (let i = 0; i < 3; i++) call('support', 'tts-error', [{ outcome: 'tts-error', ttsProvider: 'polly', error: 'Polly 403' }]);
    for (let i = 0; i < 2; i++) call('support', 'stt-error', [{ sttProvider: 'google' }]);
    expect(alarms.summary().filter((s) => !s.startsWith('bot-error-rate'))).toEqual(['tts-failure/polly:major']);
    call('support', 'stt-error', [{ sttProvider: 'google' }]);
    expect(alarms.summary().filter((s) => !s.startsWith('bot-error-rate'))).toEqual(['tts-failure/polly:major', 'stt-failure/google:major']);
  });

  it('raises carrier alarms from outbound calls the carrier refused, not from busy or no-answer', () => {
    const { alarms, bus, clock } = setUp();
    const status = (reasonCode: 'error' | 'busy' | 'no-answer') => bus.publish('outbound.status', { conversationId: 'c', carrier: 'plivo', status: 'failed', reasonCode, reason: `Plivo API answered 401`, at: clock.now() });
    for (let i = 0; i < 5; i++) status('busy');
    status('no-answer');
    expect(alarms.calls).toEqual([]);
    for (let i = 0; i < 3; i++) status('error');
    expect(alarms.summary()).toEqual(['carrier-failure/plivo:major']);
    expect(alarms.calls[0].message).toContain('Plivo API answered 401');
  });

  it('judges the error rate per bot: warning above 10%, major above 25%, cleared as failures age out', () => {
    const { clock, alarms, call } = setUp({ bot: { majorCount: 100, criticalCount: 100 } });
    const rate = () => alarms.calls.filter((c) => c.type === 'bot-error-rate').map((c) => c.severity);
    call('support', 'bot-no-response');
    for (let i = 0; i < 8; i++) call('support', 'caller-hangup');
    for (let i = 0; i < 5; i++) call('support', 'no-answer', [], false); // never answered: not the bot's calls
    expect(rate()).toEqual([]); // 9 calls: below minCalls
    call('support', 'bot-hangup');
    expect(rate()).toEqual(['warning']); // 1 of 10
    clock.advance(MIN);
    call('support', 'bot-error');
    call('support', 'tts-error');
    expect(rate()).toEqual(['warning', 'major']); // 3 of 12
    for (let i = 0; i < 20; i++) call('support', 'caller-hangup');
    expect(rate()).toEqual(['warning', 'major', 'warning', 'clear']); // down through 3 of 13 .. 3 of 32
    expect(alarms.calls.at(-1)?.message).toBe('3 of 31 calls to support failed (9.7%) in the last 15 min');
    call('support', 'bot-error');
    call('support', 'bot-error');
    expect(rate().at(-1)).toBe('warning');
    clock.advance(15 * MIN);
    expect(rate().at(-1)).toBe('clear');
  });

  it('raises again after an operator clears the alarm by hand', () => {
    const { alarms, call } = setUp();
    for (let i = 0; i < 3; i++) call('support', 'bot-error');
    alarms.operatorClears('bot-failure', 'support');
    call('support', 'bot-error');
    expect(alarms.summary().filter((s) => s.startsWith('bot-failure'))).toEqual(['bot-failure/support:major', 'bot-failure/support:major']);
  });

  it('refuses nonsensical thresholds with the field named', () => {
    expect(() => setUp({ bot: { criticalCount: 2 } })).toThrow(/bot.criticalCount: expected at least majorCount \(3\)/);
    expect(() => setUp({ errorRate: { warningRate: 1.5 } })).toThrow(/errorRate.warningRate: expected a share between 0 and 1/);
  });
});
