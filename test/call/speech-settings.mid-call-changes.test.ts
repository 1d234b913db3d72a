import { describe, expect, it } from 'vitest';
import { ScriptedStt, settle } from '../support/call-doubles.js';
import { startSession } from '../support/call-session-harness.js';

describe('speech settings, at call start and changed by the bot mid-call', () => {
  it('opens recognition with the STT language, context phrases, boost and punctuation of the bot', async () => {
    const stt = new ScriptedStt();
    await startSession({ stt, settings: { language: 'en-GB', sttLanguage: 'en-IN', sttContextPhrases: ['Voxgate', 'account number'], sttContextBoost: 12, sttDisablePunctuation: true } });
    expect(stt.sessions.map((s) => s.options)).toEqual([{ language: 'en-IN', sampleRate: 8000, hints: ['Voxgate', 'account number'], hintBoost: 12, punctuation: false }]);
  });

  it('a language change by sessionParams reopens recognition in the new language and the old session’s late results are dropped', async () => {
    const stt = new ScriptedStt();
    const { bot } = await startSession({ stt });
    const first = stt.session!;
    bot.say({ type: 'event', name: 'config', sessionParams: { language: 'de-DE' } });
    await settle();
    expect(stt.sessions.map((s) => s.options.language)).toEqual(['en-US', 'de-DE']);
    expect(first.closed).toBe(true);
    first.hear('too late', true);
    stt.session!.hear('Guten Tag', true);
    await settle();
    expect(bot.received.filter((a) => a.type === 'message').map((a) => a.text)).toEqual(['Guten Tag']);
  });

  it('an unrelated setting change keeps the same recognition session', async () => {
    const stt = new ScriptedStt();
    const { bot } = await startSession({ stt });
    bot.say({ type: 'event', name: 'config', sessionParams: { bargeIn: true } });
    await settle();
    expect(stt.sessions).toHaveLength(1);
  });

  it('speaks with ttsLanguage and the voice the bot sets mid-call; a message’s own language applies to it alone', async () => {
    const { bot, audio } = await startSession({ settings: { language: 'en-US', ttsLanguage: 'en-AU' } });
    bot.say({ text: 'G’day' });
    bot.say({ type: 'event', name: 'config', sessionParams: { voiceName: 'fr-FR-DeniseNeural', ttsLanguage: 'fr-FR' } });
    bot.say({ text: 'Bonjour' });
    bot.say({ text: 'Hallo', language: 'de-DE' });
    await settle();
    expect(audio.spoken.map((r) => [r.text, r.language, r.voice])).toEqual([
      ['G’day', 'en-AU', undefined],
      ['Bonjour', 'fr-FR', 'fr-FR-DeniseNeural'],
      ['Hallo', 'de-DE', 'fr-FR-DeniseNeural'],
    ]);
  });

  it('a bad language tag from the bot is ignored and the call keeps its language', async () => {
    const stt = new ScriptedStt();
    const { bot, session } = await startSession({ stt });
    bot.say({ type: 'event', name: 'config', sessionParams: { language: 'not a language!' } });
    await settle();
    expect(session.currentSettings.language).toBe('en-US');
    expect(stt.sessions).toHaveLength(1);
  });
});
