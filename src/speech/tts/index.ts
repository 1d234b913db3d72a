/** TTS: the provider contract, the local eSpeak NG provider and the shared cache. */
export * from './provider.js';
export * from './espeak.js';
export * from './cache.js';
