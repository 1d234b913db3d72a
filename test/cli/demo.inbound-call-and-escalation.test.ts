import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDemo } from '../../src/cli/demo.js';
import { parseConfig } from '../../src/config/load.js';

describe('voxgate demo', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vg-demo-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('runs the inbound call, then the seed 002 escalation, and prints the attempt history and the outcome', async () => {
    const lines: string[] = [];
    const code = await runDemo(parseConfig({ dataDir: dir, log: { level: 'silent' } }), { exit: true, wavPath: join(dir, 'caller.wav'), portGiven: false, out: (l) => lines.push(l) });
    expect(code).toBe(0);
    const text = lines.join('\n');
    expect(text).toMatch(/call ended: bot-hangup/);
    const history = lines.slice(lines.findIndex((l) => l.startsWith('Attempt history')) + 1, lines.findIndex((l) => l.startsWith('Outcome:')));
    expect(history.map((l) => l.trim().split(/\s+/).slice(0, 4).join(' '))).toEqual([
      'Alice attempt 1 no-answer',
      'Alice attempt 2 no-answer',
      'Alice attempt 3 no-answer',
      'Bob attempt 1 rejected',
      'Carol attempt 1 accepted',
    ]);
    expect(lines.at(-1)).toBe('Outcome: accepted by Carol');
  }, 120_000);

  it('runs the same demo over the simulator\'s Twilio side with --carrier twilio, recorded as a Twilio call', async () => {
    const lines: string[] = [];
    const code = await runDemo(parseConfig({ dataDir: join(dir, 'twilio'), log: { level: 'silent' } }), {
      exit: true,
      wavPath: join(dir, 'caller-twilio.wav'),
      portGiven: false,
      carrier: 'twilio',
      out: (l) => lines.push(l),
    });
    expect(code).toBe(0);
    const text = lines.join('\n');
    expect(text).toMatch(/a local Twilio: REST API, signed webhooks and status callbacks, Media Streams/);
    expect(text).toMatch(/playback cleared by the gateway \(barge-in/);
    expect(text).toMatch(/call ended: bot-hangup/);
    expect(text).toMatch(/carrier twilio CA[0-9a-f]{32}/);
    expect(lines.at(-1)).toBe('Outcome: accepted by Carol');
  }, 120_000);

  it('runs the same demo over SIP with --carrier sip: the caller dials the gateway\'s SIP port, its key travels as an RFC 4733 event, the campaign calls ring the simulator\'s SIP phones', async () => {
    const lines: string[] = [];
    const code = await runDemo(parseConfig({ dataDir: join(dir, 'sip'), log: { level: 'silent' } }), {
      exit: true,
      wavPath: join(dir, 'caller-sip.wav'),
      portGiven: false,
      carrier: 'sip',
      out: (l) => lines.push(l),
    });
    expect(code).toBe(0);
    const text = lines.join('\n');
    expect(text).toMatch(/simulator {2}sip:127\.0\.0\.1:\d+ {3}\(a SIP trunk on loopback/);
    expect(text).toMatch(/caller {4}presses 1/);
    expect(text).toMatch(/gateway {3}received key 1/);
    expect(text).toMatch(/caller {4}call over: Voxgate hung up \(BYE\) \(voxgate\)/);
    expect(text).toMatch(/call ended: bot-hangup/);
    // The record names the SIP Call-ID the simulated phone put in its INVITE.
    expect(text).toMatch(/carrier sip [0-9a-f]{24}@127\.0\.0\.1/);
    expect(text).toMatch(/keys pressed: 1;/);
    const history = lines.slice(lines.findIndex((l) => l.startsWith('Attempt history')) + 1, lines.findIndex((l) => l.startsWith('Outcome:')));
    expect(history.map((l) => l.trim().split(/\s+/).slice(0, 4).join(' '))).toEqual([
      'Alice attempt 1 no-answer',
      'Alice attempt 2 no-answer',
      'Alice attempt 3 no-answer',
      'Bob attempt 1 rejected',
      'Carol attempt 1 accepted',
    ]);
    expect(lines.at(-1)).toBe('Outcome: accepted by Carol');
  }, 120_000);
});
