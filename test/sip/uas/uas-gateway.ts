/**
 * What the UAS conformance tests share: a gateway whose SIP carrier answers calls with a short flow
 * bot (press 2 -> "Done." and the bot hangs up), and a raw client placing a call through it.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import type { SipResponse } from '../../../src/carriers/sip/message/index.js';
import type { CallRecord } from '../../../src/store/schema.js';
import { SIP_NUMBER, startSipE2e, type SipE2eSetup } from '../../support/e2e-sip.js';
import { SipTestClient, type ClientDialog, type InviteOptions, type OutgoingRequest } from '../../support/sip-test-client.js';

export { SIP_NUMBER };

/** Waits for a key; 2 says "Done." and hangs up; no key within 20 s says "Bye." and hangs up. */
export const keyFlow = {
  name: 'uas',
  language: 'en-US',
  start: 'menu',
  steps: {
    menu: { collect: { prompt: 'Press two.', maxDigits: 1, timeoutMs: 20_000, branches: { '2': 'done' }, noMatch: 'bye', timeout: 'bye' } },
    done: { say: 'Done.', hangup: 'completed' },
    bye: { say: 'Bye.', hangup: 'completed' },
  },
};

/**
 * Called on this number, the gateway rings (180) for RING_MS before it answers: the bot is a webhook
 * "brain" that takes every request and says nothing, and the answer waits for the bot's first prompt
 * up to connectOnBotPromptTimeoutMS.
 */
export const SLOW_NUMBER = '+14155550199';
export const RING_MS = 3000;

export interface UasGateway extends SipE2eSetup {
  /** Requests the silent brain received ({ type: 'start' | 'end' | ... }). */
  brainRequests: { type: string }[];
}

/** A gateway on loopback with the key flow on SIP_NUMBER and the silent brain on SLOW_NUMBER; `sipConfig` goes into carriers.sip. */
export async function startUasGateway(sipConfig: Record<string, unknown> = {}): Promise<UasGateway> {
  const brainRequests: { type: string }[] = [];
  const brain = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      brainRequests.push(JSON.parse(body || '{}') as { type: string });
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => brain.listen(0, '127.0.0.1', resolve));
  const brainUrl = `http://127.0.0.1:${(brain.address() as AddressInfo).port}/brain`;
  const e2e = await startSipE2e(
    {
      bots: [
        { name: 'key-bot', type: 'flow', flow: keyFlow },
        { name: 'silent-brain', type: 'webhook', webhook: { url: brainUrl }, settings: { connectOnBotPrompt: true, connectOnBotPromptTimeoutMS: RING_MS } },
      ],
      routes: [
        { number: SIP_NUMBER, bot: 'key-bot' },
        { number: SLOW_NUMBER, bot: 'silent-brain' },
      ],
    },
    { rtp: { timeoutSec: 0 }, ...sipConfig },
  );
  return {
    ...e2e,
    brainRequests,
    async close() {
      await e2e.close();
      brain.closeAllConnections();
      await new Promise<void>((resolve) => brain.close(() => resolve()));
    },
  };
}

/** Every call record the store has for a SIP Call-ID. */
export async function recordsFor(e2e: SipE2eSetup, sipCallId: string): Promise<CallRecord[]> {
  await e2e.gateway.records.flush();
  return (await e2e.gateway.store.calls.list({ limit: 500 })).filter((r) => r.carrierCallId === sipCallId);
}

/** A UDP client aimed at the gateway's SIP port. */
export function udpClient(e2e: SipE2eSetup, options: Parameters<typeof SipTestClient.udp>[1] = {}): Promise<SipTestClient> {
  return SipTestClient.udp({ address: '127.0.0.1', port: e2e.sipPort }, options);
}

/** A TCP client connected to the gateway's SIP port. */
export function tcpClient(e2e: SipE2eSetup, options: Parameters<typeof SipTestClient.tcp>[1] = {}): Promise<SipTestClient> {
  return SipTestClient.tcp({ address: '127.0.0.1', port: e2e.sip.transport.port('tcp')! }, options);
}

export interface PlacedCall {
  invite: OutgoingRequest;
  ok: SipResponse;
  dialog: ClientDialog;
}

/** INVITE, 200 and (unless `ack: false`) the ACK: a confirmed call. */
export async function placeCall(client: SipTestClient, options: InviteOptions & { ack?: boolean } = {}): Promise<PlacedCall> {
  const invite = client.invite(options);
  client.send(invite);
  const ok = await client.waitForResponse(invite, undefined, { timeoutMs: 10_000 });
  expect(ok.status).toBe(200);
  const dialog = client.dialogFrom(invite, ok);
  if (options.ack !== false) client.send(dialog.ack());
  return { invite, ok, dialog };
}

/** The caller hangs up: BYE, its 200, and the gateway's call.ended. */
export async function hangUp(e2e: SipE2eSetup, client: SipTestClient, call: PlacedCall): Promise<void> {
  const ended = e2e.nextCallEnded();
  const bye = call.dialog.request('BYE');
  client.send(bye);
  expect((await client.waitForResponse(bye)).status).toBe(200);
  await ended;
}

/** Waits until the gateway has no live call (the ended event may precede the registry cleanup by a tick). */
export async function noLiveCalls(e2e: SipE2eSetup): Promise<void> {
  await expect.poll(() => e2e.gateway.calls.list().length, { timeout: 5000, interval: 20 }).toBe(0);
}

/** The gateway's live calls for a SIP Call-ID. */
export function liveCallsFor(e2e: SipE2eSetup, sipCallId: string): ReturnType<SipE2eSetup['gateway']['calls']['list']> {
  return e2e.gateway.calls.list().filter((c) => c.info.carrierCallId === sipCallId);
}
