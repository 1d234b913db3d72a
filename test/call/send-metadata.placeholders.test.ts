import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolvePlaceholders } from '../../src/runtime/placeholders.js';
import { settle } from '../support/call-doubles.js';
import { startSession } from '../support/call-session-harness.js';

let base = '';
const received: { url: string; body: unknown }[] = [];
let onRequest: (() => void) | undefined;
const server = createServer((req: IncomingMessage, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    received.push({ url: req.url ?? '', body: JSON.parse(body) });
    res.end('{}');
    onRequest?.();
  });
});
beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('sendMetaData with a placeholder URL', () => {
  it('POSTs the bot’s metadata to the URL resolved at call start from the call’s attributes', async () => {
    const arrived = new Promise<void>((r) => (onRequest = r));
    const { bot } = await startSession({ settings: { sendMetaDataUrl: `${base}/crm/\${caller}/notes?to=\${callee}` } });
    bot.say({ type: 'event', name: 'sendMetaData', value: { intent: 'billing', score: 0.93 } });
    await arrived;
    expect(received.at(-1)).toEqual({ url: '/crm/+15551230001/notes?to=+15559870002', body: { conversationId: 'call-1', metadata: { intent: 'billing', score: 0.93 } } });
  });

  it('ends the call at start when a placeholder cannot be resolved, naming it', async () => {
    const { session, leg } = await startSession({ settings: { sendMetaDataUrl: `${base}/crm/\${customerId}` } });
    await settle();
    expect(session.endedWith).toMatchObject({ reason: 'config-error', byGateway: true });
    expect(leg.commands.at(-1)).toEqual({ kind: 'hangup', reason: 'config-error' });
    expect(() => resolvePlaceholders('${customerId}', { caller: '+1' }, 'sendMetaDataUrl')).toThrow('sendMetaDataUrl: unknown placeholder ${customerId} (known: caller)');
  });
});
