/** A Dialogflow CX connector wired to the loopback OAuth and detectIntent doubles, with its output collected. */
import type { Activity } from '../../src/bots/activity.js';
import { DialogflowCxConnector, type DialogflowCxConnectorOptions } from '../../src/bots/dialogflow-cx/index.js';
import type { BotConversationInfo } from '../../src/bots/connector.js';
import { GoogleAccessTokenSource } from '../../src/auth/google-service-account.js';
import { DIALOGFLOW_SCOPE } from '../../src/bots/dialogflow-cx/index.js';
import { FakeClock } from '../support/fake-clock.js';
import { DialogflowCxServer } from '../support/dialogflow-cx-server.js';
import { GoogleOAuthServer, makeServiceAccount, type TestServiceAccount } from '../support/google-oauth-server.js';

export const AGENT = { project: 'voxgate-project', location: 'europe-west2', agent: '3f1c5a4e-8d2b-4b7e-9a61-0c2d4e6f8a10' };

export const CALL: BotConversationInfo = {
  conversationId: 'call-7d0e2c4a-1b3f-4e5d-8a9b',
  direction: 'inbound',
  caller: '+14155550100',
  callee: '+442071234567',
  callerDisplayName: 'Ada',
};

/** One account's key pair for the whole run: RSA generation is slow on small machines. */
let sharedAccount: TestServiceAccount | undefined;

export class CxFixture {
  readonly clock = new FakeClock();
  readonly google = new GoogleOAuthServer({ now: () => this.clock.now() });
  readonly cx: DialogflowCxServer;
  readonly account: TestServiceAccount;
  tokens!: GoogleAccessTokenSource;
  connector!: DialogflowCxConnector;
  readonly batches: Activity[][] = [];
  readonly failures: Error[] = [];
  private waiters: (() => void)[] = [];

  constructor(environment?: string) {
    this.account = sharedAccount ??= makeServiceAccount();
    this.google.addAccount(this.account);
    this.cx = new DialogflowCxServer({ ...AGENT, environment, acceptsToken: (t) => this.google.accepts(t, DIALOGFLOW_SCOPE) });
  }

  async start(options: Partial<DialogflowCxConnectorOptions> = {}): Promise<this> {
    await Promise.all([this.google.start(), this.cx.start()]);
    this.tokens = new GoogleAccessTokenSource({
      credentials: { clientEmail: this.account.clientEmail, privateKey: this.account.privateKey, privateKeyId: this.account.privateKeyId },
      scopes: [DIALOGFLOW_SCOPE],
      tokenUrl: this.google.tokenUrl,
      clock: this.clock,
    });
    this.connector = new DialogflowCxConnector({
      name: 'support-agent',
      ...AGENT,
      baseUrl: this.cx.url,
      getAccessToken: this.tokens.getAccessToken,
      invalidateAccessToken: (t) => this.tokens.invalidate(t),
      clock: this.clock,
      requestTimeoutMs: 5000,
      ...options,
    });
    this.connector.on('activities', (a) => this.push(() => this.batches.push(a)));
    this.connector.on('failure', (e) => this.push(() => this.failures.push(e)));
    return this;
  }

  /** All activities received so far, flattened. */
  get activities(): Activity[] {
    return this.batches.flat();
  }

  /** Resolves once `count` activity batches have arrived. */
  async batchesReceived(count: number): Promise<Activity[][]> {
    while (this.batches.length < count) await new Promise<void>((r) => this.waiters.push(r));
    return this.batches;
  }

  /** Resolves with the first failure. */
  async failure(): Promise<Error> {
    while (this.failures.length === 0) await new Promise<void>((r) => this.waiters.push(r));
    return this.failures[0];
  }

  async close(): Promise<void> {
    await this.connector?.end('client-disconnected');
    await Promise.all([this.cx.close(), this.google.close()]);
  }

  private push(record: () => void): void {
    record();
    for (const w of this.waiters.splice(0)) w();
  }
}
