import { describe, expect, it } from 'vitest';
import type { DialPlanInput } from '../../src/bots/dial-plan/dial-plan.js';
import { startDialPlanCall } from './dial-plan-call.js';

const JINGLE = 'https://media.example.com/jingle.wav';

const ALL_VERBS: DialPlanInput = {
  verbs: [
    { type: 'PAUSE', duration: 2 },
    { type: 'SAY', message: { text: 'Hello from Voxgate.', gender: 'female' } },
    { type: 'PLAY', url: JINGLE },
    { type: 'PAUSE', duration: 0 },
    { type: 'SAY', message: { text: 'Auf Wiederhören.', language: 'de-DE', gender: 'male' } },
  ],
};

describe('DialPlanBot: PAUSE, SAY and PLAY verbs on a call', () => {
  it('plays the verbs in plan order; a PAUSE 0 plays nothing', async () => {
    const call = await startDialPlanCall(ALL_VERBS);
    expect(call.queued()).toEqual(['[pause 2 s]', 'Hello from Voxgate.', `[audio ${JINGLE}]`, 'Auf Wiederhören.']);
    await call.hearAll();
    expect(call.heard()).toEqual(['[pause 2 s]', 'Hello from Voxgate.', `[audio ${JINGLE}]`, 'Auf Wiederhören.']);
  });

  it('SAY speaks in its language with the voice of its gender (male/female, the local eSpeak names)', async () => {
    const call = await startDialPlanCall(ALL_VERBS);
    await call.hearAll();
    expect(call.audio.spoken.map((r) => ({ text: r.text, language: r.language, voice: r.voice }))).toEqual([
      { text: 'Hello from Voxgate.', language: 'en-US', voice: 'female' },
      { text: 'Auf Wiederhören.', language: 'de-DE', voice: 'male' },
    ]);
  });

  it('gender maps to the configured voices; without a gender the call keeps its configured voice', async () => {
    const call = await startDialPlanCall(
      { verbs: [{ type: 'SAY', message: { text: 'One', gender: 'female' } }, { type: 'SAY', message: { text: 'Two' } }] },
      { bot: { voices: { female: 'en-US-JennyNeural' } }, settings: { voiceName: 'en-US-GuyNeural' } },
    );
    await call.hearAll();
    expect(call.audio.spoken.map((r) => r.voice)).toEqual(['en-US-JennyNeural', 'en-US-GuyNeural']);
  });

  it('PAUSE is that many seconds of silence, whatever the TTS engine does with SSML breaks', async () => {
    const call = await startDialPlanCall({ verbs: [{ type: 'PAUSE', duration: 2.5 }] });
    const [pause] = call.audio.played;
    expect(pause.samples.length).toBe(2.5 * 8000); // the leg runs at 8 kHz
    expect(pause.samples.every((s) => s === 0)).toBe(true);
    expect(call.audio.spoken).toEqual([]);
  });

  it('PLAY plays its URL', async () => {
    const call = await startDialPlanCall(ALL_VERBS);
    expect(call.audio.played.map((p) => p.url)).toContain(JINGLE);
  });

  it('hangs up with reason dial-plan-completed only once the caller heard the last verb', async () => {
    const call = await startDialPlanCall(ALL_VERBS);
    await call.hearOne();
    await call.hearOne();
    expect(call.hangupReason()).toBeUndefined();
    await call.hearAll();
    expect(call.hangupReason()).toBe('dial-plan-completed');
    const result = await call.bot.finished;
    expect(result).toMatchObject({ completed: true, ended: true, endReason: 'bot-disconnected', conversationId: 'call-1', collects: [] });
  });

  it('the caller hanging up mid-plan ends it uncompleted', async () => {
    const call = await startDialPlanCall(ALL_VERBS);
    await call.hearOne();
    call.leg.emit('hangup', { side: 'caller', cause: 'Normal Hangup' });
    const result = await call.bot.finished;
    expect(result).toMatchObject({ completed: false, ended: true, endReason: 'client-disconnected' });
    expect(call.hangupReason()).toBeUndefined();
  });
});
