import { describe, expect, it } from 'vitest';
import { SentenceSplitter } from '../../src/bots/llm/sentence-splitter.js';

/** Feeds the pieces one by one and records after which piece each sentence came out. */
function split(pieces: string[]): { sentences: string[]; at: number[]; rest?: string } {
  const s = new SentenceSplitter();
  const sentences: string[] = [];
  const at: number[] = [];
  pieces.forEach((p, i) => {
    for (const sentence of s.push(p)) {
      sentences.push(sentence);
      at.push(i);
    }
  });
  return { sentences, at, rest: s.flush() };
}

describe('sentence splitter on streamed model text', () => {
  it('releases a sentence as soon as the whitespace after its end arrives', () => {
    expect(split(['Hi', ' there.', ' How', ' are you?', ' Fine'])).toEqual({
      sentences: ['Hi there.', 'How are you?'],
      at: [2, 4],
      rest: 'Fine',
    });
  });

  it('does not cut decimals, abbreviations, ellipses split across chunks or numbered list items', () => {
    const { sentences, rest } = split(['It costs 3', '.50 dollars. ', 'Ask Dr. Smith', ' or Mr. Jones.', '.. ', 'Then: 1. Open', ' the app. 2. Log in. ']);
    expect(sentences).toEqual(['It costs 3.50 dollars.', 'Ask Dr. Smith or Mr. Jones...', 'Then: 1. Open the app.', '2. Log in.']);
    expect(rest).toBeUndefined();
  });

  it('cuts at line breaks and keeps closing quotes with their sentence', () => {
    const { sentences, rest } = split(['He said "yes!" ', 'Next line\n', 'Last one']);
    expect(sentences).toEqual(['He said "yes!"', 'Next line']);
    expect(rest).toBe('Last one');
  });

  it('reset() drops the incomplete rest (an aborted stream is never spoken)', () => {
    const s = new SentenceSplitter();
    s.push('Half a sent');
    s.reset();
    expect(s.flush()).toBeUndefined();
  });
});
