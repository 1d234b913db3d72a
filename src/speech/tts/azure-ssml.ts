/**
 * SSML for Azure's text-to-speech REST API, whose body must be a whole `<speak>` document with
 * `version`, `xml:lang` and at least one `<voice name>`: plain text is escaped and wrapped; SSML
 * from the bot passes through, completed with what Azure requires and lacks.
 */
import { escapeXml } from '../../runtime/xml-escape.js';

const SSML_NAMESPACE = 'http://www.w3.org/2001/10/synthesis';

/** A prebuilt neural voice per locale, used when neither the request nor the config names one. */
export const AZURE_DEFAULT_VOICES: Readonly<Record<string, string>> = {
  'en-US': 'en-US-JennyNeural',
  'en-GB': 'en-GB-SoniaNeural',
  'en-AU': 'en-AU-NatashaNeural',
  'en-CA': 'en-CA-ClaraNeural',
  'en-IN': 'en-IN-NeerjaNeural',
  'de-DE': 'de-DE-KatjaNeural',
  'de-AT': 'de-AT-IngridNeural',
  'de-CH': 'de-CH-LeniNeural',
  'fr-FR': 'fr-FR-DeniseNeural',
  'fr-CA': 'fr-CA-SylvieNeural',
  'es-ES': 'es-ES-ElviraNeural',
  'es-MX': 'es-MX-DaliaNeural',
  'it-IT': 'it-IT-ElsaNeural',
  'pt-BR': 'pt-BR-FranciscaNeural',
  'pt-PT': 'pt-PT-RaquelNeural',
  'nl-NL': 'nl-NL-ColetteNeural',
  'pl-PL': 'pl-PL-ZofiaNeural',
  'sv-SE': 'sv-SE-SofieNeural',
  'da-DK': 'da-DK-ChristelNeural',
  'nb-NO': 'nb-NO-PernilleNeural',
  'fi-FI': 'fi-FI-NooraNeural',
  'tr-TR': 'tr-TR-EmelNeural',
  'ru-RU': 'ru-RU-SvetlanaNeural',
  'ar-SA': 'ar-SA-ZariyahNeural',
  'hi-IN': 'hi-IN-SwaraNeural',
  'ja-JP': 'ja-JP-NanamiNeural',
  'ko-KR': 'ko-KR-SunHiNeural',
  'zh-CN': 'zh-CN-XiaoxiaoNeural',
};

/** Normalises "en_us" / "EN-us" to "en-US". */
export function normaliseLocale(language: string): string {
  const [lang, region, ...rest] = language.trim().split(/[-_]/);
  if (!lang) return '';
  return [lang.toLowerCase(), ...(region ? [region.length === 2 ? region.toUpperCase() : region] : []), ...rest].join('-');
}

/** The default voice for a locale, else for its language ("en-NZ" -> en-US's voice); undefined if none. */
export function defaultAzureVoice(language: string): string | undefined {
  const locale = normaliseLocale(language);
  if (AZURE_DEFAULT_VOICES[locale]) return AZURE_DEFAULT_VOICES[locale];
  const lang = locale.split('-')[0];
  return Object.entries(AZURE_DEFAULT_VOICES).find(([l]) => l.split('-')[0] === lang)?.[1];
}

/** A `<speak>` document speaking `text` (plain, escaped here) with `voice`. */
export function plainTextSsml(text: string, locale: string, voice: string): string {
  return `<speak version='1.0' xmlns='${SSML_NAMESPACE}' xml:lang='${escapeXml(locale)}'><voice name='${escapeXml(voice)}'>${escapeXml(text)}</voice></speak>`;
}

/**
 * The bot's SSML made acceptable to Azure: a bare fragment is wrapped in `<speak>`; the `<speak>`
 * gets the `version`, `xmlns` and `xml:lang` Azure rejects a document without; a document without a
 * `<voice>` gets one around its content. Voices the bot chose are kept.
 */
export function completeSsml(ssml: string, locale: string, voice: string): string {
  const source = ssml.trim();
  const open = /<speak\b([^>]*?)(\/?)>/i.exec(source);
  if (!open) return `<speak version='1.0' xmlns='${SSML_NAMESPACE}' xml:lang='${escapeXml(locale)}'>${wrapInVoice(source, voice)}</speak>`;
  let attrs = open[1];
  if (!/\sversion\s*=/.test(attrs)) attrs += ` version='1.0'`;
  if (!/\sxmlns\s*=/.test(attrs)) attrs += ` xmlns='${SSML_NAMESPACE}'`;
  if (!/\sxml:lang\s*=/.test(attrs)) attrs += ` xml:lang='${escapeXml(locale)}'`;
  const before = source.slice(0, open.index); // an <?xml ?> prologue
  if (open[2] === '/') return `${before}<speak${attrs}>${wrapInVoice('', voice)}</speak>`;
  const bodyStart = open.index + open[0].length;
  const close = source.toLowerCase().lastIndexOf('</speak>');
  const body = close >= bodyStart ? source.slice(bodyStart, close) : source.slice(bodyStart);
  const after = close >= bodyStart ? source.slice(close + '</speak>'.length) : '';
  const content = /<voice\b/i.test(body) ? body : wrapInVoice(body, voice);
  return `${before}<speak${attrs}>${content}</speak>${after}`;
}

function wrapInVoice(content: string, voice: string): string {
  return `<voice name='${escapeXml(voice)}'>${content}</voice>`;
}

/** True when SSML has nothing to render: no words, no <break> pause, no <audio> clip. */
export function ssmlIsEmpty(ssml: string): boolean {
  const live = ssml.replace(/<!--[\s\S]*?-->/g, '');
  return !/<(?:break|audio)\b/i.test(live) && live.replace(/<[^>]*>/g, '').trim() === '';
}
