import { writeFile, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { silentLogger } from '../../src/logger.js';
import { ranByInstance, reconcileInterruptedCalls } from '../../src/store/interrupted-calls.js';
import { wavHeader } from '../../src/media/wav.js';
import { describeOnEachDialect, makeTempDir, uniqueCallId, type TempDir } from '../support/store-fixtures.js';

const T0 = 1_700_000_000_000;

describeOnEachDialect('calls left without an end by a previous process', (ctx) => {
  let recordings: TempDir;
  beforeAll(async () => {
    recordings = await makeTempDir('voxgate-recordings-');
  });
  afterAll(() => recordings?.remove());

  function start(id: string, at: number, instanceId?: string) {
    return ctx.store.calls.insertStarted({ id, carrier: 'plivo', carrierCallId: `p-${id}`, direction: 'inbound', from: '+1', to: '+2', bot: 'b', startedAt: at, instanceId });
  }

  it('by a restarting instance sharing the store: only its own calls (and ones from before calls named their instance), never the live calls of a sibling', async () => {
    const mine = uniqueCallId('mine');
    const legacy = uniqueCallId('legacy');
    const siblings = uniqueCallId('sibling');
    await start(mine, T0 + 100, 'gw-a:8080');
    await start(legacy, T0 + 100);
    await start(siblings, T0 + 100, 'gw-b:8080');

    const result = await reconcileInterruptedCalls(ctx.store, { startedBefore: T0 + 200, restrictTo: ranByInstance('gw-a:8080'), logger: silentLogger() });

    expect(result.calls).toEqual(expect.arrayContaining([mine, legacy]));
    expect(result.calls).not.toContain(siblings);
    expect(await ctx.store.calls.get(mine)).toMatchObject({ hangupCause: 'gateway-restart' });
    expect(await ctx.store.calls.get(siblings)).toMatchObject({ endedAt: null });
    // The sibling hangs up normally; the other tests share this store.
    await ctx.store.calls.complete(siblings, { endedAt: T0 + 300, hangupCause: 'Normal Hangup', hangupSide: 'caller', endReason: 'caller-hangup' });
  });

  it('are ended with gateway-restart at their last known activity; ended calls, newer calls and calls outside the filter are left alone', async () => {
    const open = uniqueCallId('open');
    const unanswered = uniqueCallId('unanswered');
    const done = uniqueCallId('done');
    const newer = uniqueCallId('newer');
    const otherOwner = uniqueCallId('other');
    await start(open, T0);
    await ctx.store.calls.markAnswered(open, T0 + 1000);
    await ctx.store.transcripts.add({ callId: open, at: T0 + 7000, speaker: 'caller', text: 'still talking' });
    await ctx.store.dtmf.add({ callId: open, at: T0 + 5000, digit: '1' });
    await start(unanswered, T0 + 10);
    await start(done, T0);
    await ctx.store.calls.complete(done, { endedAt: T0 + 2000, hangupCause: 'Normal Hangup', hangupSide: 'caller', endReason: 'caller-hangup' });
    await start(otherOwner, T0);
    await start(newer, T0 + 60_000);

    const result = await reconcileInterruptedCalls(ctx.store, { startedBefore: T0 + 60_000, restrictTo: (eb) => eb('id', '!=', otherOwner), logger: silentLogger() });

    expect(result.calls.sort()).toEqual([open, unanswered].sort());
    expect(await ctx.store.calls.get(open)).toMatchObject({ endedAt: T0 + 7000, durationMs: 6000, hangupCause: 'gateway-restart', hangupSide: 'gateway', endReason: 'gateway-restart' });
    expect(await ctx.store.calls.get(unanswered)).toMatchObject({ endedAt: T0 + 10, durationMs: 0, hangupCause: 'gateway-restart' });
    expect(await ctx.store.calls.get(done)).toMatchObject({ endedAt: T0 + 2000, hangupCause: 'Normal Hangup' });
    expect(await ctx.store.calls.get(otherOwner)).toMatchObject({ endedAt: null });
    expect(await ctx.store.calls.get(newer)).toMatchObject({ endedAt: null });
  });

  it('closes the WAV files they were recording as partial recordings, and removes ones with no audio', async () => {
    const id = uniqueCallId('recorded');
    const mtimeStart = Date.now() - 60_000;
    await start(id, mtimeStart);
    // As a crash leaves it: the header still says 0 bytes, audio after it, the last frame cut in half.
    const audio = Buffer.alloc(8000 * 4 + 2, 7);
    const path = join(recordings.path, `${id}-1.wav`);
    await writeFile(path, Buffer.concat([wavHeader(0, 8000, 2), audio]));
    const empty = join(recordings.path, `${id}-2.wav`);
    await writeFile(empty, wavHeader(0, 8000, 2));

    const result = await reconcileInterruptedCalls(ctx.store, { startedBefore: Date.now(), recordingsDir: recordings.path, logger: silentLogger() });

    expect(result.recordings).toBe(1);
    const [recording] = await ctx.store.recordings.listForCall(id);
    expect(recording).toMatchObject({ path, status: 'partial', error: 'interrupted by a gateway restart', sampleRate: 8000, channels: 2, durationMs: 1000 });
    const wav = await readFile(path);
    expect(wav.length).toBe(44 + 8000 * 4);
    expect(wav.readUInt32LE(40)).toBe(8000 * 4);
    await expect(stat(empty)).rejects.toMatchObject({ code: 'ENOENT' });
    // Ended when its audio last grew.
    expect((await ctx.store.calls.get(id))!.endedAt).toBe(recording.endedAt);
  });
});
