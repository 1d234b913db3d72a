/** TTS: the provider contract, the providers and the shared cache. */
export * from './provider.js';
export * from './espeak.js';
export * from './cache.js';
export * from './http-tts.js';
export * from './openai-tts.js';
