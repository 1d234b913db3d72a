import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSipMessage, serializeSipMessage, SipHeaders, type SipResponse } from '../../../src/carriers/sip/message/index.js';
import { startSipE2e, type SipE2eSetup } from '../../support/e2e-sip.js';

const OPENSSL = '/usr/bin/openssl';
const haveOpenssl = existsSync(OPENSSL);
if (!haveOpenssl) console.warn('skipping the SIP TLS test: openssl is needed to make a test certificate');

/** Sends one request over a TLS connection and resolves with the first complete response (a single small one). */
function requestOverTls(port: number, build: (headers: SipHeaders) => void): Promise<SipResponse> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const headers = new SipHeaders();
      headers.append('Via', `SIP/2.0/TLS 127.0.0.1:${socket.localPort};branch=z9hG4bK-tls-${Date.now()};rport`);
      headers.append('Max-Forwards', '70');
      headers.append('From', '<sip:probe@127.0.0.1>;tag=tls1');
      headers.append('To', '<sip:voxgate@127.0.0.1>');
      headers.append('Call-ID', `tls-${Date.now()}@127.0.0.1`);
      headers.append('CSeq', '1 OPTIONS');
      build(headers);
      socket.write(serializeSipMessage({ kind: 'request', method: 'OPTIONS', uri: `sips:voxgate@127.0.0.1:${port}`, headers, body: Buffer.alloc(0) }));
    });
    let data = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      data = Buffer.concat([data, chunk]);
      const text = data.toString('latin1');
      const headerEnd = text.indexOf('\r\n\r\n');
      if (headerEnd < 0) return;
      const message = parseSipMessage(data);
      socket.end();
      if (message.kind === 'response') resolve(message);
      else reject(new Error(`expected a response, got ${message.method}`));
    });
    socket.on('error', reject);
  });
}

describe.skipIf(!haveOpenssl)('SIP over TLS with a configured certificate', () => {
  let dir: string;
  let e2e: SipE2eSetup;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vg-sip-tls-'));
    execFileSync(OPENSSL, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    e2e = await startSipE2e({}, { tls: { port: 0, certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem') } });
  });
  afterAll(async () => {
    await e2e?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers OPTIONS over TLS on the TLS port with what it allows, back over the same connection', async () => {
    const port = e2e.sip.transport.port('tls')!;
    expect(port).toBeGreaterThan(0);
    const response = await requestOverTls(port, () => undefined);
    expect(response.status).toBe(200);
    expect(response.headers.getAll('allow')).toEqual(expect.arrayContaining(['INVITE', 'ACK', 'BYE', 'CANCEL', 'REFER', 'INFO']));
  });
});
