/** Invalid configuration; the message names the key and what was expected. */
export class ConfigError extends Error {}
