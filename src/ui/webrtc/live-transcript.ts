/** What the softphone and the widget show of a call's events: transcript lines and keys, labelled by who. */
import type { PageCallEvent } from '../../carriers/carrier.js';

export const KEYPAD_KEYS = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '0', '#'] as const;

export type LiveSpeaker = 'bot' | 'caller' | 'system' | 'keypad';

export const SPEAKER_LABELS: Record<LiveSpeaker, string> = { bot: 'Bot', caller: 'You', system: 'System', keypad: 'Keypad' };

export interface LiveLine {
  /** Unique within a call (the event's time and a counter), for list keys. */
  key: string;
  who: LiveSpeaker;
  text: string;
  at: number;
}

let counter = 0;

export function liveLine(event: Extract<PageCallEvent, { type: 'transcript' | 'dtmf' }>): LiveLine {
  const key = `${event.at}-${++counter}`;
  if (event.type === 'dtmf') return { key, who: 'keypad', text: `pressed ${event.digit}`, at: event.at };
  return { key, who: event.who, text: event.text, at: event.at };
}
