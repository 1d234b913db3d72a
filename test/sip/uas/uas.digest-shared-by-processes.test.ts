import { describe, expect, it } from 'vitest';
import { InboundAccess } from '../../../src/carriers/sip/inbound-access.js';
import { buildAuthorization, parseChallenge } from '../../../src/carriers/sip/message/digest.js';
import { SipHeaders, type SipRequest } from '../../../src/carriers/sip/message/sip-message.js';

const trunk = { name: 'pbx', from: [], auth: { username: 'pbx', password: 'pbx-secret' } };
const invite = (authorization?: string): SipRequest => {
  const headers = new SipHeaders();
  if (authorization) headers.append('Authorization', authorization);
  return { kind: 'request', method: 'INVITE', uri: 'sip:+14155550170@voice.example.com', headers, body: Buffer.alloc(0) };
};
const access = (nonceSecret?: Buffer) =>
  new InboundAccess({ trunks: [trunk], realm: 'voice.example.com', ...(nonceSecret ? { nonceSecret } : {}), invitesPerSecond: 100, burst: 100, now: () => 1_700_000_000_000 });

/** The Authorization a PBX sends after the challenge `from` gave it. */
function answerChallengeOf(from: InboundAccess): string {
  const refused = from.admit(invite(), '192.0.2.10');
  if (refused.admitted) throw new Error('expected a challenge');
  const challenge = parseChallenge(refused.headers!.find(([name]) => name === 'WWW-Authenticate')![1]);
  expect(challenge.realm).toBe('voice.example.com');
  return buildAuthorization({ challenge, method: 'INVITE', uri: 'sip:+14155550170@voice.example.com', username: 'pbx', password: 'pbx-secret' });
}

describe('digest challenges across Voxgate processes behind one dispatcher', () => {
  it('with a shared realm and nonce secret, the answer to one process challenge is accepted by another', () => {
    const secret = Buffer.from('shared-nonce-secret');
    const [first, second] = [access(secret), access(secret)];
    expect(second.admit(invite(answerChallengeOf(first)), '192.0.2.10')).toEqual({ admitted: true, trunk: 'pbx' });
  });

  it('without one, the other process does not know the nonce and refuses the answer', () => {
    const [first, second] = [access(), access()];
    expect(second.admit(invite(answerChallengeOf(first)), '192.0.2.10')).toMatchObject({ admitted: false });
  });
});
