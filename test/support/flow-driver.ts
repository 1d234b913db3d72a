import { eventActivity, messageActivity, type Activity } from '../../src/bots/activity.js';
import { FlowBot, type FlowBotOptions } from '../../src/bots/flow/flow-bot.js';
import { validateFlow, type FlowDefinition } from '../../src/bots/flow/flow-schema.js';

/** Drives a FlowBot the way the call session does and returns each turn's activities. */
export class FlowDriver {
  readonly bot: FlowBot;
  private batches: Activity[][] = [];

  constructor(flow: FlowDefinition, options?: FlowBotOptions) {
    this.bot = new FlowBot(validateFlow(flow), options);
    this.bot.on('activities', (a) => this.batches.push(a));
  }

  async start(): Promise<Activity[]> {
    await this.bot.start({ conversationId: 'conv-1', direction: 'inbound', caller: '+15551230000', callee: '+15559870000' });
    return this.take();
  }

  async dtmf(digits: string): Promise<Activity[]> {
    await this.bot.send(eventActivity('DTMF', { value: digits }));
    return this.take();
  }

  async noInput(retry = 1): Promise<Activity[]> {
    await this.bot.send(eventActivity('noUserInput', { value: retry }));
    return this.take();
  }

  async say(text: string): Promise<Activity[]> {
    await this.bot.send(messageActivity(text, { parameters: { confidence: 0.9 } }));
    return this.take();
  }

  /** The activities emitted since the last call, one batch per turn. */
  private take(): Activity[] {
    const all = this.batches.flat();
    this.batches = [];
    return all;
  }
}

/** A compact view of activities for assertions: "message:<text>", "event:<name>". */
export function summarize(activities: Activity[]): string[] {
  return activities.map((a) => (a.type === 'message' ? `message:${a.text}` : `event:${a.name}`));
}

/** The example flow from the flow bot's specification. */
export const EXAMPLE_FLOW: FlowDefinition = {
  name: 'demo',
  language: 'en-US',
  start: 'welcome',
  steps: {
    welcome: { say: 'Welcome to Voxgate. Press 1 for opening hours, 2 to talk to an agent.', next: 'menu' },
    menu: {
      collect: {
        maxDigits: 1,
        submitDigit: '#',
        interDigitTimeoutMs: 3000,
        timeoutMs: 5000,
        prompt: 'Please press 1 or 2.',
        branches: { '1': 'hours', '2': 'agent' },
        noMatch: 'menu',
        timeout: 'menu_retry',
      },
    },
    menu_retry: { say: 'I did not hear anything.', next: 'menu', maxVisits: 2, exhausted: 'goodbye' },
    hours: { say: 'We are open from nine to five.', next: 'goodbye' },
    agent: { transfer: 'tel:+15550001111', say: 'Transferring you now.' },
    pause_example: { pause: 1.5, next: 'goodbye' },
    play_example: { play: 'file:///path/to.wav', next: 'goodbye' },
    goodbye: { say: 'Goodbye.', hangup: 'completed' },
    jump: { goto: 'hours' },
  },
};
