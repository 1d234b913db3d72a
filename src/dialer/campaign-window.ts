/**
 * Calling windows in the contact's own time zone, computed with Intl (no zone database of our own):
 * is a contact callable now, and if not, when does its window open next.
 */
import { WEEKDAYS, type CampaignWindow, type Weekday } from './campaign-definition.js';

const MINUTE_MS = 60_000;
const DAY_MINUTES = 1440;
/** DST gaps can move a local time by up to an hour; probing in these steps finds the real opening. */
const PROBE_STEP_MS = 15 * MINUTE_MS;

interface LocalTime {
  weekday: number;
  minutes: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', weekday: 'short', hour: '2-digit', minute: '2-digit' });
    formatters.set(timeZone, f);
  }
  return f;
}

const SHORT_DAYS: Record<string, number> = { Mon: 0, Tue: 1, Wed: 2, Thu: 3, Fri: 4, Sat: 5, Sun: 6 };

function localTime(at: number, timeZone: string): LocalTime {
  let weekday = 0;
  let hour = 0;
  let minute = 0;
  for (const part of formatterFor(timeZone).formatToParts(at)) {
    if (part.type === 'weekday') weekday = SHORT_DAYS[part.value] ?? 0;
    else if (part.type === 'hour') hour = Number(part.value) % 24;
    else if (part.type === 'minute') minute = Number(part.value);
  }
  return { weekday, minutes: hour * 60 + minute };
}

function toMinutes(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}

export class CallingWindow {
  private readonly start: number;
  private readonly end: number;
  private readonly days: Set<number>;

  constructor(private readonly window: CampaignWindow) {
    this.start = toMinutes(window.start);
    this.end = toMinutes(window.end);
    this.days = new Set((window.days ?? [...WEEKDAYS]).map((d: Weekday) => WEEKDAYS.indexOf(d)));
  }

  get defaultTimeZone(): string {
    return this.window.timezone;
  }

  isOpen(at: number, timeZone = this.window.timezone): boolean {
    const { weekday, minutes } = localTime(at, timeZone);
    if (this.start < this.end) return this.days.has(weekday) && minutes >= this.start && minutes < this.end;
    // Past midnight: the early-morning part belongs to the previous day's window.
    if (minutes >= this.start) return this.days.has(weekday);
    return minutes < this.end && this.days.has((weekday + 6) % 7);
  }

  /** `at` when open, else the first minute the window opens after `at`. */
  nextOpening(at: number, timeZone = this.window.timezone): number {
    if (this.isOpen(at, timeZone)) return at;
    const { minutes } = localTime(at, timeZone);
    const startOfMinute = at - (at % MINUTE_MS);
    // Jump to the next local start time; a closed day or a DST shift sends us on to the next one.
    let candidate = startOfMinute + (((this.start - minutes + DAY_MINUTES) % DAY_MINUTES) || DAY_MINUTES) * MINUTE_MS;
    for (let day = 0; day < 9; day++) {
      if (this.isOpen(candidate, timeZone)) return this.earliestOpenBefore(candidate, candidate - PROBE_STEP_MS * 8, timeZone, at);
      // Near a DST change the local start time is up to an hour off: probe around it.
      for (let probe = candidate - 4 * PROBE_STEP_MS; probe <= candidate + 4 * PROBE_STEP_MS; probe += PROBE_STEP_MS) {
        if (probe > at && this.isOpen(probe, timeZone)) return this.earliestOpenBefore(probe, probe - PROBE_STEP_MS, timeZone, at);
      }
      candidate += DAY_MINUTES * MINUTE_MS;
    }
    // No open minute within a week and a bit: days is never empty, so this means a zone we cannot read.
    return at + DAY_MINUTES * MINUTE_MS;
  }

  /** Walks back minute by minute from an open instant to the first open minute after `notBefore`. */
  private earliestOpenBefore(open: number, floor: number, timeZone: string, notBefore: number): number {
    let first = open;
    for (let t = open - MINUTE_MS; t > Math.max(floor, notBefore); t -= MINUTE_MS) {
      if (!this.isOpen(t, timeZone)) break;
      first = t;
    }
    return first;
  }
}
