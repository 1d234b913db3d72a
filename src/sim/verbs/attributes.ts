/** Reading Plivo XML attributes with Plivo's defaults; a bad value is an error naming element and attribute. */
import type { XmlElement } from '../plivo-xml.js';
import type { HttpMethod } from '../app-requests.js';

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
