import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlarmManager, type AlarmChange } from '../../src/alarms/alarm-manager.js';
import { AUTH_FAILURE, AuthFailureAlarm } from '../../src/alarms/auth-failure-alarm.js';
import { AlarmRepository } from '../../src/store/alarm-repository.js';
import { FakeClock } from '../support/fake-clock.js';
import { captureLogger } from '../support/captured-logger.js';
import { startAuthServer, tokenRequest, type AuthServer } from '../support/auth-server.js';

describe('auth-failure alarm: repeated failed authentications raise it, quiet clears it', () => {
  const clock = new FakeClock();
  const logs = captureLogger();
  let server: AuthServer;
  let manager: AlarmManager;
  let alarm: AuthFailureAlarm;
  const changes: AlarmChange[] = [];
  const nextChange = (match: (c: AlarmChange) => boolean) =>
    new Promise<AlarmChange>((resolve) => {
      const off = manager.onChange((c) => {
        if (!match(c)) return;
        off();
        resolve(c);
      });
    });

  beforeAll(async () => {
    // The source limit stays out of the way: this is about the alarm, not the lockout.
    server = await startAuthServer({ logger: logs.logger, clock, limits: { source: { maxFailures: 100 }, client: { maxFailures: 100 } } });
    manager = new AlarmManager({ repository: new AlarmRepository(server.store.db), clock });
    manager.onChange((c) => void changes.push(c));
    // Wired as the gateway wires it.
    alarm = new AuthFailureAlarm({ alarms: manager, threshold: 4, windowMs: 60_000, quietMs: 120_000, clock, logger: logs.logger });
    server.auth.throttle.onFailure((failure) => alarm.record(failure));
  });
  afterAll(async () => {
    alarm.stop();
    await manager.idle();
    await server.close();
  });

  it('raises a major alarm for the source and for the existing client it targets, and clears both after the quiet period', async () => {
    const created = await server.auth.clients.create({ name: 'target', scopes: ['calls:read'] });
    const raised = nextChange((c) => c.entity === 'source:127.0.0.30' && c.severity === 'major');
    for (let i = 0; i < 3; i++) expect((await tokenRequest(server, '127.0.0.30', created.client.clientId, `guess ${i}`)).status).toBe(401);
    await manager.idle();
    expect(await manager.active()).toEqual([]);

    expect((await tokenRequest(server, '127.0.0.30', created.client.clientId, 'guess 3')).status).toBe(401);
    const change = await raised;
    expect(change).toMatchObject({ type: AUTH_FAILURE, severity: 'major', message: '4 failed authentications from 127.0.0.30 in the last 1 min; last: wrong secret' });
    await manager.idle();
    expect((await manager.active()).map((a) => `${a.type} ${a.entity}`).sort()).toEqual([`auth-failure client:${created.client.clientId}`, 'auth-failure source:127.0.0.30']);

    // Still failing: stays up; then quiet for quietMs: cleared.
    clock.advance(100_000);
    await tokenRequest(server, '127.0.0.30', created.client.clientId, 'guess 4');
    clock.advance(100_000);
    await manager.idle();
    expect(await manager.active()).toHaveLength(2);
    const cleared = nextChange((c) => c.entity === 'source:127.0.0.30' && c.severity === 'clear');
    clock.advance(20_000);
    expect((await cleared).message).toBe('no failed authentication for 2 min');
    await manager.idle();
    expect(await manager.active()).toEqual([]);
  });

  it('made-up client ids are never alarm entities (anyone can invent them); their source still is', async () => {
    const raised = nextChange((c) => c.entity === 'source:127.0.0.31' && c.severity === 'major');
    for (let i = 0; i < 4; i++) await tokenRequest(server, '127.0.0.31', `vgc_invented${i}`, 'x');
    await raised;
    await manager.idle();
    expect((await manager.active()).map((a) => a.entity)).toEqual(['source:127.0.0.31']);
  });
});
