/** Builds the configured STT and TTS providers (the composition root's speech half). */
import type { Logger } from 'pino';
import { resolveGoogleCredentials, sharedGoogleAccessTokenSource, type GoogleAccessTokenSource } from '../auth/google-service-account.js';
import type { Clock } from '../runtime/clock.js';
import { ConfigError } from '../runtime/config-error.js';
import type { VoxgateConfig } from '../config/schema.js';
import { resolveSecret } from '../runtime/secrets.js';
import { AzureSttProvider, azureSttOptions } from '../speech/stt/azure-stt.js';
import { DeepgramSttProvider } from '../speech/stt/deepgram.js';
import { GoogleSttProvider, googleSttOptions } from '../speech/stt/google-stt.js';
import { OpenAiTranscriptionProvider, openAiTranscriptionOptions } from '../speech/stt/openai-transcription.js';
import type { SttProvider } from '../speech/stt/provider.js';
import { VoskSttProvider, voskSttOptions } from '../speech/stt/vosk.js';
import { azureTtsFromConfig } from '../speech/tts/azure-tts.js';
import { elevenLabsTtsFromConfig } from '../speech/tts/elevenlabs-tts.js';
import { EspeakTtsProvider } from '../speech/tts/espeak.js';
import { googleTtsFromConfig } from '../speech/tts/google-tts.js';
import { HttpTtsProvider } from '../speech/tts/http-tts.js';
import { OpenAiTtsProvider } from '../speech/tts/openai-tts.js';
import { pollyTtsFromConfig } from '../speech/tts/polly-tts.js';
import type { TtsProvider } from '../speech/tts/provider.js';

const GOOGLE_CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

/** The service account for keyless Google speech sections, or a config error naming what is missing. */
function googleTokens(config: VoxgateConfig, section: string, env: NodeJS.ProcessEnv, logger: Logger, clock?: Clock): GoogleAccessTokenSource {
  if (!config.google) throw new ConfigError(`invalid configuration: ${section}: give an apiKey, or a service account in google.credentials`);
  const credentials = resolveGoogleCredentials(config.google.credentials, 'google.credentials', env);
  return sharedGoogleAccessTokenSource({ credentials, scopes: [GOOGLE_CLOUD_PLATFORM_SCOPE], clock, logger });
}

export function ttsFromConfig(config: VoxgateConfig, logger: Logger, env: NodeJS.ProcessEnv = process.env): TtsProvider {
  const { tts } = config;
  switch (tts.provider) {
    case 'http':
      return new HttpTtsProvider({ url: tts.http!.url, token: resolveSecret(tts.http!.token, 'tts.http.token', env), requestTimeoutMs: tts.http!.requestTimeoutMs, logger });
    case 'openai': {
      const o = tts.openai!;
      return new OpenAiTtsProvider({ baseUrl: o.baseUrl, apiKey: resolveSecret(o.apiKey, 'tts.openai.apiKey', env), model: o.model, voice: o.voice, speed: o.speed, logger });
    }
    case 'elevenlabs':
      return elevenLabsTtsFromConfig(tts.elevenlabs!, env, logger);
    case 'azure':
      return azureTtsFromConfig(tts.azure!, env, logger);
    case 'google': {
      const section = tts.google!;
      const source = section.apiKey ? undefined : googleTokens(config, 'tts.google', env, logger);
      return googleTtsFromConfig(section, env, { logger, getAccessToken: source && (() => source.token()), invalidateAccessToken: source && ((t) => source.invalidate(t)) });
    }
    case 'polly':
      return pollyTtsFromConfig(tts.polly!, env, logger);
    case 'espeak':
      return new EspeakTtsProvider();
  }
}

export function sttFromConfig(config: VoxgateConfig, logger: Logger, env: NodeJS.ProcessEnv = process.env): SttProvider | undefined {
  const { stt } = config;
  switch (stt.provider) {
    case 'deepgram': {
      const dg = stt.deepgram!;
      return new DeepgramSttProvider({ apiKey: resolveSecret(dg.apiKey, 'stt.deepgram.apiKey', env)!, baseUrl: dg.baseUrl, model: dg.model, endpointingMs: dg.endpointingMs, idleTimeoutMs: dg.idleTimeoutMs, logger });
    }
    case 'openai':
      return new OpenAiTranscriptionProvider(openAiTranscriptionOptions(stt.openai!, { logger, env }));
    case 'vosk':
      return new VoskSttProvider(voskSttOptions(stt.vosk!, { logger, env }));
    case 'google': {
      const section = stt.google!;
      const tokenSource = section.apiKey ? undefined : googleTokens(config, 'stt.google', env, logger);
      return new GoogleSttProvider(googleSttOptions(section, { logger, env, tokenSource }));
    }
    case 'azure':
      return new AzureSttProvider(azureSttOptions(stt.azure!, { logger, env }));
    case 'none':
      return undefined;
  }
}
