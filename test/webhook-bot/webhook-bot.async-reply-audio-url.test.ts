import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebhookBotConnector } from '../../src/bots/webhook/index.js';
import { messageActivity } from '../../src/bots/activity.js';
import { parseWav } from '../../src/media/wav.js';
import { WebhookBrain } from '../support/webhook-brain.js';
import { WebhookResponseServer, nextActivities } from '../support/webhook-response-server.js';

describe('webhook bot: replies posted later on the response endpoint', () => {
  let brain: WebhookBrain;
  let voxgate: WebhookResponseServer;
  beforeEach(async () => {
    brain = await new WebhookBrain().listen();
    voxgate = await new WebhookResponseServer().listen();
  });
  afterEach(async () => {
    await brain.close();
    await voxgate.close();
  });

  it('delivers a text reply posted after the caller turn as a message for that call', async () => {
    const bot = new WebhookBotConnector({ name: 'ori', url: brain.url, router: voxgate.router });
    const other = new WebhookBotConnector({ name: 'ori', url: brain.url, router: voxgate.router });
    await bot.start({ conversationId: 'call-a', direction: 'inbound', caller: '+1', callee: '+2' });
    await other.start({ conversationId: 'call-b', direction: 'inbound', caller: '+3', callee: '+2' });
    let otherGot = 0;
    other.on('activities', () => otherGot++);

    await bot.send(messageActivity('what is my balance'));
    const turn = await brain.request('text');
    const arrived = nextActivities(bot);
    const posted = await brain.postReply(voxgate.responseUrl, { type: 'text', call_id: turn.call_id, text: 'Your balance is 20 dollars.' });

    expect(posted.status).toBe(200);
    const [activity] = await arrived;
    expect(activity).toMatchObject({ type: 'message', text: 'Your balance is 20 dollars.' });
    expect(otherGot).toBe(0);
  });

  it('plays the audio_url the brain rendered instead of synthesizing the text', async () => {
    const bot = new WebhookBotConnector({ name: 'ori', url: brain.url, router: voxgate.router });
    await bot.start({ conversationId: 'call-audio', direction: 'outbound', caller: '+1', callee: '+2' });
    const arrived = nextActivities(bot);
    const audioUrl = brain.audioUrl('balance');
    const posted = await brain.postReply(voxgate.responseUrl, { type: 'text', call_id: 'call-audio', text: 'Your balance is 20 dollars.', audio_url: audioUrl });

    expect(posted.status).toBe(200);
    const [activity] = await arrived;
    expect(activity).toMatchObject({ type: 'event', name: 'playUrl', activityParams: { playUrlUrl: audioUrl, playUrlAltText: 'Your balance is 20 dollars.' } });
    expect(activity!.text).toBeUndefined();
    // The URL handed to the player is real audio.
    const wav = parseWav(new Uint8Array(await (await fetch(audioUrl)).arrayBuffer()));
    expect(wav.sampleRate).toBe(8000);
    expect(wav.samples.length).toBe(1600);
  });

  it('maps an audio_url in a synchronous answer to playUrl as well', async () => {
    brain.answer = (req) => ({ body: { replies: [{ type: 'text', call_id: req.call_id, text: 'Welcome!', audio_url: brain.audioUrl('welcome') }] } });
    const bot = new WebhookBotConnector({ name: 'ori', url: brain.url, router: voxgate.router });
    const arrived = nextActivities(bot);
    await bot.start({ conversationId: 'call-sync-audio', direction: 'inbound', caller: '+1', callee: '+2' });
    expect((await arrived)[0]).toMatchObject({ name: 'playUrl', activityParams: { playUrlUrl: brain.audioUrl('welcome'), playUrlAltText: 'Welcome!' } });
  });

  it('maps hangup and transfer replies to the gateway events', async () => {
    const bot = new WebhookBotConnector({ name: 'ori', url: brain.url, router: voxgate.router });
    await bot.start({ conversationId: 'call-x', direction: 'inbound', caller: '+1', callee: '+2' });

    let arrived = nextActivities(bot);
    expect((await brain.postReply(voxgate.responseUrl, { type: 'transfer', call_id: 'call-x', target: 'tel:+15551234' })).status).toBe(200);
    expect((await arrived)[0]).toMatchObject({ type: 'event', name: 'transfer', activityParams: { transferTarget: 'tel:+15551234' } });

    arrived = nextActivities(bot);
    expect((await brain.postReply(voxgate.responseUrl, { type: 'hangup', call_id: 'call-x', reason: 'customer done' })).status).toBe(200);
    expect((await arrived)[0]).toMatchObject({ type: 'event', name: 'hangup', activityParams: { hangupReason: 'customer done' } });

    arrived = nextActivities(bot);
    expect((await brain.postReply(voxgate.responseUrl, { type: 'hangup', call_id: 'call-x' })).status).toBe(200);
    expect((await arrived)[0]).toMatchObject({ type: 'event', name: 'hangup', activityParams: {} });
  });
});
