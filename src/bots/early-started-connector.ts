/**
 * A bot conversation started before the call is connected ("connect on bot prompt"): the caller
 * keeps hearing ringing until the bot's first message is ready, so it never hears dead air while a
 * bot boots. What the bot says meanwhile is held and handed to the call session when it attaches,
 * in order, as if the session had started the bot itself.
 */
import { EventEmitter } from 'node:events';
import type { Activity } from './activity.js';
import type { BotConnector, BotConnectorEventMap, BotConversationInfo, BotDisconnectReason } from './connector.js';

type Held = { event: 'activities'; activities: Activity[] } | { event: 'failure'; error: Error };

export class EarlyStartedConnector extends EventEmitter<BotConnectorEventMap> implements BotConnector {
  readonly botName: string;
  readonly wantsPromptInterruptions?: boolean;
  /** When the bot was started (the clock of whoever created this). */
  readonly startedAt: number;
  /** Resolves once the bot has said something, failed, or could not start: time to connect the call. */
  readonly firstPrompt: Promise<void>;
  private readonly started: Promise<void>;
  private held: Held[] | undefined = [];
  private promptArrived!: () => void;

  constructor(
    private readonly inner: BotConnector,
    info: BotConversationInfo,
    now: number,
  ) {
    super();
    this.startedAt = now;
    this.botName = inner.botName;
    this.wantsPromptInterruptions = inner.wantsPromptInterruptions;
    this.firstPrompt = new Promise((resolve) => (this.promptArrived = resolve));
    inner.on('activities', (activities) => this.pass({ event: 'activities', activities }));
    inner.on('failure', (error) => this.pass({ event: 'failure', error }));
    this.started = inner.start(info);
    // A start that fails is reported to the session by start(); the call connects to play the apology.
    this.started.catch(() => undefined).finally(() => {
      if (info.initialActivity === null) this.promptArrived(); // no start activity: the bot speaks only when spoken to
    });
    this.started.catch(() => this.promptArrived());
  }

  /** The session attaches: everything held so far is delivered, then events flow through. Resolves as the bot's start does. */
  start(): Promise<void> {
    const held = this.held ?? [];
    this.held = undefined;
    queueMicrotask(() => {
      for (const h of held) {
        if (h.event === 'activities') this.emit('activities', h.activities);
        else this.emit('failure', h.error);
      }
    });
    return this.started;
  }

  send(activity: Activity): Promise<void> {
    return this.inner.send(activity);
  }

  end(reasonCode: BotDisconnectReason, reason?: string): Promise<void> {
    this.promptArrived();
    return this.inner.end(reasonCode, reason);
  }

  private pass(h: Held): void {
    this.promptArrived();
    if (this.held) this.held.push(h);
    else if (h.event === 'activities') this.emit('activities', h.activities);
    else this.emit('failure', h.error);
  }
}
