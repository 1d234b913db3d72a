/** What the end-to-end tests of every carrier share: the menu and offer flows, what a caller heard, outbound statuses. */
import type { Gateway } from '../../src/app/gateway.js';
import type { BusEventMap } from '../../src/events/bus.js';
import type { OutboundStatusEvent } from '../../src/events/outbound-events.js';
import type { TimelineEvent } from '../../src/sim/timeline.js';
import { EspeakTtsProvider } from '../../src/speech/tts/espeak.js';

export const GREETING = 'Thanks for calling. Press 1 for sales, or 2 for support.';
export const SALES = 'Sales is closed today.';
export const SUPPORT = 'Support will call you back within the hour.';

/** A menu: 1 sales, 2 support, each answered and hung up. */
export const menuFlow = {
  name: 'e2e',
  language: 'en-US',
  start: 'menu',
  steps: {
    menu: { collect: { prompt: GREETING, maxDigits: 1, timeoutMs: 8000, branches: { '1': 'sales', '2': 'support' }, noMatch: 'bye', timeout: 'bye' } },
    sales: { say: SALES, hangup: 'completed' },
    support: { say: SUPPORT, hangup: 'completed' },
    bye: { say: 'Goodbye.', hangup: 'completed' },
  },
};

/** An offer a callee accepts with 1. */
export const offerFlow = {
  name: 'offer',
  language: 'en-US',
  start: 'menu',
  steps: {
    menu: { collect: { prompt: 'A ticket is waiting. Press 1 to accept.', maxDigits: 1, timeoutMs: 5000, branches: { '1': 'yes' }, noMatch: 'bye', timeout: 'bye' } },
    yes: { say: 'Thank you.', hangup: 'accepted' },
    bye: { say: 'Goodbye.', hangup: 'completed' },
  },
};

/** How long the local TTS speaks `text`, in ms. */
export async function spokenMs(text: string): Promise<number> {
  let samples = 0;
  for await (const chunk of new EspeakTtsProvider().synthesize({ text, language: 'en-US', sampleRate: 8000 })) samples += chunk.length;
  return samples / 8;
}

/** The stretches of audio a simulated caller heard, from its timeline. */
export function heardSegments(timeline: TimelineEvent[]): { atMs: number; durationMs: number }[] {
  return timeline.flatMap((e) => (e.type === 'heard-audio-stop' ? [{ atMs: e.atMs - e.durationMs, durationMs: e.durationMs }] : []));
}

/** Collects the outbound statuses of one call (the first, `initiated`, is published inside place()) until it is completed or failed. */
export function statusesOf(gateway: Gateway, conversationId: () => string | undefined): Promise<OutboundStatusEvent[]> {
  const all: OutboundStatusEvent[] = [];
  return new Promise((resolve) => {
    const off = gateway.bus.subscribe('outbound.status', (e) => {
      all.push(e);
      if (e.conversationId === conversationId() && (e.status === 'completed' || e.status === 'failed')) {
        off();
        resolve(all.filter((s) => s.conversationId === e.conversationId));
      }
    });
  });
}

/** Resolves with the gateway's call.ended event for the next call that ends. */
/**
 * Resolves when the gateway has played `text` out to the end (its last packet sent). A phone's
 * recording length is no substitute: it also holds the silence before the prompt began.
 */
export function promptPlayed(gateway: Gateway, text: string): Promise<BusEventMap['prompt.played']> {
  return new Promise((resolve) => {
    const off = gateway.bus.subscribe('prompt.played', (e) => {
      if (e.text !== text) return;
      off();
      resolve(e);
    });
  });
}

export function nextCallEnded(gateway: Gateway): Promise<BusEventMap['call.ended']> {
  return new Promise((resolve) => {
    const off = gateway.bus.subscribe('call.ended', (e) => {
      off();
      resolve(e);
    });
  });
}
