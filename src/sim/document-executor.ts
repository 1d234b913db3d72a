/**
 * Executes a carrier's XML documents (Plivo XML, TwiML) for one call, verb by verb in document order,
 * following action URLs and redirects into new documents until a verb ends the call, the documents run
 * out of verbs, or the run is aborted (call ended, documents replaced). What differs between carriers
 * is the dialect: its vocabulary, its verb runners, which verbs answer an inbound call, and how it ends
 * a call whose document could not be fetched or parsed.
 */
import { AppRequestError, type AppRequester, type HttpMethod } from './app-requests.js';
import type { TimelineEventInput } from './timeline.js';
import { describeElement, XmlDocumentError, type XmlElement } from './xml-document.js';

/** Where the next document comes from. */
export interface DocumentRequest {
  url: string;
  method: HttpMethod;
  params: Record<string, string>;
}

export type VerbResult<Ending> = { kind: 'next' } | ({ kind: 'fetch' } & DocumentRequest) | { kind: 'end'; ending: Ending };

export type ExecutionOutcome<Ending> = { kind: 'end'; ending: Ending } | { kind: 'aborted' };

/** What the executor needs from a call. */
export interface DocumentCall {
  readonly answeredAt: number | undefined;
  readonly isEnded: boolean;
  readonly env: { requester: AppRequester };
  markAnswered(): void;
  record(ev: TimelineEventInput): void;
  warn(message: string): void;
}

export interface VerbContext<Call, Ending> {
  call: Call;
  /** Aborts when the call ends or its documents are replaced, and (for nested prompts) on a key press. */
  signal: AbortSignal;
  /** URL of the document being executed (relative action URLs resolve against it); undefined for inline documents. */
  documentUrl: string | undefined;
  /** Runs child verbs (prompts inside a digit collection) with their own signal. */
  runNested(verbs: XmlElement[], signal: AbortSignal): Promise<VerbResult<Ending>>;
}

export type VerbRunner<Call, Ending> = (ctx: VerbContext<Call, Ending>, el: XmlElement) => Promise<VerbResult<Ending>>;

export interface DocumentDialect<Call, Ending> {
  verbs: Readonly<Record<string, VerbRunner<Call, Ending>>>;
  /** Top-level verbs that run without answering an inbound call (every other verb answers it first). */
  nonAnsweringVerbs: ReadonlySet<string>;
  /** Parses a document into its verbs; throws XmlDocumentError. */
  parse(xml: string): XmlElement[];
  /** How the call ends when a document could not be fetched. */
  fetchFailed(err: AppRequestError): Ending;
  /** How the call ends when a document is not valid in the dialect. */
  invalidDocument(err: XmlDocumentError, url: string | undefined): Ending;
  /** How the call ends when the documents run out of verbs. */
  outOfVerbs(): Ending;
}

export const NEXT = { kind: 'next' } as const;

/** Resolves `url` against the document it appeared in (carriers accept relative action URLs). */
export function resolveUrl(url: string, base: string | undefined): string {
  return new URL(url, base).toString();
}

export class DocumentExecutor<Call extends DocumentCall, Ending> {
  constructor(
    private readonly call: Call,
    private readonly dialect: DocumentDialect<Call, Ending>,
    private readonly signal: AbortSignal,
  ) {}

  /** Fetches the first document (retrying, then `fallback`) and runs it and every document it leads to. */
  async runFromUrl(first: DocumentRequest, fallback?: { url: string; method: HttpMethod }): Promise<ExecutionOutcome<Ending>> {
    let xml: string;
    try {
      xml = await this.call.env.requester.fetchFirstDocument(first, fallback, first.params, this.signal);
    } catch (err) {
      return this.fetchFailed(err as AppRequestError);
    }
    return this.runDocuments(xml, first.url);
  }

  /**
   * Runs `xml` (fetched from `documentUrl`, or given inline) and every document its verbs fetch, until
   * the call ends, the run is aborted or the verbs run out.
   */
  async runDocuments(xml: string, documentUrl: string | undefined): Promise<ExecutionOutcome<Ending>> {
    let url = documentUrl;
    for (;;) {
      if (this.signal.aborted) return { kind: 'aborted' };
      let verbs: XmlElement[];
      try {
        verbs = this.dialect.parse(xml);
      } catch (err) {
        if (!(err instanceof XmlDocumentError)) throw err;
        this.call.warn(`invalid XML from ${url ?? 'the inline document'}: ${err.message}`);
        return { kind: 'end', ending: this.dialect.invalidDocument(err, url) };
      }
      const result = await this.runVerbs(verbs, this.signal, url, true);
      if (this.signal.aborted) return { kind: 'aborted' };
      if (result.kind === 'end') return result;
      if (result.kind === 'next') return { kind: 'end', ending: this.dialect.outOfVerbs() };
      try {
        xml = await this.call.env.requester.fetchDocument(result.url, result.method, result.params);
      } catch (err) {
        return this.fetchFailed(err as AppRequestError);
      }
      url = result.url;
    }
  }

  private fetchFailed(err: AppRequestError): ExecutionOutcome<Ending> {
    if (this.signal.aborted) return { kind: 'aborted' };
    this.call.warn(`could not fetch XML: ${err.message}`);
    return { kind: 'end', ending: this.dialect.fetchFailed(err) };
  }

  private async runVerbs(verbs: XmlElement[], signal: AbortSignal, documentUrl: string | undefined, topLevel: boolean): Promise<VerbResult<Ending>> {
    const ctx: VerbContext<Call, Ending> = {
      call: this.call,
      signal,
      documentUrl,
      runNested: (nested, nestedSignal) => this.runVerbs(nested, nestedSignal, documentUrl, false),
    };
    for (const verb of verbs) {
      if (signal.aborted || this.call.isEnded) return NEXT;
      if (topLevel && this.call.answeredAt === undefined && !this.dialect.nonAnsweringVerbs.has(verb.name)) this.call.markAnswered();
      const runner = this.dialect.verbs[verb.name];
      const detail = describeElement(verb);
      this.call.record({ type: 'xml', verb: verb.name, ...(detail ? { detail } : {}) });
      if (!runner) {
        // Valid in the dialect but not modelled (recording, conferences...): skipped, visibly.
        this.call.warn(`<${verb.name}> is not simulated; skipped`);
        continue;
      }
      let result: VerbResult<Ending>;
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
