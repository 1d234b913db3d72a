import { afterEach, describe, expect, it } from 'vitest';
import { TtsCache } from '../../src/speech/tts/cache.js';
import { tempCacheDir } from '../support/tts-cache-dir.js';
import { ToneTtsProvider, collectAudio } from '../support/tts-tone-provider.js';

const req = { text: 'welcome to voxgate', language: 'en-US', voice: 'female', sampleRate: 16000 };
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

describe('TtsCache: the disk copy survives a restart', () => {
  it('a new cache instance on the same directory serves the audio without the provider', async () => {
    const tmp = await tempCacheDir();
    cleanups.push(tmp.cleanup);
    const provider = new ToneTtsProvider();
    const original = await collectAudio(new TtsCache({ dir: tmp.dir }).synthesize(provider, req));
    expect((await tmp.files()).map((f) => f.replace(/^[0-9a-f]{64}/, 'KEY'))).toEqual(['KEY.json', 'KEY.pcm']);

    const restarted = new TtsCache({ dir: tmp.dir });
    const again = await collectAudio(restarted.synthesize(provider, req));
    expect(again).toEqual(original);
    expect(provider.calls).toHaveLength(1);
    // Promoted to memory: served again even when the disk copy is gone.
    await tmp.cleanup();
    expect(await collectAudio(restarted.synthesize(provider, req))).toEqual(original);
    expect(restarted.stats()).toMatchObject({ hits: 2, misses: 0, entries: 1 });
  });

  it('a truncated disk entry is dropped and synthesized again', async () => {
    const tmp = await tempCacheDir();
    cleanups.push(tmp.cleanup);
    const provider = new ToneTtsProvider();
    const original = await collectAudio(new TtsCache({ dir: tmp.dir }).synthesize(provider, req));
    const pcm = (await tmp.files()).find((f) => f.endsWith('.pcm'))!;
    const { truncate } = await import('node:fs/promises');
    await truncate(`${tmp.dir}/${pcm}`, 100);
    expect(await collectAudio(new TtsCache({ dir: tmp.dir }).synthesize(provider, req))).toEqual(original);
    expect(provider.calls).toHaveLength(2);
  });

  it('an unwritable directory only loses the disk copy; audio is still delivered', async () => {
    const tmp = await tempCacheDir();
    cleanups.push(tmp.cleanup);
    const { writeFile } = await import('node:fs/promises');
    await writeFile(`${tmp.dir}/a-file`, 'not a directory');
    const provider = new ToneTtsProvider();
    const cache = new TtsCache({ dir: `${tmp.dir}/a-file/cache` });
    const audio = await collectAudio(cache.synthesize(provider, req));
    expect(audio.length).toBe(4800);
    expect(await collectAudio(cache.synthesize(provider, req))).toEqual(audio);
  });
});
