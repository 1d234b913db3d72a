/**
 * Figure 2's floor: the least a process can do to carry the same load. It answers the carrier's
 * answering webhook (Plivo's answer URL with a bidirectional <Stream>; with BENCH_CARRIER=twilio,
 * Twilio's voice URL with <Connect><Stream>), and on the stream WebSocket parses every message (JSON,
 * base64 payload) and sends one audio message back per media frame. Nothing else: no signature checks, no VAD,
 * no sessions. With `echo: false` (the "sink") it only parses: a stricter floor that shows what the
 * gateway costs beyond reading the stream, since echoing a message per frame is itself a large share of
 * the relay's CPU (one socket write per frame). With BENCH_CARRIER=sip the floor is a bare UDP echo
 * (bench/lib/sip-echo-floor.ts): it answers each INVITE and sends every RTP packet straight back, with
 * no SIP work per packet. Started by bench/run.ts; speaks the command protocol of bench/lib/ipc.ts.
 */
import { createServer } from 'node:http';
import { WebSocketServer, type RawData } from 'ws';
import { serveCommands } from './lib/ipc.js';
import { ArrivalStats, FrameArrivals } from './lib/frame-arrivals.js';
import { CpuWindow, WindowProfiler, memorySnapshot } from './lib/process-probe.js';
import { BENCH_RTP_PORTS, benchCarrier } from './lib/bench-carrier.js';
import { SipEchoFloor } from './lib/sip-echo-floor.js';

const CARRIER = benchCarrier();

if (CARRIER === 'sip') await serveSipFloor();
else serveStreamRelay();

/** The SIP floor: a UDP echo behind the least SIP that sets a call up. */
async function serveSipFloor(): Promise<void> {
  const floor = new SipEchoFloor(BENCH_RTP_PORTS.relay);
  const cpu = new CpuWindow();
  const profiler = new WindowProfiler();
  const sipUri = await floor.listen();
  serveCommands(
    {
      memory: () => memorySnapshot(),
      'profile-start': () => profiler.start(),
      'profile-stop': (path: string) => profiler.stop(path),
      'measure-start': () => {
        floor.arrivals.reset();
        floor.arrivals.measuring = true;
        cpu.start();
      },
      'measure-stop': () => {
        floor.arrivals.measuring = false;
        return { cpu: cpu.stop(), streams: floor.liveCalls, frames: floor.arrivals.frames, lateFrames: floor.arrivals.lateFrames, lateness: floor.arrivals.lateness.toJSON() };
      },
      totals: () => ({
        framesReceived: floor.arrivals.totalFrames,
        rtp: { sessions: floor.totals.calls, packetsReceived: floor.totals.packetsReceived, packetsSent: floor.totals.packetsSent, packetsLost: floor.lost() },
      }),
      start: (opts: { echo?: boolean }) => {
        floor.echo = opts.echo ?? true;
        return { answerUrl: '', hangupUrl: '', sipUri };
      },
      shutdown: async () => {
        await floor.close().catch(() => undefined);
        setImmediate(() => process.exit(0));
      },
    },
    { pid: process.pid },
  );
}

function serveStreamRelay(): void {
  const arrivals = new ArrivalStats();
  const cpu = new CpuWindow();
  const profiler = new WindowProfiler();
  let streams = 0;
  let messages = 0;
  let echo = true;

  const server = createServer((req, res) => {
    // Drain the form body; the relay needs nothing from it.
    req.resume();
    req.on('end', () => {
      if (req.url?.startsWith('/answer')) {
        const host = req.headers.host;
        res.writeHead(200, { 'content-type': 'application/xml' });
        res.end(
          CARRIER === 'twilio'
            ? `<?xml version="1.0" encoding="UTF-8"?><Response><Connect><Stream url="ws://${host}/stream"/></Connect></Response>`
            : `<?xml version="1.0" encoding="UTF-8"?><Response><Stream bidirectional="true" keepCallAlive="true" contentType="audio/x-mulaw;rate=8000">ws://${host}/stream</Stream></Response>`,
        );
        return;
      }
      res.writeHead(200);
      res.end();
    });
  });

  const wss = new WebSocketServer({ server, path: '/stream', perMessageDeflate: false, maxPayload: 64 * 1024 });
  wss.on('connection', (ws) => {
    streams++;
    const frames = new FrameArrivals(arrivals);
    let streamSid = '';
    ws.on('message', (data: RawData) => {
      messages++;
      const msg = JSON.parse(data.toString()) as { event: string; media?: { payload: string }; start?: { streamSid?: string } };
      if (msg.event === 'start') streamSid = msg.start?.streamSid ?? '';
      if (msg.event !== 'media' || !msg.media) return;
      frames.onFrame();
      const audio = Buffer.from(msg.media.payload, 'base64');
      if (!echo) return;
      if (CARRIER === 'twilio') ws.send(`{"event":"media","streamSid":"${streamSid}","media":{"payload":"${audio.toString('base64')}"}}`);
      else ws.send(`{"event":"playAudio","media":{"contentType":"audio/x-mulaw","sampleRate":8000,"payload":"${audio.toString('base64')}"}}`);
    });
    ws.on('close', () => streams--);
    ws.on('error', () => undefined);
  });

  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const base = `http://127.0.0.1:${port}`;
    serveCommands(
      {
        memory: () => memorySnapshot(),
        'profile-start': () => profiler.start(),
        'profile-stop': (path: string) => profiler.stop(path),
        'measure-start': () => {
          arrivals.reset();
          arrivals.measuring = true;
          cpu.start();
        },
        'measure-stop': () => {
          arrivals.measuring = false;
          return {
            cpu: cpu.stop(),
            streams,
            frames: arrivals.frames,
            lateFrames: arrivals.lateFrames,
            lateness: arrivals.lateness.toJSON(),
          };
        },
        totals: () => ({ framesReceived: arrivals.totalFrames, messages, streams }),
        start: (opts: { echo?: boolean }) => {
          echo = opts.echo ?? true;
          return { answerUrl: `${base}/answer`, hangupUrl: `${base}/hangup` };
        },
        shutdown: () => {
          setImmediate(() => process.exit(0));
        },
      },
      { pid: process.pid },
    );
  });
}
