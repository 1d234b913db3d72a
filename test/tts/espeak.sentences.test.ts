import { describe, expect, it } from 'vitest';
import { espeakVariantForVoice, espeakVoiceForLanguage, splitSentences } from '../../src/speech/tts/espeak.js';

describe('espeak: sentence splitting for streaming', () => {
  it('splits after sentence punctuation followed by space', () => {
    expect(splitSentences('Welcome to Voxgate. Press 1 for hours! Ready? "Yes." Done')).toEqual([
      'Welcome to Voxgate.',
      'Press 1 for hours!',
      'Ready?',
      '"Yes."',
      'Done',
    ]);
  });

  it('keeps abbreviations, decimals and ellipses inside a sentence', () => {
    expect(splitSentences('Dr. Smith pays 3.50 dollars... Then leaves.')).toEqual(['Dr. Smith pays 3.50 dollars...', 'Then leaves.']);
  });

  it('breaks at blank lines and ignores empty input', () => {
    expect(splitSentences('Line one\n\nLine two')).toEqual(['Line one', 'Line two']);
    expect(splitSentences('   ')).toEqual([]);
  });
});

describe('espeak: language and voice mapping', () => {
  it('maps BCP 47 tags to espeak voices', () => {
    expect(espeakVoiceForLanguage('en-US')).toBe('en-us');
    expect(espeakVoiceForLanguage('en-GB')).toBe('en-gb');
    expect(espeakVoiceForLanguage('de-DE')).toBe('de');
    expect(espeakVoiceForLanguage('fr-FR')).toBe('fr');
    expect(espeakVoiceForLanguage('es_ES')).toBe('es');
    expect(espeakVoiceForLanguage('pt-BR')).toBe('pt-br');
    expect(espeakVoiceForLanguage('zh-CN')).toBe('cmn');
    expect(() => espeakVoiceForLanguage('tlh-KL')).toThrow('unsupported language "tlh-KL"');
  });

  it('maps gender words and espeak variants', () => {
    expect(espeakVariantForVoice(undefined)).toBeUndefined();
    expect(espeakVariantForVoice('female')).toBe('f3');
    expect(espeakVariantForVoice('WOMAN')).toBe('f3');
    expect(espeakVariantForVoice('MAN')).toBe('m3');
    expect(espeakVariantForVoice('f2')).toBe('f2');
    expect(espeakVariantForVoice('en-us+f4')).toBe('f4');
    expect(() => espeakVariantForVoice('en-US-JennyNeural')).toThrow('unsupported voice "en-US-JennyNeural"');
  });
});
