/**
 * An LLM as a bot: one conversation with an OpenAI-compatible Chat Completions endpoint (OpenAI,
 * Azure OpenAI, Ollama, vLLM, llama.cpp server), speaking the bot-api activity vocabulary.
 *
 * - Answers stream; each complete sentence is emitted as a `message` activity as soon as it is
 *   complete, so speech starts while the model is still generating.
 * - Tool calls: transfer_call / hang_up / send_dtmf become `transfer` / `hangup` / `sendDtmf`
 *   events; user-defined HTTP tools are called and their answer fed back (bounded rounds).
 * - The history holds only what was emitted: a new user turn aborts the running stream, and a
 *   barge-in (`event promptInterrupted` or heardOnly()) cuts the assistant message to what the
 *   caller heard, so the model does not believe it said things the caller never heard.
 * - Errors (HTTP status, timeout, malformed stream) become a `failure` event; start/send never throw.
 */
import { EventEmitter } from 'node:events';
import { messageActivity, type Activity } from '../activity.js';
import type { BotConnector, BotConnectorEventMap, BotConversationInfo, BotDisconnectReason } from '../connector.js';
import { silentLogger, type Logger } from '../../logger.js';
import { systemClock, type Clock } from '../../runtime/clock.js';
import { IdleWatchdog } from '../../runtime/idle-watchdog.js';
import { ChatCompletionError, streamChatCompletion, type ChatMessage, type ChatToolCall, type StreamProgress } from './chat-completion-stream.js';
import { SentenceSplitter } from './sentence-splitter.js';
import { builtinToolActivity, callHttpTool, isBuiltinTool, toolDefinitions, type LlmHttpTool } from './llm-tools.js';

export interface LlmBotOptions {
  name: string;
  /** API root, e.g. https://api.openai.com/v1, http://127.0.0.1:11434/v1 (Ollama); `/chat/completions` is appended. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <apiKey>` (or in `apiKeyHeader`); no header when absent. */
  apiKey?: string;
  /** Header for the key instead of Authorization Bearer: Azure OpenAI uses `api-key`. */
  apiKeyHeader?: string;
  /** Query parameters of the completions URL (Azure OpenAI: `{ 'api-version': '2024-06-01' }`). */
  query?: Record<string, string>;
  model: string;
  systemPrompt: string;
  /** Spoken at start without asking the model; without it the model speaks first. */
  greeting?: string;
  temperature?: number;
  maxTokens?: number;
  tools?: LlmHttpTool[];
  /** Longest wait for the server: until the answer starts streaming, for an HTTP tool. Default 30000. */
  requestTimeoutMs?: number;
  /** Once the answer streams, the longest gap between two stream events (a stalled stream fails the turn). Default 10000. */
  idleTimeoutMs?: number;
  /** Completions in one turn that may end in HTTP tool calls before the bot gives up the turn. Default 5. */
  maxToolRounds?: number;
  logger?: Logger;
  clock?: Clock;
}

type AssistantMessage = Extract<ChatMessage, { role: 'assistant' }>;

/** Where an emitted activity's text sits in the history. */
interface SpokenSegment {
  message: AssistantMessage;
  start: number;
  end: number;
  turn?: LlmTurn;
}

interface LlmTurn {
  controller: AbortController;
}

/** Abort reason of a turn the caller cut short (new user input, barge-in, end): not a failure. */
class TurnSuperseded extends Error {}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_IDLE_TIMEOUT_MS = 10_000;

export class LlmBotConnector extends EventEmitter<BotConnectorEventMap> implements BotConnector {
  /** Barge-in reports keep the history to what the caller heard. */
  readonly wantsPromptInterruptions = true;
  readonly botName: string;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly completionsUrl: string;
  private readonly timeoutMs: number;
  private readonly idleTimeoutMs: number;
  private readonly history: ChatMessage[];
  private readonly spoken = new Map<string, SpokenSegment>();
  private current?: LlmTurn;
  /** Serializes turns: each input waits for the previous (already aborted) turn to settle. */
  private chain: Promise<void> = Promise.resolve();
  private started = false;
  private ended = false;
  private conversationId?: string;

  constructor(private readonly options: LlmBotOptions) {
    super();
    this.botName = options.name;
    this.log = (options.logger ?? silentLogger()).child({ bot: options.name });
    this.clock = options.clock ?? systemClock;
    this.timeoutMs = options.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    let url: URL;
    try {
      url = new URL(`${options.baseUrl.replace(/\/+$/, '')}/chat/completions`);
    } catch {
      throw new Error(`LLM bot "${options.name}": baseUrl ${JSON.stringify(options.baseUrl)} is not an absolute http(s) URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new Error(`LLM bot "${options.name}": baseUrl ${JSON.stringify(options.baseUrl)} is not an absolute http(s) URL`);
    }
    for (const [k, v] of Object.entries(options.query ?? {})) url.searchParams.set(k, v);
    this.completionsUrl = url.toString();
    this.history = [{ role: 'system', content: options.systemPrompt }];
  }

  /** The conversation as it will be sent on the next request (a copy). */
  get messages(): ChatMessage[] {
    return structuredClone(this.history);
  }

  async start(info: BotConversationInfo): Promise<void> {
    if (this.started) {
      this.fail(new Error(`LLM bot "${this.botName}": start() called twice`));
      return;
    }
    this.started = true;
    this.conversationId = info.conversationId;
    const greeting = this.options.greeting?.trim();
    if (greeting) {
      await Promise.resolve(); // emit after start() has handed back its promise, like every connector
      if (this.ended) return;
      const message: AssistantMessage = { role: 'assistant', content: '' };
      this.history.push(message);
      this.speak(message, greeting);
      return;
    }
    await this.enqueueTurn();
  }

  async send(activity: Activity): Promise<void> {
    if (this.ended) return;
    if (!this.started) {
      this.fail(new Error(`LLM bot "${this.botName}": send() before start()`));
      return;
    }
    if (activity.type === 'message') {
      const text = activity.text?.trim();
      if (!text) return;
      await this.enqueueTurn({ role: 'user', content: text });
      return;
    }
    switch (activity.name) {
      case 'DTMF': {
        const digits = typeof activity.value === 'string' || typeof activity.value === 'number' ? String(activity.value) : '';
        if (!digits) return;
        await this.enqueueTurn({ role: 'user', content: `[caller pressed ${digits}]` });
        return;
      }
      case 'promptInterrupted': {
        const value = activity.value as { activityId?: unknown; heardFraction?: unknown } | undefined;
        if (typeof value?.activityId !== 'string' || typeof value.heardFraction !== 'number') {
          this.log.warn({ value: activity.value }, 'promptInterrupted needs value {activityId: string, heardFraction: number}; ignored');
          return;
        }
        this.heardOnly(value.activityId, value.heardFraction);
        return;
      }
      default:
        return; // start, playFinished, speechHypothesis...: nothing for the model
    }
  }

  async end(reasonCode: BotDisconnectReason, reason?: string): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    this.current?.controller.abort(new TurnSuperseded('conversation ended'));
    this.log.debug({ conversationId: this.conversationId, reasonCode, reason }, 'LLM conversation ended');
    await this.chain;
  }

  /**
   * The caller heard only `heardFraction` (0..1) of the activity's text before barging in: cut the
   * assistant message to that (at a word boundary, marked "…"), drop the sentences after it, and
   * stop the answer if it is still streaming. Returns false for an unknown activity id.
   */
  heardOnly(activityId: string, heardFraction: number): boolean {
    const segment = this.spoken.get(activityId);
    if (!segment) {
      this.log.debug({ activityId }, 'promptInterrupted for an activity this bot did not speak (or already cut)');
      return false;
    }
    if (segment.turn && segment.turn === this.current) segment.turn.controller.abort(new TurnSuperseded('barge-in'));
    const { message, start, end } = segment;
    const content = message.content ?? '';
    const fraction = Number.isFinite(heardFraction) ? Math.min(1, Math.max(0, heardFraction)) : 1;
    const cut = start + Math.round((end - start) * fraction);
    let kept = content.slice(start, cut);
    // Mid-word: the caller did not hear that word as a word.
    if (cut < end && !/\s/.test(content[cut]) && !/\s$/.test(kept)) kept = kept.replace(/\S+$/, '');
    kept = kept.trimEnd();
    let cutContent = content.slice(0, start) + kept;
    if (cutContent.length < content.length) cutContent = `${cutContent.trimEnd()}…`;
    message.content = cutContent;
    for (const [id, s] of this.spoken) {
      if (s.message !== message) continue;
      if (s.start >= start + kept.length && id !== activityId) this.spoken.delete(id);
    }
    segment.end = start + kept.length;
    this.log.debug({ activityId, heardFraction: fraction, kept: cutContent }, 'assistant message cut to what was heard');
    return true;
  }

  // -- turns ------------------------------------------------------------------------------------

  /** Aborts the running turn (its emitted text stays in history), then runs a new one after it. */
  private enqueueTurn(input?: ChatMessage): Promise<void> {
    this.current?.controller.abort(new TurnSuperseded('new user input'));
    const turn: LlmTurn = { controller: new AbortController() };
    this.current = turn;
    const run = this.chain.then(async () => {
      if (turn.controller.signal.aborted || this.ended) {
        if (input) this.history.push(input); // superseded before it ran: the input still happened
        return;
      }
      if (input) this.history.push(input);
      try {
        await this.runTurn(turn);
      } catch (err) {
        const reason = turn.controller.signal.aborted ? turn.controller.signal.reason : err;
        if (reason instanceof TurnSuperseded) {
          this.log.debug({ reason: reason.message }, 'answer stream aborted');
          return;
        }
        this.fail(reason instanceof Error ? reason : new Error(String(reason)));
      } finally {
        if (this.current === turn) this.current = undefined;
      }
    });
    this.chain = run;
    return run;
  }

  private async runTurn(turn: LlmTurn): Promise<void> {
    const maxRounds = this.options.maxToolRounds ?? 5;
    const signal = turn.controller.signal;
    for (let round = 0; round <= maxRounds; round++) {
      const message: AssistantMessage = { role: 'assistant', content: '' };
      let inHistory = false;
      const speakSentence = (sentence: string): void => {
        if (signal.aborted) return; // never emit (or record) text after the caller cut the turn
        if (!inHistory) {
          this.history.push(message);
          inHistory = true;
        }
        this.speak(message, sentence, turn);
      };
      const splitter = new SentenceSplitter();
      const result = await this.withTimeout(turn.controller, `POST ${this.completionsUrl}`, (touch) =>
        streamChatCompletion({
          url: this.completionsUrl,
          headers: this.authHeaders(),
          body: this.requestBody(),
          signal,
          onContent: (text) => {
            for (const s of splitter.push(text)) speakSentence(s);
          },
          onActivity: touch,
        }),
      );
      if (signal.aborted) throw signal.reason;
      const rest = splitter.flush();
      if (rest) speakSentence(rest);
      const calls = result.toolCalls.filter((c) => c.function.name);
      if (calls.length === 0) {
        if (!inHistory) this.log.warn({ finishReason: result.finishReason }, 'the model answered with no text and no tool call');
        return;
      }
      if (!inHistory) this.history.push(message);
      message.tool_calls = calls.map((c, i) => ({ ...c, id: c.id || `call_${round}_${i}` }));
      if (message.content === '') message.content = null;
      if (!(await this.runToolCalls(turn, message.tool_calls))) return;
    }
    this.log.warn({ maxRounds }, 'the model kept calling tools; turn ended without an answer');
    this.fail(new Error(`LLM bot "${this.botName}": the model called tools ${maxRounds + 1} times in one turn without answering`));
  }

  /** Runs the calls, answering each in history; returns true when the model should continue. */
  private async runToolCalls(turn: LlmTurn, calls: ChatToolCall[]): Promise<boolean> {
    let continueTurn = false;
    let callEnded = false;
    for (let i = 0; i < calls.length; i++) {
      const call = calls[i];
      const answer = (content: string): void => {
        this.history.push({ role: 'tool', tool_call_id: call.id, content });
      };
      if (turn.controller.signal.aborted) {
        // Every tool call needs an answer in history, or the next request is rejected.
        answer('error: cancelled, the caller spoke');
        continue;
      }
      const args = parseArguments(call.function.arguments);
      const name = call.function.name;
      if (typeof args === 'string') {
        answer(`error: ${args}`);
        continueTurn = true;
        continue;
      }
      if (isBuiltinTool(name)) {
        if (callEnded) {
          answer('error: the call is already being transferred or ended');
          continue;
        }
        const mapped = builtinToolActivity(name, args);
        if ('error' in mapped) {
          this.log.warn({ tool: name, error: mapped.error }, 'invalid built-in tool call');
          answer(`error: ${mapped.error}`);
          continueTurn = true;
          continue;
        }
        this.emitActivity(mapped.activity);
        answer('done');
        if (name === 'send_dtmf') continueTurn = true;
        else callEnded = true; // transfer / hang up: nothing more to say on this call
        continue;
      }
      const tool = this.options.tools?.find((t) => t.name === name);
      if (!tool) {
        answer(`error: there is no tool named "${name}"`);
        continueTurn = true;
        continue;
      }
      // The tool gets its own controller: its timeout fails the tool call, not the turn.
      const toolController = new AbortController();
      const cancelTool = (): void => toolController.abort(turn.controller.signal.reason);
      turn.controller.signal.addEventListener('abort', cancelTool, { once: true });
      try {
        const result = await this.withTimeout(toolController, `${tool.method ?? 'POST'} ${tool.url}`, () =>
          callHttpTool(tool, args, toolController.signal),
        );
        answer(result);
        this.log.debug({ tool: name }, 'HTTP tool answered');
      } catch (err) {
        if (err instanceof TurnSuperseded) {
          answer('error: cancelled, the caller spoke');
          continue; // the remaining calls get the same answer
        }
        if (!(err instanceof ChatCompletionError)) throw err;
        this.log.warn({ tool: name, err }, 'HTTP tool timed out');
        answer(`error: ${err.message}`); // let the model apologise instead of failing the turn
      } finally {
        turn.controller.signal.removeEventListener('abort', cancelTool);
      }
      continueTurn = true;
    }
    if (turn.controller.signal.aborted) throw turn.controller.signal.reason;
    return continueTurn && !callEnded;
  }

  /**
   * Runs `work` under two deadlines: requestTimeoutMs until the answer starts (work calls
   * `touch('headers')` when the headers arrive), then idleTimeoutMs between stream events (work
   * calls `touch('event')` for each). On expiry `controller` aborts with a ChatCompletionError, which
   * closes the socket; the turn fails and the bot failure policy runs.
   */
  private async withTimeout<T>(controller: AbortController, what: string, work: (touch: (arrived: StreamProgress) => void) => Promise<T>): Promise<T> {
    let timedOut: ChatCompletionError | undefined;
    let events = 0;
    const expire = (error: ChatCompletionError): void => {
      timedOut = error;
      this.log.warn({ err: error.message, conversationId: this.conversationId }, 'deadline passed; request aborted');
      controller.abort(error);
    };
    const answer = new IdleWatchdog(this.clock, this.timeoutMs, () => expire(new ChatCompletionError(`${what}: no answer within ${this.timeoutMs} ms`)));
    const stream = new IdleWatchdog(this.clock, this.idleTimeoutMs, (stalledMs) =>
      expire(new ChatCompletionError(`${what}: the stream stalled: nothing for ${stalledMs} ms after ${events} event${events === 1 ? '' : 's'} (idleTimeoutMs)`)),
    );
    const touch = (arrived: StreamProgress): void => {
      if (arrived === 'headers') return answer.kick();
      events++;
      answer.stop();
      stream.kick();
    };
    answer.kick();
    try {
      return await work(touch);
    } catch (err) {
      // A timeout aborts the whole turn: report the timeout, not the abort it caused.
      throw timedOut ?? err;
    } finally {
      answer.stop();
      stream.stop();
    }
  }

  private speak(message: AssistantMessage, sentence: string, turn?: LlmTurn): void {
    const before = message.content ?? '';
    const start = before.length === 0 ? 0 : before.length + 1;
    message.content = before.length === 0 ? sentence : `${before} ${sentence}`;
    const activity = messageActivity(sentence, {}, this.clock.now());
    this.spoken.set(activity.id, { message, start, end: start + sentence.length, turn });
    this.emitActivity(activity);
  }

  /** A throwing listener is the gateway's bug: log it rather than report it as the LLM server's failure. */
  private emitActivity(activity: Activity): void {
    try {
      this.emit('activities', [activity]);
    } catch (err) {
      this.log.error({ err, activityId: activity.id }, 'an activities listener threw');
    }
  }

  private authHeaders(): Record<string, string> {
    const key = this.options.apiKey;
    if (!key) return {};
    const header = this.options.apiKeyHeader;
    return header && header.toLowerCase() !== 'authorization' ? { [header]: key } : { authorization: `Bearer ${key}` };
  }

  private requestBody(): Record<string, unknown> {
    const body: Record<string, unknown> = {
      model: this.options.model,
      messages: this.history,
      tools: toolDefinitions(this.options.tools ?? []),
    };
    if (this.options.temperature !== undefined) body.temperature = this.options.temperature;
    if (this.options.maxTokens !== undefined) body.max_tokens = this.options.maxTokens;
    return body;
  }

  private fail(error: Error): void {
    const err = error.message.startsWith('LLM bot') ? error : new Error(`LLM bot "${this.botName}": ${error.message}`, { cause: error });
    this.log.warn({ err }, 'LLM bot failure');
    this.emit('failure', err);
  }
}

/** The model's arguments JSON as an object, or a message saying what is wrong with it. */
function parseArguments(json: string): Record<string, unknown> | string {
  if (json.trim() === '') return {};
  try {
    const value: unknown = JSON.parse(json);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
    return `tool arguments must be a JSON object, got ${json}`;
  } catch {
    return `tool arguments are not valid JSON: ${json}`;
  }
}
