/**
 * The local flow bot: runs a Flow as a bot connector, speaking the bot-api activity vocabulary
 * exactly as a remote bot would (message, playUrl, config, transfer, hangup), so the gateway
 * answers calls out of the box and the call path has a single way of talking to bots.
 *
 * Timing: activities are emitted in one batch per turn (like the answer to a bot-api request),
 * after start()/send() has handed back its promise and before that promise resolves; never
 * synchronously inside the call, so a listener attached right after calling start() still sees them.
 */
import { EventEmitter } from 'node:events';
import { eventActivity, messageActivity, type Activity } from '../activity.js';
import type { BotConnector, BotConnectorEventMap, BotConversationInfo, BotDisconnectReason } from '../connector.js';
import { silentLogger, type Logger } from '../../logger.js';
import type { Flow, FlowCollect, FlowStep } from './flow-schema.js';

export interface FlowBotOptions {
  logger?: Logger;
  /** Steps run without waiting for caller input before the bot gives up (a flow looping on itself). Default 100. */
  maxStepsWithoutInput?: number;
}

type FlowBotState = 'idle' | 'running' | 'collecting' | 'finished';

const SPOKEN_DIGITS: Record<string, string> = {
  zero: '0', oh: '0', one: '1', two: '2', three: '3', four: '4', five: '5', six: '6', seven: '7', eight: '8', nine: '9',
  star: '*', hash: '#', pound: '#',
};

export class FlowBot extends EventEmitter<BotConnectorEventMap> implements BotConnector {
  readonly botName: string;
  private readonly log: Logger;
  private readonly maxStepsWithoutInput: number;
  private state: FlowBotState = 'idle';
  /** The step whose collect is waiting for input. */
  private collectingStep?: string;
  private readonly visits = new Map<string, number>();
  private conversationId?: string;

  constructor(
    readonly flow: Flow,
    options: FlowBotOptions = {},
  ) {
    super();
    this.botName = `flow:${flow.name}`;
    this.log = (options.logger ?? silentLogger()).child({ bot: this.botName });
    this.maxStepsWithoutInput = options.maxStepsWithoutInput ?? 100;
  }

  async start(info: BotConversationInfo): Promise<void> {
    if (this.state !== 'idle') throw new Error(`${this.botName}: start() called twice`);
    this.conversationId = info.conversationId;
    this.state = 'running';
    const batch = this.runFrom(this.flow.start);
    await Promise.resolve(); // see the module comment: emit after start() has returned
    this.emitBatch(batch);
  }

  async send(activity: Activity): Promise<void> {
    if (this.state === 'idle') throw new Error(`${this.botName}: send() before start()`);
    const batch = this.react(activity);
    await Promise.resolve();
    this.emitBatch(batch);
  }

  async end(reasonCode: BotDisconnectReason, reason?: string): Promise<void> {
    if (this.state === 'finished') return;
    this.state = 'finished';
    this.collectingStep = undefined;
    this.log.debug({ conversationId: this.conversationId, reasonCode, reason }, 'flow conversation ended');
  }

  /** The step waiting for caller input, if any (for diagnostics and the live view). */
  get waitingAt(): string | undefined {
    return this.collectingStep;
  }

  // -- reacting to the gateway -------------------------------------------------------------------

  private react(activity: Activity): Activity[] {
    if (this.state !== 'collecting' || !this.collectingStep) return []; // nothing is waiting for input
    const stepId = this.collectingStep;
    const collect = this.flow.steps[stepId].collect!;
    const name = activity.type === 'event' ? activity.name?.toLowerCase() : undefined;
    let input: string | undefined;
    if (name === 'dtmf') input = digitsOf(activity.value, collect);
    else if (activity.type === 'message') input = spokenChoice(activity.text ?? '', collect);
    else if (name === 'nouserinput') return this.resume(collect.timeout ?? stepId);
    else return []; // playFinished, speechHypothesis...: informational for a flow
    if (input !== undefined && input in collect.branches) return this.resume(collect.branches[input]);
    this.log.debug({ step: stepId, input }, 'input matches no branch');
    return this.resume(collect.noMatch ?? stepId);
  }

  private resume(stepId: string): Activity[] {
    this.collectingStep = undefined;
    this.state = 'running';
    return this.runFrom(stepId);
  }

  // -- running steps -----------------------------------------------------------------------------

  /** Runs steps until one waits for input or ends the conversation; returns the activities produced. */
  private runFrom(first: string): Activity[] {
    const out: Activity[] = [];
    let stepId: string | undefined = first;
    for (let count = 0; stepId !== undefined; count++) {
      if (count >= this.maxStepsWithoutInput) {
        const reason = `flow "${this.flow.name}" ran ${count} steps without waiting for input (last step "${stepId}")`;
        this.log.error({ conversationId: this.conversationId, step: stepId }, reason);
        out.push(eventActivity('hangup', { activityParams: { hangupReason: reason } }));
        this.state = 'finished';
        return out;
      }
      stepId = this.runStep(stepId, out);
    }
    return out;
  }

  /** Runs one step, appending its activities; returns the step to continue with, if any. */
  private runStep(stepId: string, out: Activity[]): string | undefined {
    const step: FlowStep = this.flow.steps[stepId];
    const visits = (this.visits.get(stepId) ?? 0) + 1;
    this.visits.set(stepId, visits);
    if (step.maxVisits !== undefined && visits > step.maxVisits) return step.exhausted;

    if (step.say !== undefined) out.push(this.message(step.say));
    if (step.play !== undefined) {
      const play = typeof step.play === 'string' ? { url: step.play } : step.play;
      const activityParams: Record<string, unknown> = { playUrlUrl: play.url };
      if (play.mediaFormat) activityParams.playUrlMediaFormat = play.mediaFormat;
      if (play.altText) activityParams.playUrlAltText = play.altText;
      out.push(eventActivity('playUrl', { activityParams }));
    }
    if (step.pause !== undefined) {
      // Silence as an SSML break: what a remote bot would send, and it queues behind earlier prompts.
      out.push(this.message(`<speak><break time="${Math.round(step.pause * 1000)}ms"/></speak>`));
    }

    if (step.collect) {
      out.push(eventActivity('config', { sessionParams: collectSessionParams(step.collect) }));
      if (step.collect.prompt) out.push(this.message(step.collect.prompt));
      this.state = 'collecting';
      this.collectingStep = stepId;
      return undefined;
    }
    if (step.transfer !== undefined) {
      const t = typeof step.transfer === 'string' ? { target: step.transfer } : step.transfer;
      const activityParams: Record<string, unknown> = { transferTarget: t.target };
      if (t.reason) activityParams.handoverReason = t.reason;
      if (t.sipHeaders) activityParams.transferSipHeaders = t.sipHeaders;
      out.push(eventActivity('transfer', { activityParams }));
      this.state = 'finished';
      return undefined;
    }
    if (step.hangup !== undefined) {
      out.push(eventActivity('hangup', { activityParams: { hangupReason: step.hangup === true ? 'completed' : step.hangup } }));
      this.state = 'finished';
      return undefined;
    }
    return step.next ?? step.goto;
  }

  private message(text: string): Activity {
    const ssml = /^\s*<speak[\s>]/.test(text);
    // `ssml: true` spares the gateway guessing; the <speak> root is there for gateways that look for it.
    return messageActivity(text, { language: this.flow.language, ...(ssml ? { activityParams: { ssml: true } } : {}) });
  }

  private emitBatch(batch: Activity[]): void {
    if (batch.length > 0) this.emit('activities', batch);
  }
}

function collectSessionParams(collect: FlowCollect): Record<string, unknown> {
  const params: Record<string, unknown> = {
    dtmfCollect: true,
    dtmfCollectMaxDigits: collect.maxDigits,
    userNoInputTimeoutMS: collect.timeoutMs,
    userNoInputSendEvent: true,
    sendDTMF: true,
    bargeInOnDTMF: true, // callers press keys during menus; the prompt should stop
  };
  if (collect.submitDigit) params.dtmfCollectSubmitDigit = collect.submitDigit;
  if (collect.interDigitTimeoutMs !== undefined) params.dtmfCollectInterDigitTimeoutMS = collect.interDigitTimeoutMs;
  return params;
}

/** The digits of a DTMF event, without a trailing submit digit (gateways differ on keeping it). */
function digitsOf(value: unknown, collect: FlowCollect): string | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  let digits = String(value).trim();
  if (collect.submitDigit && digits.length > 1 && digits.endsWith(collect.submitDigit)) digits = digits.slice(0, -1);
  return digits;
}

/** A spoken menu choice: "2", "two", "press two", "option 2". */
function spokenChoice(text: string, collect: FlowCollect): string | undefined {
  const words = text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}*# ]/gu, ' ')
    .split(/\s+/)
    .filter(Boolean)
    .map((w) => SPOKEN_DIGITS[w] ?? w);
  const candidates = words.filter((w) => /^[0-9*#]+$/.test(w));
  const joined = candidates.join('');
  if (joined in collect.branches) return joined;
  return candidates.find((c) => c in collect.branches) ?? (words.length ? words.join(' ') : undefined);
}
