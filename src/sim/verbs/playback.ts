/** Plays PCM (8 kHz) into the party's ear in real time and waits for it to be heard (or an abort). */
import type { SimCall } from '../sim-call.js';
import type { PlayoutQueue } from '../playout-queue.js';

/** Opens a playout queue, lets `fill` push audio into it, and resolves once everything has played. */
export async function playInRealTime(
  call: SimCall,
  label: string,
  signal: AbortSignal,
  fill: (queue: PlayoutQueue) => Promise<void>,
): Promise<void> {
  if (signal.aborted) return;
  const queue = call.openPlayout(label);
  const onAbort = () => queue.clear(true);
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    await fill(queue);
    if (!signal.aborted) await queue.drained();
  } finally {
    signal.removeEventListener('abort', onAbort);
    call.closePlayout(queue);
  }
}
