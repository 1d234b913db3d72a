/**
 * The two WebRTC servers the `webrtc` figure measures, each in its own process (`webrtc-servers.ts
 * gateway` or `... floor`), speaking bench/lib/ipc.ts:
 * - gateway: Voxgate itself (startGateway) with the webrtc carrier on loopback and a flow bot that
 *   talks without pause (a long prompt, asked again and again), so every call runs both media paths:
 *   the caller's Opus/PCMU decoded, VAD, the bot's TTS encoded and paced, the session, the records;
 * - floor: the same WebRTC stack (werift, the carrier's own offer reading and answering) with nothing
 *   behind it: each call's RTP is sent straight back. What the gateway costs beyond it is Voxgate's.
 */
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RTCPeerConnection, RtpPacket } from 'werift';
import { startGateway, type Gateway } from '../src/app/gateway.js';
import { parseConfig } from '../src/config/load.js';
import { silentLogger } from '../src/logger.js';
import { readOffer } from '../src/carriers/webrtc/sdp-offer.js';
import { answerOffer, createPeer } from '../src/carriers/webrtc/webrtc-call.js';
import { serveCommands } from './lib/ipc.js';
import { CpuWindow, memorySnapshot } from './lib/process-probe.js';
import { BENCH_BOT, BENCH_TOKEN, type ServerReady } from './webrtc.js';

const TALK = 'Thank you for calling the benchmark line. This message is long on purpose, so that the gateway is always speaking while the caller is listening, which is what a busy call looks like.';

/** The flow bot that talks for as long as the call lasts. */
const talkerFlow = {
  name: 'talker',
  language: 'en-US',
  start: 'talk',
  steps: { talk: { collect: { prompt: TALK, maxDigits: 1, timeoutMs: 500, branches: { '9': 'talk' }, noMatch: 'talk', timeout: 'talk' } } },
};

const cpu = new CpuWindow();
const kind = process.argv[2] === 'floor' ? 'floor' : 'gateway';

async function startVoxgate(): Promise<{ baseUrl: string; close: () => Promise<void>; live: () => number }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'vg-bench-webrtc-'));
  const config = parseConfig({
    bots: [{ name: BENCH_BOT, type: 'flow', flow: talkerFlow }],
    routes: [{ number: '*', bot: BENCH_BOT }],
    api: { token: BENCH_TOKEN },
    server: { host: '127.0.0.1', port: 0 },
    dataDir,
    log: { level: 'silent' },
    carriers: { webrtc: { interfaceAddress: '127.0.0.1', maxCalls: 1000 } },
  });
  const gateway: Gateway = await startGateway(config, { logger: silentLogger() });
  return {
    baseUrl: gateway.publicUrl,
    live: () => gateway.calls.size,
    async close() {
      await gateway.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** WHIP POST -> an answering werift peer that echoes its RTP; DELETE -> close. */
async function startFloor(): Promise<{ baseUrl: string; close: () => Promise<void>; live: () => number }> {
  const peers = new Map<string, RTCPeerConnection>();
  let next = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        if (req.method === 'DELETE') {
          const id = req.url!.split('/').pop()!;
          await peers.get(id)?.close();
          peers.delete(id);
          res.writeHead(200).end();
          return;
        }
        const sdp = Buffer.concat(chunks).toString('utf8');
        const offer = readOffer(sdp, ['opus', 'PCMU', 'PCMA']);
        const pc = createPeer(offer, { iceServers: [], config: { interfaceAddress: '127.0.0.1' } });
        const answer = await answerOffer(pc, sdp);
        const audio = pc.getTransceivers().find((t) => t.kind === 'audio')!;
        const echo = (packet: RtpPacket) => void audio.sender.sendRtp(packet).catch(() => undefined);
        for (const track of audio.receiver.tracks) track.onReceiveRtp.subscribe(echo);
        audio.onTrack.subscribe((track) => track.onReceiveRtp.subscribe(echo));
        const id = String(next++);
        peers.set(id, pc);
        res.writeHead(201, { 'content-type': 'application/sdp', location: `/webrtc/whip/${id}`, 'x-voxgate-call-id': id }).end(answer);
      })().catch((err: unknown) => res.writeHead(500).end(String(err)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return {
    baseUrl: `http://127.0.0.1:${address.port}`,
    live: () => peers.size,
    async close() {
      await Promise.all([...peers.values()].map((pc) => pc.close()));
      server.close();
    },
  };
}

const running = kind === 'floor' ? await startFloor() : await startVoxgate();
serveCommands(
  {
    'measure-start': () => cpu.start(),
    'measure-stop': () => cpu.stop(),
    memory: () => memorySnapshot(),
    'live-calls': () => running.live(),
    shutdown: async () => {
      await running.close();
      setImmediate(() => process.exit(0));
    },
  },
  { baseUrl: running.baseUrl } satisfies ServerReady,
);
