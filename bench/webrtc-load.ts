/**
 * The load generator of the `webrtc` figure, in its own process: browser-style werift callers
 * (test/support/webrtc-client.ts) that place calls over WHIP and send 20 ms of audio every 20 ms
 * (silence, as an open microphone in a quiet room does), without decoding what comes back.
 */
import { WebRtcCaller, type ClientCodec } from '../test/support/webrtc-client.js';
import { serveCommands } from './lib/ipc.js';

let callers: WebRtcCaller[] = [];

async function place(args: { baseUrl: string; token: string; bot: string; codec: ClientCodec; calls: number }): Promise<number> {
  const started: WebRtcCaller[] = [];
  // A few at a time: each offer gathers candidates and the answer runs a DTLS handshake.
  const BATCH = 5;
  for (let i = 0; i < args.calls; i += BATCH) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(BATCH, args.calls - i) }, async () => {
        const caller = await WebRtcCaller.call({ baseUrl: args.baseUrl, bot: args.bot, token: args.token, origin: args.baseUrl, codec: args.codec, decodeReceived: false });
        await caller.connected();
        return caller;
      }),
    );
    started.push(...batch);
  }
  callers.push(...started);
  return started.length;
}

async function hangupAll(): Promise<void> {
  const all = callers;
  callers = [];
  await Promise.all(all.map(async (c) => {
    await c.hangup().catch(() => undefined);
    await c.close();
  }));
}

serveCommands(
  {
    place: (args: Parameters<typeof place>[0]) => place(args),
    'hangup-all': () => hangupAll(),
    shutdown: async () => {
      await hangupAll();
      setImmediate(() => process.exit(0));
    },
  },
  {},
);
