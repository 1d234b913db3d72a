/**
 * What a page in the browser hears and says, measured in the page with WebAudio: the peak RMS of an
 * <audio> element's remote stream (the bot's voice as the page receives it), read while it plays.
 */
import type { Locator } from 'playwright-core';

/** Full-scale RMS above which a stretch is speech, not the silence or comfort noise of an idle line. */
export const AUDIBLE_RMS = 0.01;

/**
 * Starts an AnalyserNode on the element's srcObject; its running peak RMS is kept in the element's
 * data-peak-rms. Call once the element plays a stream (the call is connected).
 */
export async function watchReceivedLevel(audio: Locator): Promise<void> {
  await audio.evaluate((element: HTMLAudioElement) => {
    const stream = element.srcObject;
    if (!(stream instanceof MediaStream)) throw new Error('the <audio> element plays no MediaStream');
    const context = new AudioContext();
    const analyser = context.createAnalyser();
    analyser.fftSize = 2048;
    context.createMediaStreamSource(stream).connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    let peak = 0;
    element.dataset.peakRms = '0';
    const timer = setInterval(() => {
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const s of samples) sum += s * s;
      peak = Math.max(peak, Math.sqrt(sum / samples.length));
      element.dataset.peakRms = String(peak);
      if (!element.srcObject) {
        clearInterval(timer);
        void context.close();
      }
    }, 50);
    void context.resume();
  });
}

/** Waits until the watched element has received audio louder than AUDIBLE_RMS; resolves with its peak RMS. */
export async function receivedAudible(audio: Locator, timeoutMs = 15_000): Promise<number> {
  const handle = await audio.elementHandle();
  await audio.page().waitForFunction(({ element, min }) => Number((element as HTMLAudioElement).dataset.peakRms) > min, { element: handle, min: AUDIBLE_RMS }, { timeout: timeoutMs });
  return Number(await audio.getAttribute('data-peak-rms'));
}
