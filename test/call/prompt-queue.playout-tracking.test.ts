import { describe, expect, it } from 'vitest';
import { PromptQueue, type Prompt, type PromptOutcome } from '../../src/call/prompt-queue.js';
import { FakeClock } from '../support/fake-clock.js';
import { RecordingLeg, settle } from '../support/call-doubles.js';

function queueOn(leg: RecordingLeg, clock = new FakeClock()): PromptQueue {
  const q = new PromptQueue(leg, clock);
  leg.on('mark', (name) => q.onMark(name));
  return q;
}

function prompt(id: string, chunks: number[], opts: { fail?: boolean } = {}): Prompt {
  return {
    id,
    text: id,
    bargeIn: false,
    bargeInOnDTMF: false,
    async *audio() {
      for (const n of chunks) yield new Int16Array(n);
      if (opts.fail) throw new Error('TTS exploded');
    },
  };
}

describe('prompt playout tracking', () => {
  it('sends prompts in order with a mark after each, and reports each as heard when its mark returns', async () => {
    const clock = new FakeClock();
    const leg = new RecordingLeg();
    const q = queueOn(leg, clock);
    const done: PromptOutcome[] = [];
    q.on('finished', (o) => done.push(o));
    q.enqueue(prompt('a', [160, 160]));
    q.enqueue(prompt('b', [320]));
    await settle();
    expect(leg.commands.map((c) => c.kind)).toEqual(['play', 'play', 'mark', 'play', 'mark']);

    clock.advance(40);
    leg.playedOne();
    expect(done.map((d) => [d.prompt.id, d.heardInFull, d.endedAt - d.startedAt!])).toEqual([['a', true, 40]]);
    expect(q.current?.id).toBe('b');
    clock.advance(40);
    leg.playedOne();
    expect(done.map((d) => [d.prompt.id, d.endedAt - d.startedAt!])).toEqual([
      ['a', 40],
      ['b', 40],
    ]);
    expect(q.busy).toBe(false);
  });

  it('skips a prompt whose audio fails and keeps playing the next one', async () => {
    const leg = new RecordingLeg();
    const q = queueOn(leg);
    const failed: string[] = [];
    q.on('failed', (p) => failed.push(p.id));
    q.enqueue(prompt('broken', [160], { fail: true }));
    q.enqueue(prompt('ok', [160]));
    await settle();
    expect(failed).toEqual(['broken']);
    expect(leg.commands.filter((c) => c.kind === 'mark')).toEqual([{ kind: 'mark', name: 'prompt:ok' }]);
  });

  it('reports prompts cut by the call ending as not heard in full, without sending audio commands', async () => {
    const leg = new RecordingLeg();
    const q = queueOn(leg);
    q.enqueue(prompt('a', [160]));
    await settle();
    const before = leg.commands.length;
    const cut = q.close();
    expect(cut.map((o) => [o.prompt.id, o.heardInFull])).toEqual([['a', false]]);
    expect(leg.commands.length).toBe(before);
  });
});
