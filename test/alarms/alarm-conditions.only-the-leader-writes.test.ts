/**
 * In a cluster every instance judges the conditions over the service bus, but only the leader
 * writes alarm changes; an instance taking the lead over starts with warm windows and re-asserts
 * what it judges active. Fake clock: this is logic over events and time.
 */
import { describe, expect, it } from 'vitest';
import { AlarmConditions } from '../../src/alarms/alarm-conditions.js';
import type { AlarmSeverity } from '../../src/alarms/severity.js';
import { EventBus } from '../../src/events/bus.js';
import { FakeClock } from '../support/fake-clock.js';

const MIN = 60_000;

function setUp() {
  const clock = new FakeClock();
  const bus = new EventBus();
  const writes: string[] = [];
  let leader = false;
  const alarms = {
    raise: async (type: string, entity: string, severity: AlarmSeverity, message: string) => void writes.push(`${type}/${entity}:${severity} ${message}`),
    clear: async (type: string, entity: string) => void writes.push(`${type}/${entity}:clear`),
    onChange: () => () => undefined,
  };
  const conditions = new AlarmConditions({ alarms, clock, isLeader: () => leader, evaluateEveryMs: 10_000 }).attach(bus);
  let n = 0;
  const call = (bot: string, reason: string) => {
    const callId = `call-${++n}`;
    bus.publish('call.started', { callId, carrier: 'plivo', carrierCallId: callId, direction: 'inbound', from: '+1', to: '+2', bot, at: clock.now() });
    bus.publish('call.answered', { callId, at: clock.now() });
    bus.publish('call.ended', { callId, at: clock.now(), cause: 'x', side: 'gateway', reason });
  };
  return { clock, writes, conditions, call, lead: (v: boolean) => void (leader = v) };
}

describe('alarm conditions on an instance that is not the leader', () => {
  it('judge every failure but write nothing', () => {
    const { clock, writes, call } = setUp();
    for (let i = 0; i < 3; i++) call('support', 'bot-error');
    clock.advance(11 * MIN);
    expect(writes).toEqual([]);
  });

  it('re-assert the active severities with their last message when taking the lead over, then write what comes next', () => {
    const { clock, writes, conditions, call, lead } = setUp();
    for (let i = 0; i < 3; i++) call('support', 'bot-error');
    expect(writes).toEqual([]);

    lead(true);
    conditions.takeOver();
    expect(writes).toEqual([expect.stringMatching(/^bot-failure\/support:major 3 bot failures for support in the last 5 min/)]);

    // Warm windows: 7 more make 10 in the window, critical at once (and 10 of 10 calls failed: the error rate too).
    for (let i = 0; i < 7; i++) call('support', 'bot-error');
    const botFailures = () => writes.filter((w) => w.startsWith('bot-failure/'));
    expect(botFailures().at(-1)).toMatch(/^bot-failure\/support:critical 10 bot failures/);
    expect(writes).toContainEqual(expect.stringMatching(/^bot-error-rate\/support:major 10 of 10 calls/));
    // And the quiet clear is written by the new leader.
    clock.advance(11 * MIN);
    expect(botFailures().at(-1)).toBe('bot-failure/support:clear');
  });

  it('re-assert nothing when nothing is active', () => {
    const { writes, conditions, call, lead } = setUp();
    call('support', 'caller-hangup');
    lead(true);
    conditions.takeOver();
    expect(writes).toEqual([]);
  });
});
