/** Reading verb attributes (Plivo XML, TwiML) with the carrier's defaults; a bad value is an error naming element and attribute. */
import type { XmlElement } from './xml-document.js';
import type { HttpMethod } from './app-requests.js';

export class VerbAttributeError extends Error {}

export function numberAttr(el: XmlElement, name: string, fallback: number, min = -Infinity, max = Infinity): number {
  const raw = el.attrs[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max) {
    throw new VerbAttributeError(`<${el.name} ${name}="${raw}">: expected a number between ${min} and ${max}`);
  }
  return n;
}

export function boolAttr(el: XmlElement, name: string, fallback: boolean): boolean {
  const raw = el.attrs[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  throw new VerbAttributeError(`<${el.name} ${name}="${raw}">: expected true or false`);
}

export function methodAttr(el: XmlElement, name = 'method', fallback: HttpMethod = 'POST'): HttpMethod {
  const raw = el.attrs[name];
  if (raw === undefined || raw === '') return fallback;
  const m = raw.toUpperCase();
  if (m !== 'GET' && m !== 'POST') throw new VerbAttributeError(`<${el.name} ${name}="${raw}">: expected GET or POST`);
  return m;
}

/** One of `allowed` (exact spelling), or `fallback` when the attribute is absent. */
export function enumAttr<T extends string>(el: XmlElement, name: string, allowed: readonly T[], fallback: T): T {
  const raw = el.attrs[name];
  if (raw === undefined || raw === '') return fallback;
  if (!(allowed as readonly string[]).includes(raw)) throw new VerbAttributeError(`<${el.name} ${name}="${raw}">: expected ${allowed.join(', ')}`);
  return raw as T;
}

/** Carriers' `loop` attribute: how many times to play (default 1); "0" repeats until something stops it, bounded so a forgotten loop cannot run forever. */
export function loopAttr(el: XmlElement): number {
  return numberAttr(el, 'loop', 1, 0, 10_000) || 10_000;
}

/** DTMF digits a verb plays to the party (0-9 * # A-D, `w` for a half-second pause), without the pauses. */
export function playableDigits(raw: string, what: string): string {
  if (!/^[0-9*#A-Dw]+$/.test(raw)) throw new VerbAttributeError(`${what}: expected digits 0-9 * # A-D (w for a pause)`);
  return raw.replace(/w/g, '');
}
