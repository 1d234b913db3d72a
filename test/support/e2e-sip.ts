/**
 * The gateway with its SIP carrier on loopback (UDP and TCP on a free port, RTP in a range of its own),
 * a temp data dir and the given bots and routes, for baresip and the SIP simulator to call.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway, type Gateway } from '../../src/app/gateway.js';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger, type Logger } from '../../src/logger.js';
import type { BusEventMap } from '../../src/events/bus.js';
import type { SipCarrier } from '../../src/carriers/sip/sip-carrier.js';
import { nextCallEnded } from './e2e-fixtures.js';

export const SIP_NUMBER = '+14155550170';

export interface SipE2eSetup {
  gateway: Gateway;
  sip: SipCarrier;
  /** The UDP port Voxgate's SIP listens on. */
  sipPort: number;
  /** sip:<number>@127.0.0.1:<port> for a phone to dial; `;transport=tcp` with `tcp`. */
  uriFor(number: string, transport?: 'udp' | 'tcp'): string;
  dataDir: string;
  nextCallEnded(): Promise<BusEventMap['call.ended']>;
  close(): Promise<void>;
}

/** `options.logger`: where the gateway logs (default: nowhere), e.g. a captureLogger() to count warnings. */
export async function startSipE2e(rawConfig: Record<string, unknown> = {}, sipConfig: Record<string, unknown> = {}, options: { logger?: Logger } = {}): Promise<SipE2eSetup> {
  const dataDir = await mkdtemp(join(tmpdir(), 'vg-e2e-sip-'));
  const config = parseConfig({
    ...rawConfig,
    server: { host: '127.0.0.1', port: 0 },
    dataDir,
    log: { level: 'silent' },
    carriers: { sip: { address: '127.0.0.1', port: 0, ...sipConfig } },
  });
  const gateway = await startGateway(config, { logger: options.logger ?? silentLogger() });
  const sip = gateway.carriers.get('sip') as SipCarrier;
  const sipPort = sip.transport.port('udp') ?? sip.transport.port('tcp')!;
  return {
    gateway,
    sip,
    sipPort,
    uriFor: (number, transport = 'udp') => `sip:${number}@127.0.0.1:${transport === 'tcp' ? sip.transport.port('tcp') : sipPort}${transport === 'tcp' ? ';transport=tcp' : ''}`,
    dataDir,
    nextCallEnded: () => nextCallEnded(gateway),
    async close() {
      await gateway.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
