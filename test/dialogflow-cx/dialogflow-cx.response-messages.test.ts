import { afterEach, describe, expect, it } from 'vitest';
import { messageActivity } from '../../src/bots/activity.js';
import type { DialogflowCxConnectorOptions } from '../../src/bots/dialogflow-cx/index.js';
import { decodeBotActivity } from '../../src/call/bot-command.js';
import { cxText, type AgentReply } from '../support/dialogflow-cx-server.js';
import { CALL, CxFixture } from './cx-fixture.js';

describe('Dialogflow CX: response messages become what the caller hears and what the call does', () => {
  let f: CxFixture;
  /** Starts a call whose greeting is `reply` and returns the decoded commands. */
  const greet = async (reply: AgentReply, options: Partial<DialogflowCxConnectorOptions> = {}) => {
    f = await new CxFixture().start(options);
    f.cx.reply(reply);
    await f.connector.start(CALL);
    await f.cx.waitForRequests(1);
    await f.batchesReceived(1);
    return f.batches[0].map(decodeBotActivity);
  };
  afterEach(() => f.close());

  it('speaks outputAudioText SSML (wrapped in <speak>) instead of the display text', async () => {
    const commands = await greet({
      responseMessages: [cxText('Your balance is $12.50'), { outputAudioText: { ssml: 'Your balance is <say-as interpret-as="currency">USD12.50</say-as>' } }],
    });
    expect(commands).toEqual([{ kind: 'speak', activityId: expect.any(String), text: '<speak>Your balance is <say-as interpret-as="currency">USD12.50</say-as></speak>', ssml: true }]);
  });

  it('speaks outputAudioText plain text and keeps a full <speak> document as is', async () => {
    const commands = await greet({ responseMessages: [{ outputAudioText: { text: 'Plain words' } }, { outputAudioText: { ssml: '<speak>Hi<break time="300ms"/></speak>', allowPlaybackInterruption: true } }] });
    expect(commands.map((c) => c.kind === 'speak' && c.text)).toEqual(['Plain words', '<speak>Hi<break time="300ms"/></speak>']);
    expect(f.batches[0][1].activityParams).toEqual({ bargeIn: true });
  });

  it('says goodbye and then hangs up on endInteraction', async () => {
    const commands = await greet({ responseMessages: [cxText('Goodbye!'), { endInteraction: {} }] });
    expect(commands.map((c) => c.kind)).toEqual(['speak', 'hangup']);
    expect(commands[1]).toEqual({ kind: 'hangup', reason: 'dialogflow-cx-end-interaction' });
  });

  it('transfers to the transferTarget of a liveAgentHandoff, passing its SIP headers', async () => {
    const commands = await greet({
      responseMessages: [
        cxText('Connecting you to an agent.'),
        { liveAgentHandoff: { metadata: { transferTarget: 'sip:queue-billing@pbx.example.com', transferSipHeaders: [{ name: 'X-Reason', value: 'billing' }] } } },
      ],
    });
    expect(commands[1]).toEqual({ kind: 'transfer', target: 'sip:queue-billing@pbx.example.com', headers: { 'X-Reason': 'billing' }, reason: 'liveAgentHandoff' });
  });

  it('transfers a liveAgentHandoff without a target to the configured default target', async () => {
    const commands = await greet({ responseMessages: [{ liveAgentHandoff: {} }] }, { defaultTransferTarget: 'tel:+442070000000' });
    expect(commands).toEqual([{ kind: 'transfer', target: 'tel:+442070000000', headers: {}, reason: 'liveAgentHandoff' }]);
  });

  it('fails clearly when a liveAgentHandoff has nowhere to go, after playing what came before it', async () => {
    const commands = await greet({ responseMessages: [cxText('One moment.'), { liveAgentHandoff: { metadata: { queue: 'billing' } } }] });
    expect(commands.map((c) => c.kind)).toEqual(['speak']);
    expect((await f.failure()).message).toMatch(/Dialogflow CX asked for a live agent handoff.*no "transferTarget".*no defaultTransferTarget/);
  });

  it('transfers to the E.164 number of telephonyTransferCall', async () => {
    const commands = await greet({ responseMessages: [{ telephonyTransferCall: { phoneNumber: '+16505550123' } }] });
    expect(commands).toEqual([{ kind: 'transfer', target: 'tel:+16505550123', headers: {}, reason: 'telephonyTransferCall' }]);
  });

  it('plays playAudio clips by URL', async () => {
    const commands = await greet({ responseMessages: [{ playAudio: { audioUri: 'https://cdn.example.com/hold.wav' } }] });
    expect(commands).toEqual([expect.objectContaining({ kind: 'play', url: 'https://cdn.example.com/hold.wav' })]);
  });

  it('runs custom payload activities (AudioCodes convention): a list, a single event, and session settings', async () => {
    const commands = await greet({
      responseMessages: [
        { payload: { activities: [{ type: 'event', name: 'sendDtmf', activityParams: { dtmfDigits: '12#' } }, { type: 'message', text: 'Dialing extension.' }] } },
        { payload: { type: 'event', name: 'transfer', activityParams: { transferTarget: 'sip:200@pbx.example.com' } } },
        { payload: { sessionParams: { bargeIn: false } } },
      ],
    });
    expect(commands.map((c) => c.kind)).toEqual(['sendDtmf', 'speak', 'transfer', 'none']);
    expect(f.batches[0][3]).toMatchObject({ type: 'event', name: 'config', sessionParams: { bargeIn: false } });
  });

  it('skips payloads and messages a call has no use for, without failing', async () => {
    const commands = await greet({
      responseMessages: [
        { payload: { richContent: [[{ type: 'chips' }]] } },
        { payload: { activities: [{ type: 'typing' }] } },
        { conversationSuccess: { metadata: {} } },
        cxText('Still here.'),
      ],
    });
    expect(commands.map((c) => c.kind)).toEqual(['speak']);
    expect(f.failures).toHaveLength(0);
  });

  it('plays every text message of a turn in order', async () => {
    f = await new CxFixture().start();
    f.cx.reply({ responseMessages: [] }, { responseMessages: [cxText('First.'), cxText('Second.')] });
    await f.connector.start(CALL);
    await f.connector.send(messageActivity('hi'));
    expect((await f.batchesReceived(1))[0].map((a) => a.text)).toEqual(['First.', 'Second.']);
  });
});
