/**
 * Cuts streamed model text into sentences as soon as each one is complete, so speech can start on
 * the first sentence while the model is still generating the rest.
 *
 * A sentence is complete when its terminal punctuation is followed by whitespace (a bare "." at the
 * end of the buffer may still turn into "3.5" or "..."), or at a line break.
 */

/** Abbreviations whose period does not end a sentence ("Dr. Smith"). Lower case, without the dot. */
const ABBREVIATIONS = new Set(['mr', 'mrs', 'ms', 'dr', 'prof', 'st', 'sr', 'jr', 'vs', 'etc', 'e.g', 'i.e', 'no', 'approx']);

/** Terminal punctuation, optionally followed by closing quotes/brackets, then whitespace. */
const SENTENCE_END = /[.!?…。！？]+["'”’)\]]*(?=\s)|\n+/g;

export class SentenceSplitter {
  private buffer = '';

  /** Adds streamed text; returns the sentences it completed (trimmed, non-empty). */
  push(text: string): string[] {
    this.buffer += text;
    const out: string[] = [];
    let start = 0;
    SENTENCE_END.lastIndex = 0;
    for (let m = SENTENCE_END.exec(this.buffer); m !== null; m = SENTENCE_END.exec(this.buffer)) {
      const end = m.index + m[0].length;
      const candidate = this.buffer.slice(start, end);
      if (m[0][0] === '.' && m[0].length === 1 && (endsWithAbbreviation(candidate) || isListNumber(candidate))) continue;
      const sentence = candidate.trim();
      if (sentence.length > 0) out.push(sentence);
      start = end;
    }
    this.buffer = this.buffer.slice(start);
    return out;
  }

  /** The incomplete rest (end of the stream): returned trimmed, and the buffer cleared. */
  flush(): string | undefined {
    const rest = this.buffer.trim();
    this.buffer = '';
    return rest.length > 0 ? rest : undefined;
  }

  /** Drops the buffered incomplete text (the stream was aborted: it was never spoken). */
  reset(): void {
    this.buffer = '';
  }
}

/** "2. " opening a numbered list item (at the start or after a colon) belongs to the item's sentence. */
function isListNumber(candidate: string): boolean {
  return /(^|:)\s*\d{1,2}\.$/.test(candidate);
}

function endsWithAbbreviation(candidate: string): boolean {
  const word = /(\S+)\.$/.exec(candidate)?.[1]?.toLowerCase();
  return word !== undefined && ABBREVIATIONS.has(word.replace(/^[("'“‘]+/, ''));
}
