/**
 * The carrier whose protocol the benchmark speaks: Plivo's audio stream (the default), Twilio Media
 * Streams, or SIP with RTP. `npm run bench -- --carrier twilio` sets BENCH_CARRIER for every benchmark
 * process, so the load generator, the gateway and the bare relay all speak the same one.
 */
export const BENCH_CARRIERS = ['plivo', 'twilio', 'sip'] as const;
export type BenchCarrier = (typeof BENCH_CARRIERS)[number];

export function benchCarrier(): BenchCarrier {
  const value = process.env.BENCH_CARRIER ?? 'plivo';
  if (!(BENCH_CARRIERS as readonly string[]).includes(value)) throw new Error(`BENCH_CARRIER "${value}": expected one of ${BENCH_CARRIERS.join(', ')}`);
  return value as BenchCarrier;
}

/** The load generator's simulated account, which the gateway is configured with. */
export const BENCH_ACCOUNT = {
  plivo: { authId: 'MABENCHVOXGATE000001', authToken: 'bench-auth-token-not-secret' },
  twilio: { accountSid: `AC${'be7c4'.padEnd(32, '0')}`, authToken: 'bench-auth-token-not-secret' },
} as const;

/**
 * RTP port ranges of the three SIP processes on one host, kept apart so a call's media never lands in
 * another process: the gateway's SIP carrier, the load generator's simulated phones, the UDP echo floor.
 */
export const BENCH_RTP_PORTS = {
  gateway: { min: 10000, max: 19999 },
  relay: { min: 20000, max: 29999 },
  loadGenerator: { min: 30000, max: 39999 },
} as const;
