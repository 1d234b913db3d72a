/**
 * Default Amazon Polly voices per language, for requests that name no voice. Polly requires a
 * VoiceId and each voice speaks one language (bilingual ones aside) on a fixed set of engines, so
 * the table differs by engine: neural (also used for generative and long-form), and standard.
 */

export type PollyEngine = 'standard' | 'neural' | 'generative' | 'long-form';

const NEURAL: Record<string, string> = {
  'en-US': 'Joanna',
  'en-GB': 'Amy',
  'en-AU': 'Olivia',
  'en-IN': 'Kajal',
  'en-NZ': 'Aria',
  'en-ZA': 'Ayanda',
  'en-IE': 'Niamh',
  'de-DE': 'Vicki',
  'de-AT': 'Hannah',
  'fr-FR': 'Lea',
  'fr-CA': 'Gabrielle',
  'es-ES': 'Lucia',
  'es-MX': 'Mia',
  'es-US': 'Lupe',
  'it-IT': 'Bianca',
  'pt-BR': 'Camila',
  'pt-PT': 'Ines',
  'nl-NL': 'Laura',
  'ja-JP': 'Takumi',
  'ko-KR': 'Seoyeon',
  'cmn-CN': 'Zhiyu',
  'yue-CN': 'Hiujin',
  'hi-IN': 'Kajal',
  'ar-AE': 'Hala',
  'sv-SE': 'Elin',
  'da-DK': 'Sofie',
  'nb-NO': 'Ida',
  'pl-PL': 'Ola',
  'fi-FI': 'Suvi',
  'ca-ES': 'Arlet',
};

const STANDARD: Record<string, string> = {
  'en-US': 'Joanna',
  'en-GB': 'Amy',
  'en-AU': 'Nicole',
  'en-IN': 'Aditi',
  'de-DE': 'Vicki',
  'fr-FR': 'Lea',
  'fr-CA': 'Chantal',
  'es-ES': 'Lucia',
  'es-MX': 'Mia',
  'es-US': 'Lupe',
  'it-IT': 'Bianca',
  'pt-BR': 'Camila',
  'pt-PT': 'Ines',
  'nl-NL': 'Lotte',
  'ja-JP': 'Mizuki',
  'ko-KR': 'Seoyeon',
  'cmn-CN': 'Zhiyu',
  'hi-IN': 'Aditi',
  'arb': 'Zeina',
  'sv-SE': 'Astrid',
  'da-DK': 'Naja',
  'nb-NO': 'Liv',
  'pl-PL': 'Ewa',
  'ru-RU': 'Tatyana',
  'tr-TR': 'Filiz',
  'ro-RO': 'Carmen',
  'cy-GB': 'Gwyneth',
  'is-IS': 'Dora',
};

/** Polly's codes for languages usually tagged otherwise (BCP 47 "zh-CN" is Polly's "cmn-CN"), in preference order. */
const ALIASES: Record<string, string[]> = {
  zh: ['cmn-CN'],
  'zh-cn': ['cmn-CN'],
  'zh-hk': ['yue-CN'],
  ar: ['ar-AE', 'arb'],
  no: ['nb-NO'],
  nb: ['nb-NO'],
  nn: ['nb-NO'],
};

/** Voices that speak two languages; only for them does Polly use the request's LanguageCode. */
export const POLLY_BILINGUAL_VOICES: Record<string, string[]> = { Aditi: ['en-IN', 'hi-IN'], Kajal: ['en-IN', 'hi-IN'] };

/**
 * The default voice for `language` on `engine`: the exact tag, then an alias, then the first voice
 * of the same base language ("en-CA" -> an English voice). Undefined when Polly has none here.
 */
export function defaultPollyVoice(language: string, engine: PollyEngine): string | undefined {
  const table = engine === 'standard' ? STANDARD : NEURAL;
  const lower = language.trim().replace(/_/g, '-').toLowerCase();
  const exact = Object.keys(table).find((tag) => tag.toLowerCase() === lower);
  if (exact) return table[exact];
  const base = lower.split('-')[0];
  for (const alias of [...(ALIASES[lower] ?? []), ...(ALIASES[base] ?? [])]) if (table[alias]) return table[alias];
  const sameBase = Object.keys(table).find((tag) => tag.toLowerCase().split('-')[0] === base);
  return sameBase ? table[sameBase] : undefined;
}
