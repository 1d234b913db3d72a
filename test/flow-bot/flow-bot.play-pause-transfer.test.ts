import { describe, expect, it } from 'vitest';
import { FlowDriver, summarize } from '../support/flow-driver.js';

describe('FlowBot: play, pause, goto, transfer and hangup steps', () => {
  it('maps each step to the bot-api activity a remote bot would send', async () => {
    const d = new FlowDriver({
      name: 'kinds',
      language: 'de-DE',
      start: 'intro',
      steps: {
        intro: { play: { url: 'https://example.com/jingle.wav', mediaFormat: 'wav/lpcm16', altText: 'Jingle' }, next: 'wait' },
        wait: { pause: 1.5, goto: 'hello' },
        hello: { say: 'Hallo.', next: 'handover' },
        handover: {
          transfer: { target: 'sip:agent@pbx.example.com', reason: 'caller asked', sipHeaders: [{ name: 'X-Queue', value: 'sales' }] },
        },
      },
    });
    const acts = await d.start();
    expect(summarize(acts)).toEqual([
      'event:playUrl',
      'message:<speak><break time="1500ms"/></speak>',
      'message:Hallo.',
      'event:transfer',
    ]);
    expect(acts[0].activityParams).toEqual({
      playUrlUrl: 'https://example.com/jingle.wav',
      playUrlMediaFormat: 'wav/lpcm16',
      playUrlAltText: 'Jingle',
    });
    expect(acts[1]).toMatchObject({ activityParams: { ssml: true }, language: 'de-DE' });
    expect(acts[2].activityParams).toBeUndefined();
    expect(acts[3].activityParams).toEqual({
      transferTarget: 'sip:agent@pbx.example.com',
      handoverReason: 'caller asked',
      transferSipHeaders: [{ name: 'X-Queue', value: 'sales' }],
    });
  });

  it('hangup: true hangs up with reason "completed"; end() stops the bot', async () => {
    const d = new FlowDriver({
      name: 'short',
      start: 'ask',
      steps: {
        ask: { collect: { branches: { '1': 'bye' } } },
        bye: { hangup: true },
      },
    });
    expect(summarize(await d.start())).toEqual(['event:config']);
    await d.bot.end('client-disconnected');
    await d.bot.end('client-disconnected'); // safe twice
    expect(await d.dtmf('1')).toEqual([]);
  });
});
