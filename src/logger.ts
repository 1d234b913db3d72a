import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/** JSON logs to stdout; call-scoped code logs through `logger.child({ callId })`. */
export function createLogger(options: { level?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  const opts: LoggerOptions = { level: options.level ?? process.env.LOG_LEVEL ?? 'info', base: { service: 'voxgate' } };
  return options.destination ? pino(opts, options.destination as import("pino").DestinationStream) : pino(opts);
}

/** A logger that writes nothing, for tests and benchmarks that do not look at logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
