/** Alarm severities, ITU-T X.733 style, in rising order; `clear` means the condition has ended. */
export const ALARM_SEVERITIES = ['clear', 'indeterminate', 'warning', 'minor', 'major', 'critical'] as const;

export type AlarmSeverity = (typeof ALARM_SEVERITIES)[number];

export function isAlarmSeverity(value: unknown): value is AlarmSeverity {
  return typeof value === 'string' && (ALARM_SEVERITIES as readonly string[]).includes(value);
}

/** 0 for clear, 5 for critical. */
export function severityRank(severity: AlarmSeverity): number {
  return ALARM_SEVERITIES.indexOf(severity);
}
