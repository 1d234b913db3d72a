/** The human summary of a benchmark run (markdown) and the check of each figure against its target. */
import type { BenchResults } from './run.js';
import { round } from './lib/stats.js';

export interface TargetCheck {
  figure: number;
  target: string;
  measured: string;
  /** undefined when the run did not measure it. */
  met: boolean | undefined;
}

const pp = (s: { p50Ms: number; p99Ms: number }) => `${fmt(s.p50Ms)} / ${fmt(s.p99Ms)}`;
const fmt = (v: number | undefined, digits = 2) => (v === undefined || Number.isNaN(v) ? 'n/a' : String(round(v, digits)));

export function evaluateTargets(r: Pick<BenchResults, 'capacity' | 'turns' | 'greetings' | 'vad'>): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const gw = (n: number) => r.capacity.find((c) => c.server === 'gateway' && c.calls === n);
  const relay = (n: number) => r.capacity.find((c) => c.server === 'relay' && c.calls === n);
  const top = gw(1000);
  checks.push({
    figure: 1,
    target: '1000 calls: no lost frames, p99 lateness < 20 ms, CPU <= 70% of one core',
    measured: top
      ? `lost ${top.framesLost}, late ${top.lateFrames}, p99 ${fmt(top.arrivalP99Ms)} ms, CPU ${fmt(top.cpuFraction * 100, 1)}%`
      : 'not run at 1000 calls',
    met: top ? top.framesLost === 0 && top.arrivalP99Ms < 20 && top.cpuFraction <= 0.7 : undefined,
  });
  const ratios = r.capacity
    .filter((c) => c.server === 'gateway' && relay(c.calls))
    .map((c) => ({ calls: c.calls, ratio: c.cpuFraction / relay(c.calls)!.cpuFraction }));
  checks.push({
    figure: 2,
    target: 'gateway CPU / bare relay CPU <= 1.5 at each N',
    measured: ratios.length ? ratios.map((x) => `${x.calls}: ${fmt(x.ratio)}`).join(', ') : 'not run',
    met: ratios.length ? ratios.every((x) => x.ratio <= 1.5) : undefined,
  });
  checks.push({
    figure: 3,
    target: 'turn overhead p99 < 5 ms at 1 and 500 calls',
    measured: r.turns.length
      ? r.turns
          .map((t) => `${t.calls} call(s): p99 ${fmt(t.turnInGateway.p99Ms)} ms to audio sent, ${fmt(t.turnFromDecision.p99Ms)} ms to audio received (n=${t.turnInGateway.samples})`)
          .join('; ')
      : 'not run',
    // The gateway's own overhead is the target; the received figure adds the load generator's event-loop delay.
    met: r.turns.length ? r.turns.every((t) => t.turnInGateway.samples > 0 && t.turnInGateway.p99Ms < 5) : undefined,
  });
  checks.push({
    figure: 4,
    target: 'barge-in reaction p99 < 25 ms beyond the minimum speech',
    measured: r.turns.length
      ? r.turns
          .map((t) => `${t.calls} call(s): p99 ${fmt(t.bargeIn.p99Ms)} ms received, ${fmt(t.bargeInToClearSent.p99Ms)} ms sent (n=${t.bargeIn.samples}, missed ${t.bargeInsMissed})`)
          .join('; ')
      : 'not run',
    met: r.turns.length ? r.turns.every((t) => t.bargeIn.samples > 0 && t.bargeIn.p99Ms < 25 && t.bargeInsMissed === 0) : undefined,
  });
  const cached = r.greetings.find((g) => g.cached);
  checks.push({
    figure: 5,
    target: 'first greeting, cached: p99 < 10 ms',
    measured: cached ? `p99 ${fmt(cached.greeting.p99Ms)} ms (n=${cached.greeting.samples})` : 'not run',
    met: cached ? cached.greeting.samples > 0 && cached.greeting.p99Ms < 10 : undefined,
  });
  const at10 = r.vad?.cells.filter((c) => c.snrDb === 10) ?? [];
  checks.push({
    figure: 6,
    target: 'VAD F1 >= 0.9 at 10 dB SNR',
    measured: at10.length ? at10.map((c) => `${c.corpus}/${c.noise} ${fmt(c.f1, 3)}`).join(', ') : 'not run',
    met: at10.length ? at10.every((c) => c.f1 >= 0.9) : undefined,
  });
  return checks;
}

export function renderSummary(r: BenchResults): string {
  const lines: string[] = [];
  const m = r.machine;
  lines.push(`# Voxgate benchmark (${r.mode}, ${r.carrier === 'sip' ? 'SIP with RTP' : `${r.carrier ?? 'plivo'} streams`}) ${r.startedAt}`, '');
  lines.push(
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGB} GB, Node ${m.node}, Linux ${m.kernel}. Load average before ${m.loadAvgBefore.join(' / ')}, after ${m.loadAvgAfter.join(' / ')}. Run took ${r.durationSec} s (${Object.entries(r.timings)
      .map(([k, v]) => `${k} ${v} s`)
      .join(', ')}).`,
    '',
  );
  lines.push('## Targets', '', '| fig | target | measured | met |', '|---|---|---|---|');
  for (const t of r.targets) lines.push(`| ${t.figure} | ${t.target} | ${t.measured} | ${t.met === undefined ? 'n/a' : t.met ? 'yes' : '**no**'} |`);
  lines.push('');

  if (r.capacity.length) {
    lines.push('## Figures 1-2: capacity and floor ratio', '');
    lines.push('CPU is user+system time of the server process over the window, as a fraction of one core (median of the windows). Lateness: caller frames at the server against their 20 ms schedule; late = 20 ms or more. Lost: sent by the simulator, never handled by the server.', '');
    lines.push('| N | server | CPU | gw/relay | gw/sink | ELU | RSS MB | RSS/call KB | heap/call KB | p50 ms | p99 ms | max ms | late | lost | load-gen CPU |');
    lines.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
    for (const c of r.capacity) {
      const relay = r.capacity.find((x) => x.server === 'relay' && x.calls === c.calls);
      const sink = r.capacity.find((x) => x.server === 'sink' && x.calls === c.calls);
      const ratio = c.server === 'gateway' && relay ? fmt(c.cpuFraction / relay.cpuFraction) : '';
      const sinkRatio = c.server === 'gateway' && sink ? fmt(c.cpuFraction / sink.cpuFraction) : '';
      lines.push(
        `| ${c.calls} | ${c.server} | ${fmt(c.cpuFraction * 100, 1)}% | ${ratio} | ${sinkRatio} | ${fmt(c.elu, 3)} | ${fmt(c.rssMB, 0)} | ${fmt(c.rssPerCallKB, 0)} | ${fmt(c.heapPerCallKB, 0)} | ${fmt(c.arrivalP50Ms)} | ${fmt(c.arrivalP99Ms)} | ${fmt(c.arrivalMaxMs)} | ${c.lateFrames}/${c.framesInWindows} | ${c.framesLost}/${c.framesSent} | ${fmt(c.loadGenCpuFraction * 100, 1)}% |`,
      );
    }
    for (const c of r.capacity.filter((x) => x.busEventsPerSec !== undefined && x.server === 'gateway')) {
      const types = Object.entries(c.busByType ?? {})
        .sort((a, b) => b[1].perSec * b[1].meanUs - a[1].perSec * a[1].meanUs)
        .map(([type, v]) => `${type} ${fmt(v.perSec, 1)}/s at ${fmt(v.meanUs, 1)} us`)
        .join(', ');
      lines.push('', `Event bus at ${c.calls} calls: ${fmt(c.busEventsPerSec, 1)} events/s, subscribers ${fmt((c.busCoreShare ?? 0) * 100, 3)}% of a core (${types}).`);
    }
    const bareRows = r.capacity.filter((c) => c.server === 'gateway-bare');
    for (const bare of bareRows) {
      const full = r.capacity.find((c) => c.server === 'gateway' && c.calls === bare.calls);
      if (full) lines.push('', `Control plane at ${bare.calls} calls: gateway ${fmt(full.cpuFraction * 100, 1)}% vs without metrics, alarms and polls ${fmt(bare.cpuFraction * 100, 1)}% (ratio ${fmt(full.cpuFraction / bare.cpuFraction)}); p99 lateness ${fmt(full.arrivalP99Ms)} vs ${fmt(bare.arrivalP99Ms)} ms.`);
    }
    const sipCells = r.capacity.filter((c) => c.rtp);
    if (sipCells.length) {
      lines.push(
        '',
        '### SIP: RTP calls against the bare UDP echo floor',
        '',
        'G.711 20 ms both ways, VAD on, cached answers. The floor ("relay") answers each INVITE and sends every RTP packet straight back, with no SIP work per packet. Send jitter: how far each RTP packet of the server arrives from 20 ms after the one before (per sequence step), at the load generator, over every window (the load generator\'s own loop delay is in it, for the floor too). Lost: RTP sequence gaps over the whole run, to the server (its sessions) and from it (the simulated phones).',
        '',
        '| N | server | CPU | gw/floor | RSS/call KB | send jitter p50 / p99 / max ms | packets timed | lost to server | lost from server | load-gen CPU |',
        '|---|---|---|---|---|---|---|---|---|---|',
      );
      for (const c of sipCells) {
        const x = c.rtp!;
        const floor = r.capacity.find((f) => f.server === 'relay' && f.calls === c.calls);
        const ratio = c.server === 'gateway' && floor ? fmt(c.cpuFraction / floor.cpuFraction) : '';
        lines.push(
          `| ${c.calls} | ${c.server === 'relay' ? 'UDP echo' : c.server} | ${fmt(c.cpuFraction * 100, 1)}% | ${ratio} | ${fmt(c.rssPerCallKB, 0)} | ${fmt(x.sendJitterP50Ms)} / ${fmt(x.sendJitterP99Ms)} / ${fmt(x.sendJitterMaxMs)} | ${x.jitterSamples} | ${x.lostToServer}/${x.sentToServer} | ${x.lostFromServer}/${x.sentByServer} | ${fmt(c.loadGenCpuFraction * 100, 1)}% |`,
        );
      }
    }
    const problems = r.capacity.filter((c) => Object.keys(c.problems).length || c.protocolErrors || c.streaming < c.calls);
    for (const c of problems) lines.push('', `- ${c.server} ${c.calls}: ${c.streaming}/${c.calls} streaming, ${c.protocolErrors} protocol errors; log: ${JSON.stringify(c.problems)}`);
    lines.push('');
  }
  if (r.turns.length) {
    lines.push('## Figures 3-4: turn overhead and barge-in reaction', '');
    lines.push(
      'p50 / p99 in ms. Turn (zero-latency STT and bot, cached TTS): from the endpoint decision in the gateway to the first audio message (Plivo playAudio, Twilio media) written to its socket (the gateway\'s overhead) and received by the simulated caller (adds the load generator\'s event-loop delay); "frame" is the caller frame on which the VAD decided, as sent. Barge-in: from the caller frame on which the VAD starts speech (minimum reached) to the clear (Plivo clearAudio, Twilio clear) written by the gateway and received by the caller.',
      '',
    );
    lines.push(
      '| calls | probed | turn n | decision -> audio sent | decision -> audio received | frame -> decision | frame -> audio received | barge-in n | frame -> clear sent | frame -> clear received | unanswered | missed |',
      '|---|---|---|---|---|---|---|---|---|---|---|---|',
    );
    for (const t of r.turns) {
      lines.push(
        `| ${t.calls} | ${t.probedCalls} | ${t.turnInGateway.samples} | ${pp(t.turnInGateway)} | ${pp(t.turnFromDecision)} | ${pp(t.frameToDecision)} | ${pp(t.turn)} | ${t.bargeIn.samples} | ${pp(t.bargeInToClearSent)} | ${pp(t.bargeIn)} | ${t.turnsUnanswered} | ${t.bargeInsMissed} |`,
      );
    }
    lines.push('', `WebSocketLeg.play() held the event loop per prompt: ${r.turns.map((t) => `${t.calls} call(s) p50 / p99 ${pp(t.playBlocking)} ms`).join('; ')}.`);
    lines.push('', `Clock offset between the processes estimated to within ${r.turns.map((t) => fmt(t.clockUncertaintyMs, 3)).join(' / ')} ms.`);
    lines.push('');
  }
  if (r.greetings.length) {
    lines.push('## Figure 5: first greeting', '', 'Stream `start` sent -> first audio message received, one call at a time.', '');
    lines.push('| greeting | calls | p50 ms | p99 ms | max ms |', '|---|---|---|---|---|');
    for (const g of r.greetings) lines.push(`| ${g.cached ? 'cached' : 'uncached (espeak-ng)'} | ${g.greeting.samples} | ${fmt(g.greeting.p50Ms)} | ${fmt(g.greeting.p99Ms)} | ${fmt(g.greeting.maxMs)} |`);
    lines.push('');
  }
  if (r.vad) {
    const v = r.vad;
    lines.push('## Figure 6: VAD quality', '');
    lines.push(`VAD at ${v.vad.sampleRate} Hz, minimum speech ${v.vad.minSpeechMs} ms, endpoint silence ${v.vad.silenceMs} ms; frames through mu-law; median of ${v.runs} noise seeds. Corpora: ${v.corpora.map((c) => `${c.name} (${c.clips} clips, ${c.seconds} s, ${round(c.speechFraction * 100, 1)}% speech frames)`).join('; ')}.`, '');
    for (const n of v.notes) lines.push(`- ${n}`);
    lines.push('| corpus | noise | SNR dB | precision | recall | F1 |', '|---|---|---|---|---|---|');
    for (const c of v.cells) lines.push(`| ${c.corpus} | ${c.noise} | ${c.snrDb} | ${c.precision} | ${c.recall} | ${c.f1} |`);
    lines.push('', '| disturbance | level dBFS | bursts | false barge-ins |', '|---|---|---|---|');
    for (const b of v.bursts) lines.push(`| ${b.kind} | ${b.levelDbfs ?? ''} | ${b.bursts} | ${b.falseBargeIns} |`);
    lines.push('');
  }
  if (r.errors.length) lines.push('## Errors', '', ...r.errors.map((e) => `- ${e}`), '');
  return `${lines.join('\n')}\n`;
}
