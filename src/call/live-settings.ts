/**
 * The call's settings as they stand now. The bot changes them for the rest of the call
 * (sessionParams) or for one activity (activityParams); the parts of the call that depend on them
 * listen to `changed` and reconfigure (VAD, collectors, timers, recognizer).
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { mergeSettings, parseSettingsOverrides, type CallSettings } from './settings.js';

export interface LiveSettingsEventMap {
  changed: [settings: CallSettings, before: CallSettings];
}

export class LiveSettings extends EventEmitter<LiveSettingsEventMap> {
  constructor(
    private settings: CallSettings,
    private readonly log: Logger,
  ) {
    super();
  }

  get current(): CallSettings {
    return this.settings;
  }

  /** The bot's sessionParams: valid settings apply for the rest of the call, invalid ones are reported and ignored. */
  applySessionParams(params: Record<string, unknown>): void {
    const { overrides, problems } = parseSettingsOverrides(params);
    for (const p of problems) this.log.warn({ setting: p.key, problem: p.message }, 'bot sent an invalid setting; ignored');
    const before = this.settings;
    this.settings = mergeSettings(before, overrides);
    this.emit('changed', this.settings, before);
  }

  /** The settings for one activity: its activityParams over the current settings. */
  forActivity(params: Record<string, unknown> | undefined): CallSettings {
    if (!params) return this.settings;
    const { overrides } = parseSettingsOverrides(params);
    return mergeSettings(this.settings, overrides);
  }

  /** The bot listed this optional event in sendEventsToBot. */
  wantsEvent(name: string): boolean {
    return this.settings.sendEventsToBot.includes(name);
  }
}
