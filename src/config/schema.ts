/** Voxgate configuration: a YAML file plus environment variables, validated here. Every setting has a default. */
import { z } from 'zod';
import { callSettingsSchema } from '../call/settings.js';

const plivoContentType = z.enum(['audio/x-mulaw;rate=8000', 'audio/x-l16;rate=8000', 'audio/x-l16;rate=16000']);

export const botSchema = z
  .object({
    name: z.string().min(1),
    type: z.literal('flow'),
    /** Path to a YAML/JSON flow file, or the flow inline. Omitted: the built-in demo flow. */
    flow: z.union([z.string().min(1), z.record(z.unknown())]).optional(),
    /** Conversation settings for this bot (bot-api names: bargeIn, sendDTMF, userNoInputTimeoutMS...). */
    settings: callSettingsSchema.partial().strict().default({}),
  })
  .strict();

export const routeSchema = z
  .object({
    /** Called number, or "*" for any number. */
    number: z.string().min(1),
    bot: z.string().min(1),
  })
  .strict();

export const configSchema = z
  .object({
    server: z
      .object({
        host: z.string().default('0.0.0.0'),
        port: z.coerce.number().int().min(0).max(65535).default(8080),
        /** The URL carriers use to reach this server; defaults to http://127.0.0.1:<port>. */
        publicUrl: z.string().url().optional(),
      })
      .strict()
      .default({}),
    dataDir: z.string().default('./data'),
    /** PostgreSQL URL; SQLite under dataDir when absent. */
    databaseUrl: z.string().url().optional(),
    log: z.object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') }).strict().default({}),
    carriers: z
      .object({
        plivo: z
          .object({
            authId: z.string().default('MAVOXGATEDEMO'),
            /** Enables Signature V3 checks on callbacks and the stream, and authenticates REST calls. */
            authToken: z.string().optional(),
            apiBaseUrl: z.string().url().default('https://api.plivo.com'),
            contentType: plivoContentType.default('audio/x-mulaw;rate=8000'),
          })
          .strict()
          .default({}),
      })
      .strict()
      .default({}),
    tts: z
      .object({
        provider: z.literal('espeak').default('espeak'),
        cache: z
          .object({
            enabled: z.boolean().default(true),
            ttlHours: z.number().positive().default(24),
            maxMemoryMB: z.number().positive().default(64),
            /** Defaults to <dataDir>/tts-cache. */
            dir: z.string().optional(),
          })
          .strict()
          .default({}),
      })
      .strict()
      .default({}),
    /** Settings every bot starts from. */
    defaults: callSettingsSchema.partial().strict().default({}),
    bots: z.array(botSchema).default([{ name: 'demo', type: 'flow', settings: {} }]),
    routes: z.array(routeSchema).default([{ number: '*', bot: 'demo' }]),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const names = new Set<string>();
    cfg.bots.forEach((b, i) => {
      if (names.has(b.name)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['bots', i, 'name'], message: `duplicate bot name "${b.name}"` });
      names.add(b.name);
    });
    cfg.routes.forEach((r, i) => {
      if (!names.has(r.bot)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['routes', i, 'bot'], message: `unknown bot "${r.bot}" (known: ${[...names].join(', ') || 'none'})` });
    });
  });

export type VoxgateConfig = z.infer<typeof configSchema>;
export type BotConfig = z.infer<typeof botSchema>;
