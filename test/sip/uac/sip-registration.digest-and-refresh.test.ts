import { afterEach, describe, expect, it } from 'vitest';
import { DigestVerifier, formatChallenge, parseAuthorization } from '../../../src/carriers/sip/message/digest.js';
import { startSipE2e, type SipE2eSetup } from '../../support/e2e-sip.js';
import { SipTestClient } from '../../support/sip-test-client.js';

describe('registering with a trunk registrar', () => {
  let registrar: SipTestClient | undefined;
  let e2e: SipE2eSetup | undefined;
  afterEach(async () => {
    await e2e?.close();
    await registrar?.close();
    e2e = registrar = undefined;
  });

  it('answers the 401 with a digest, keeps the registration fresh before the granted expiry, and unregisters on shutdown', async () => {
    // The registrar: a raw SIP peer (its target does not matter, it only answers).
    registrar = await SipTestClient.udp({ address: '127.0.0.1', port: 9 });
    const verifier = new DigestVerifier({ realm: 'trunk.example.com' });
    const first = registrar.waitForRequest('REGISTER', { timeoutMs: 10_000 });
    e2e = await startSipE2e({}, { trunks: [{ name: 'trunk', outbound: { proxy: `sip:127.0.0.1:${registrar.local.port}`, domain: 'trunk.example.com', username: 'voxgate', password: 'trunk-secret', register: { expiresSec: 300 } } }] });

    const unauthenticated = await first;
    expect(unauthenticated.message.uri).toBe(`sip:127.0.0.1:${registrar.local.port}`);
    expect(unauthenticated.message.headers.get('to')).toBe('<sip:voxgate@trunk.example.com>');
    expect(unauthenticated.message.headers.get('expires')).toBe('300');
    const retried = registrar.waitForRequest('REGISTER', { timeoutMs: 5000 });
    registrar.respond(unauthenticated, 401, { reason: 'Unauthorized', toTag: 'reg1', headers: [['WWW-Authenticate', formatChallenge(verifier.challenge())]] });

    const authenticated = await retried;
    const credentials = parseAuthorization(authenticated.message.headers.get('authorization')!);
    expect(verifier.verify('REGISTER', credentials, 'trunk-secret')).toBe('ok');
    // Same Call-ID, next CSeq (RFC 3261 10.2.4 / 22.2).
    expect(authenticated.message.headers.get('call-id')).toBe(unauthenticated.message.headers.get('call-id'));
    expect(Number(authenticated.message.headers.get('cseq')!.split(' ')[0])).toBe(Number(unauthenticated.message.headers.get('cseq')!.split(' ')[0]) + 1);

    // The registrar grants 6 s only: the refresh comes well before those 6 s are up.
    const contact = authenticated.message.headers.get('contact')!;
    const refreshed = registrar.waitForRequest('REGISTER', { timeoutMs: 8000 });
    const grantedAt = Date.now();
    registrar.respond(authenticated, 200, { toTag: 'reg1', headers: [['Contact', `${contact};expires=6`]] });
    const refresh = await refreshed;
    expect(refresh.at - grantedAt).toBeLessThan(6000);
    expect(refresh.message.headers.get('call-id')).toBe(unauthenticated.message.headers.get('call-id'));

    // Shutting down removes the binding (Expires: 0).
    const removal = registrar.waitForRequest('REGISTER', { timeoutMs: 5000, where: (r) => r.message.headers.get('expires') === '0' });
    registrar.respond(refresh, 200, { toTag: 'reg1', headers: [['Contact', `${contact};expires=300`]] });
    const closing = e2e.close();
    e2e = undefined;
    registrar.respond(await removal, 200, { toTag: 'reg1' });
    await closing;
  });
});
