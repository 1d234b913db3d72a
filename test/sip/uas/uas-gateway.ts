/**
 * What the UAS conformance tests share: a gateway whose SIP carrier answers calls with a short flow
 * bot (press 2 -> "Done." and the bot hangs up), and a raw client placing a call through it.
 */
import { expect } from 'vitest';
import type { SipResponse } from '../../../src/carriers/sip/message/index.js';
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

/** A gateway on loopback with the key flow on SIP_NUMBER; `sipConfig` goes into carriers.sip. */
export function startUasGateway(sipConfig: Record<string, unknown> = {}): Promise<SipE2eSetup> {
  return startSipE2e({ bots: [{ name: 'key-bot', type: 'flow', flow: keyFlow }], routes: [{ number: SIP_NUMBER, bot: 'key-bot' }] }, { rtp: { timeoutSec: 0 }, ...sipConfig });
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
