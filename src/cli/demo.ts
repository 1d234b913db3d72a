/**
 * `voxgate demo [--carrier plivo|twilio|sip]`: the gateway and a local carrier simulator on loopback, and
 * one simulated caller who dials in over the carrier's real protocols (signed webhooks and the
 * bidirectional media stream, or SIP and RTP), listens to the flow bot, presses a key and hears the answer. Prints
 * the call's timeline and its stored record. Then the seed 002 escalation runs as an outbound
 * campaign against three virtual employees.
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { destination, pino } from 'pino';
import { startGateway } from '../app/gateway.js';
import type { VoxgateConfig } from '../config/schema.js';
import type { TimelineEvent } from '../sim/timeline.js';
import { startDemoCarrier, type DemoCarrierName } from './demo-carrier.js';
import { runEscalationDemo } from './demo-escalation.js';

export interface DemoOptions {
  exit: boolean;
  wavPath: string;
  portGiven: boolean;
  /** The carrier the simulator plays; default plivo. */
  carrier?: DemoCarrierName;
  /** Where the timeline goes (stdout by default). */
  out?: (line: string) => void;
}

const CALLER = '+14155550123';
const VOXGATE_NUMBER = '+14155550100';
/** The caller knows the menu: they press 1 this long after it starts, before it has finished. */
const KEY_INTO_MENU_MS = 2000;

export async function runDemo(config: VoxgateConfig, opts: DemoOptions): Promise<number> {
  const out = opts.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  await mkdir(config.dataDir, { recursive: true });
  const logPath = resolve(join(config.dataDir, 'voxgate-demo.log'));
  const logger = pino({ level: config.log.level, base: { service: 'voxgate' } }, destination({ dest: logPath, sync: false, mkdir: true }));

  const sim = await startDemoCarrier(opts.carrier ?? 'plivo', config, logger);
  const gateway = await startGateway(
    {
      ...config,
      server: { ...config.server, host: '127.0.0.1', port: opts.portGiven ? config.server.port : 0, publicUrl: undefined },
      carriers: sim.carriers,
      // The escalation's unanswered calls ring for 3 s, not 45, to keep the demo short.
      dialer: { ...config.dialer, ringTimeoutSec: 3 },
    },
    { logger },
  );
  sim.attachNumber(VOXGATE_NUMBER, gateway);

  out(`Voxgate demo`);
  out(`  gateway    ${gateway.url}   (records: ${gateway.store.location}, logs: ${logPath})`);
  out(`  simulator  ${sim.address}   (${sim.description})`);
  out('');
  out(`${CALLER} dials ${VOXGATE_NUMBER}; the flow bot answers; the caller presses 1 during the menu.`);
  out('');

  const t0 = Date.now();
  const line = (atMs: number, who: string, text: string) => out(`${(atMs / 1000).toFixed(2).padStart(7)}s  ${who.padEnd(9)} ${text}`);
  const unsubscribe = [
    gateway.bus.subscribe('transcript', (e) => line(e.at - t0, e.who === 'bot' ? 'bot' : e.who, `says "${e.text}"`)),
    gateway.bus.subscribe('dtmf', (e) => line(e.at - t0, 'gateway', `received key ${e.digit}`)),
    gateway.bus.subscribe('prompt.played', (e) => line(e.endedAt - t0, 'gateway', `prompt ${e.heardInFull ? 'heard in full' : 'cut off'} (${((e.endedAt - e.startedAt) / 1000).toFixed(2)}s): "${e.text}"`)),
    gateway.bus.subscribe('call.ended', (e) => line(e.at - t0, 'gateway', `call ended: ${e.reason} (${e.cause}, by ${e.side})`)),
  ];

  // The gateway's own end of the call (its record is complete then): over SIP it may come a moment after the caller's.
  const gatewayEnded = new Promise<void>((resolve) => {
    let callId: string | undefined;
    const offs = [
      gateway.bus.subscribe('call.started', (e) => {
        if (e.carrier === sim.name && e.carrierCallId === carrierCallId) callId = e.callId;
      }),
      gateway.bus.subscribe('call.ended', (e) => {
        if (e.callId !== callId) return;
        for (const off of offs) off();
        resolve();
      }),
    ];
  });
  const { call, carrierCallId } = sim.dialInbound({ from: CALLER, to: VOXGATE_NUMBER, script: { recordTo: opts.wavPath, hangupAfterSec: 120 } });
  // The welcome has been heard in full: the menu is playing now.
  const offWelcome = gateway.bus.subscribe('prompt.played', () => {
    offWelcome();
    call.party.press('1', KEY_INTO_MENU_MS);
  });
  call.on('timeline', (ev) => {
    const text = describeSimEvent(ev);
    if (text) line(ev.atMs, 'caller', text);
  });
  const result = await call.ended;
  await Promise.race([gatewayEnded, new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
  await gateway.records.flush();
  for (const u of unsubscribe) u();

  const record = await gateway.store.calls.getByCarrierCallId(carrierCallId, sim.name);
  out('');
  if (!record) {
    out('No call record was written; see the log for what went wrong.');
  } else {
    const [transcript, dtmf, prompts, turns] = await Promise.all([
      gateway.store.transcripts.listForCall(record.id),
      gateway.store.dtmf.listForCall(record.id),
      gateway.store.prompts.listForCall(record.id),
      gateway.store.turns.listForCall(record.id),
    ]);
    out(`Call record ${record.id} (${gateway.store.dialect}):`);
    out(`  ${record.direction} ${record.from} -> ${record.to}, bot ${record.bot}, carrier ${record.carrier} ${record.carrierCallId}`);
    out(`  duration ${((record.durationMs ?? 0) / 1000).toFixed(1)}s, hangup "${record.hangupCause}" by ${record.hangupSide}, reason ${record.endReason}`);
    out(`  keys pressed: ${dtmf.map((d) => d.digit).join(' ') || 'none'}; prompts: ${prompts.length} (${prompts.filter((p) => p.heardInFull).length} heard in full)`);
    out('Transcript:');
    for (const t of transcript) out(`  ${((t.at - record.startedAt) / 1000).toFixed(2).padStart(6)}s  ${t.speaker.padEnd(6)} ${t.text}`);
    out('Turns (where the time went: bot answer, first TTS audio, end to end):');
    const ms = (v: number | null) => (v === null ? '-' : `${v} ms`).padStart(7);
    for (const t of turns) out(`  #${t.seq} ${t.inputKind.padEnd(6)} ${(t.inputText ?? '').padEnd(4)} bot ${ms(t.botMs)}  tts ${ms(t.ttsMs)}  e2e ${ms(t.e2eMs)}  ${t.outcome}`);
  }
  out('');
  out(`The caller heard ${(result.heard.length / 8000).toFixed(1)}s of audio, written to ${resolve(opts.wavPath)}.`);
  out('');
  const escalated = await runEscalationDemo(gateway, sim, { caller: VOXGATE_NUMBER, out });

  if (opts.exit) {
    await sim.close();
    await gateway.close();
    logger.flush();
    return record && escalated ? 0 : 1;
  }
  out(`Still serving: gateway ${gateway.url}, simulator ${sim.address}. Ctrl-C to stop.`);
  await new Promise<void>((done) => {
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
  await sim.close();
  await gateway.close();
  return 0;
}

function describeSimEvent(ev: TimelineEvent): string | undefined {
  switch (ev.type) {
    case 'ringing':
      return `rings ${ev.to}`;
    case 'answered':
      return 'call answered by the carrier';
    case 'stream-start':
      return `carrier opened the audio stream (${ev.contentType})`;
    case 'heard-audio-start':
      return 'hears audio...';
    case 'heard-audio-stop':
      return `...heard ${(ev.durationMs / 1000).toFixed(2)}s of audio`;
    case 'key':
      return `presses ${ev.digit}`;
    case 'cleared':
      return `playback cleared by the gateway (barge-in, ${(ev.droppedMs / 1000).toFixed(2)}s not played)`;
    case 'warning':
      return `carrier warning: ${ev.message}`;
    case 'application-error':
      return `carrier application error ${ev.code}: ${ev.message}`;
    case 'hangup':
      return `call over: ${ev.cause} (${ev.source})`;
    default:
      return undefined;
  }
}
