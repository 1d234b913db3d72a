/**
 * Executes Plivo XML documents for one call, verb by verb in document order, following action URLs
 * and Redirects into new documents. Running out of verbs hangs up with "End Of XML Instructions" (4010);
 * a document Plivo would reject (see plivo-xml.ts) hangs up with "Invalid Answer XML".
 */
import type { HttpMethod } from './app-requests.js';
import { HANGUP_CAUSES, type HangupCause, type HangupSource } from './hangup-causes.js';
import { parsePlivoXml, PlivoXmlError, textContent, type XmlElement } from './plivo-xml.js';
import type { SimCall } from './sim-call.js';
import { execDial } from './verbs/dial.js';
import { execDtmf } from './verbs/dtmf.js';
import { execGetDigits, execGetInput } from './verbs/get-digits.js';
import { execHangup } from './verbs/hangup.js';
import { execPlay } from './verbs/play.js';
import { execPreAnswer } from './verbs/pre-answer.js';
import { execRedirect } from './verbs/redirect.js';
import { execSpeak } from './verbs/speak.js';
import { execStream } from './verbs/stream.js';
import { execWait } from './verbs/wait.js';

export type VerbResult =
  | { kind: 'next' }
  | { kind: 'fetch'; url: string; method: HttpMethod; params: Record<string, string> }
  | { kind: 'hangup'; cause: HangupCause; source: HangupSource };

export type ExecutionOutcome = { kind: 'hangup'; cause: HangupCause; source: HangupSource } | { kind: 'aborted' };

export interface VerbContext {
  call: SimCall;
  /** Aborts on transfer, hangup, or (for nested prompts) a key press. */
  signal: AbortSignal;
  /** URL of the document being executed (relative action URLs resolve against it). */
  documentUrl: string;
  /** Runs child verbs (GetDigits prompts, PreAnswer) with their own signal. */
  runNested(verbs: XmlElement[], signal: AbortSignal): Promise<VerbResult>;
}

export type VerbRunner = (ctx: VerbContext, el: XmlElement) => Promise<VerbResult>;

export const NEXT: VerbResult = { kind: 'next' };

const VERBS: Record<string, VerbRunner> = {
  Speak: execSpeak,
  Play: execPlay,
  Wait: execWait,
  GetDigits: execGetDigits,
  GetInput: execGetInput,
  Redirect: execRedirect,
  Hangup: execHangup,
  Dial: execDial,
  Stream: execStream,
  DTMF: execDtmf,
  PreAnswer: execPreAnswer,
};

/** Verbs that do not answer an inbound call (Plivo can reject or redirect before answering). */
const NON_ANSWERING = new Set(['Hangup', 'Redirect']);

/** Resolves `url` against the document it appeared in (Plivo accepts relative action URLs). */
export function resolveUrl(url: string, base: string): string {
  return new URL(url, base).toString();
}

export class XmlExecutor {
  constructor(
    private readonly call: SimCall,
    private readonly signal: AbortSignal,
  ) {}

  async runFromUrl(url: string, method: HttpMethod, event: string, fallbackUrl?: string, fallbackMethod?: HttpMethod): Promise<ExecutionOutcome> {
    const { requester } = this.call.env;
    let next: { url: string; method: HttpMethod; params: Record<string, string> } = { url, method, params: this.call.params({ Event: event }) };
    let first = true;
    for (;;) {
      let xml: string;
      try {
        xml = first
          ? await requester.fetchAnswerXml(next, fallbackUrl ? { url: fallbackUrl, method: fallbackMethod ?? 'POST' } : undefined, next.params, this.signal)
          : await requester.fetchXml(next.url, next.method, next.params);
      } catch (err) {
        if (this.signal.aborted) return { kind: 'aborted' };
        this.call.warn(`could not fetch XML: ${(err as Error).message}`);
        return { kind: 'hangup', cause: HANGUP_CAUSES.answerUrlUnreachable, source: 'Error' };
      }
      first = false;
      if (this.signal.aborted) return { kind: 'aborted' };
      let verbs: XmlElement[];
      try {
        verbs = parsePlivoXml(xml);
      } catch (err) {
        if (!(err instanceof PlivoXmlError)) throw err;
        this.call.warn(`invalid XML from ${next.url}: ${err.message}`);
        return { kind: 'hangup', cause: HANGUP_CAUSES.invalidAnswerXml, source: 'Error' };
      }
      const result = await this.runVerbs(verbs, this.signal, next.url, true);
      if (this.signal.aborted) return { kind: 'aborted' };
      if (result.kind === 'hangup') return result;
      if (result.kind === 'fetch') {
        next = result;
        continue;
      }
      return { kind: 'hangup', cause: HANGUP_CAUSES.endOfXml, source: 'Plivo' };
    }
  }

  private async runVerbs(verbs: XmlElement[], signal: AbortSignal, documentUrl: string, topLevel: boolean): Promise<VerbResult> {
    const ctx: VerbContext = {
      call: this.call,
      signal,
      documentUrl,
      runNested: (nested, nestedSignal) => this.runVerbs(nested, nestedSignal, documentUrl, false),
    };
    for (const verb of verbs) {
      if (signal.aborted || this.call.isEnded) return NEXT;
      if (topLevel && this.call.answeredAt === undefined && !NON_ANSWERING.has(verb.name)) this.call.markAnswered();
      const runner = VERBS[verb.name];
      const detail = verbDetail(verb);
      this.call.record({ type: 'xml', verb: verb.name, ...(detail ? { detail } : {}) });
      if (!runner) {
        // Valid Plivo XML the simulator does not model (Record, Conference, MultiPartyCall): skipped, visibly.
        this.call.warn(`<${verb.name}> is not simulated; skipped`);
        continue;
      }
      let result: VerbResult;
      try {
        result = await runner(ctx, verb);
      } catch (err) {
        this.call.warn(`<${verb.name}> failed: ${(err as Error).message}; continuing with the next element`);
        continue;
      }
      if (result.kind !== 'next') return result;
    }
    return NEXT;
  }
}

function verbDetail(verb: XmlElement): string | undefined {
  const text = textContent(verb);
  const attrs = Object.entries(verb.attrs).map(([k, v]) => `${k}=${v}`).join(' ');
  const s = [attrs, text.length > 80 ? `${text.slice(0, 77)}...` : text].filter(Boolean).join(' ');
  return s || undefined;
}
