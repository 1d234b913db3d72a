import { describe, expect, it } from 'vitest';
import {
  dtmfDigitOfEvent,
  eventOfDtmfDigit,
  parseTelephoneEvent,
  TelephoneEventTracker,
  writeTelephoneEvent,
} from '../../../src/carriers/rtp-media/telephone-event.js';

describe('RFC 4733 payload', () => {
  it('parses event, end bit, volume and duration', () => {
    expect(parseTelephoneEvent(Buffer.from([11, 0x80 | 10, 0x03, 0x20]))).toEqual({ event: 11, end: true, volume: 10, duration: 800 });
    expect(parseTelephoneEvent(Buffer.from([5, 0x40 | 63, 0, 160]))).toEqual({ event: 5, end: false, volume: 63, duration: 160 }); // R bit ignored
    expect(parseTelephoneEvent(Buffer.from([1, 2, 3]))).toBeNull();
  });

  it('writes what it parses', () => {
    const b = Buffer.alloc(4);
    writeTelephoneEvent(b, 0, { event: 15, end: true, volume: 10, duration: 65535 });
    expect(parseTelephoneEvent(b)).toEqual({ event: 15, end: true, volume: 10, duration: 65535 });
  });

  it('maps events 0-15 to 0-9 * # A-D and back', () => {
    expect([...Array(16).keys()].map((e) => dtmfDigitOfEvent(e)).join('')).toBe('0123456789*#ABCD');
    expect(dtmfDigitOfEvent(16)).toBeUndefined();
    expect(eventOfDtmfDigit('#')).toBe(11);
    expect(eventOfDtmfDigit('*')).toBe(10);
    expect(eventOfDtmfDigit('d')).toBe(15);
    expect(eventOfDtmfDigit('E')).toBeUndefined();
    expect(eventOfDtmfDigit('12')).toBeUndefined();
  });
});

describe('telephone-event tracker', () => {
  function tracker() {
    const digits: string[] = [];
    return { t: new TelephoneEventTracker((d) => digits.push(d), 300), digits };
  }

  it('a press with its end packet sent three times is one digit, reported at the end', () => {
    const { t, digits } = tracker();
    for (let d = 1; d <= 5; d++) t.onPacket(1000, 7, false, d * 20);
    expect(digits).toEqual([]);
    for (let i = 0; i < 3; i++) t.onPacket(1000, 7, true, 120 + i);
    expect(digits).toEqual(['7']);
  });

  it('the same digit twice in a row (two timestamps) is two digits', () => {
    const { t, digits } = tracker();
    for (const ts of [1000, 3000]) {
      t.onPacket(ts, 1, false, 0);
      for (let i = 0; i < 3; i++) t.onPacket(ts, 1, true, 0);
    }
    expect(digits).toEqual(['1', '1']);
  });

  it('all end packets lost: the digit is reported when the next event starts', () => {
    const { t, digits } = tracker();
    t.onPacket(1000, 4, false, 0);
    t.onPacket(1000, 4, false, 20);
    t.onPacket(2000, 5, false, 200);
    expect(digits).toEqual(['4']);
    t.onPacket(2000, 5, true, 260);
    expect(digits).toEqual(['4', '5']);
  });

  it('all end packets lost and nothing follows: the digit is reported after the timeout', () => {
    const { t, digits } = tracker();
    t.onPacket(1000, 9, false, 0);
    t.poll(299);
    expect(digits).toEqual([]);
    t.poll(300);
    t.poll(400);
    expect(digits).toEqual(['9']);
    // A late end packet of the same event does not report it again.
    t.onPacket(1000, 9, true, 450);
    expect(digits).toEqual(['9']);
  });

  it('end packets arriving only (first packets lost) still report once; events beyond 15 are not digits', () => {
    const { t, digits } = tracker();
    t.onPacket(500, 0, true, 0);
    t.onPacket(500, 0, true, 0);
    t.onPacket(900, 16, false, 0);
    t.onPacket(900, 16, true, 0);
    expect(digits).toEqual(['0']);
  });
});
