/**
 * Parses and validates Plivo XML. Plivo rejects a document that is not well-formed, whose root is not
 * <Response>, or that uses an element or nesting outside its vocabulary: the call then hangs up
 * ("Invalid Answer XML"). The simulator does the same rather than skipping, so such bugs surface in tests.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';

export interface XmlText {
  text: string;
}
export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlNode[];
}
export type XmlNode = XmlElement | XmlText;

export class PlivoXmlError extends Error {}

export const PLIVO_VERBS = new Set([
  'Speak', 'Play', 'GetDigits', 'GetInput', 'Record', 'Dial', 'Redirect', 'Wait', 'Hangup', 'PreAnswer',
  'Conference', 'DTMF', 'MultiPartyCall', 'Stream',
]);
const SSML_TAGS = new Set(['break', 'emphasis', 'lang', 'p', 'phoneme', 'prosody', 's', 'say-as', 'sub', 'w']);
const ALLOWED_CHILDREN: Record<string, Set<string>> = {
  GetDigits: new Set(['Speak', 'Play', 'Wait']),
  GetInput: new Set(['Speak', 'Play', 'Wait']),
  Dial: new Set(['Number', 'User']),
  PreAnswer: new Set(['Speak', 'Play', 'Wait', 'GetDigits', 'GetInput']),
  Speak: SSML_TAGS,
};

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  trimValues: false,
  parseTagValue: false,
  parseAttributeValue: false,
});

type RawNode = Record<string, unknown>;

function convert(raw: RawNode): XmlNode | undefined {
  if ('#text' in raw) return { text: String(raw['#text']) };
  const name = Object.keys(raw).find((k) => k !== ':@');
  if (!name || name.startsWith('?') || name === '#comment') return undefined;
  const attrs = (raw[':@'] as Record<string, string> | undefined) ?? {};
  const children = ((raw[name] as RawNode[]) ?? []).map(convert).filter((n): n is XmlNode => n !== undefined);
  return { name, attrs: { ...attrs }, children };
}

export function isElement(n: XmlNode): n is XmlElement {
  return 'name' in n;
}

export function elementChildren(el: XmlElement): XmlElement[] {
  return el.children.filter(isElement);
}

/** The element's text content (all descendant text), trimmed. */
export function textContent(el: XmlElement): string {
  const parts: string[] = [];
  const walk = (n: XmlNode) => (isElement(n) ? n.children.forEach(walk) : parts.push(n.text));
  el.children.forEach(walk);
  return parts.join('').trim();
}

const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Re-serializes the element's content (used to pass SSML inside <Speak> to the TTS provider). */
export function innerXml(el: XmlElement): string {
  return el.children
    .map((n) => {
      if (!isElement(n)) return escapeXml(n.text);
      const attrs = Object.entries(n.attrs).map(([k, v]) => ` ${k}="${escapeXml(v)}"`).join('');
      return n.children.length ? `<${n.name}${attrs}>${innerXml(n)}</${n.name}>` : `<${n.name}${attrs}/>`;
    })
    .join('');
}

function validateNesting(el: XmlElement, path: string): void {
  const allowed = ALLOWED_CHILDREN[el.name];
  for (const child of elementChildren(el)) {
    if (!allowed || !allowed.has(child.name)) throw new PlivoXmlError(`<${child.name}> is not allowed inside <${el.name}> (at ${path})`);
    validateNesting(child, `${path}/${child.name}`);
  }
}

/** Returns the verbs of a <Response> document in order, or throws PlivoXmlError naming the problem. */
export function parsePlivoXml(xml: string): XmlElement[] {
  const trimmed = xml.trim();
  if (!trimmed) throw new PlivoXmlError('empty XML document');
  const valid = XMLValidator.validate(trimmed);
  if (valid !== true) throw new PlivoXmlError(`XML is not well-formed: ${valid.err.msg} (line ${valid.err.line})`);
  const roots = (parser.parse(trimmed) as RawNode[]).map(convert).filter((n): n is XmlElement => n !== undefined && isElement(n));
  if (roots.length !== 1 || roots[0].name !== 'Response') {
    throw new PlivoXmlError(`root element must be <Response>, got ${roots.map((r) => `<${r.name}>`).join(', ') || 'none'}`);
  }
  const verbs = elementChildren(roots[0]);
  for (const verb of verbs) {
    if (!PLIVO_VERBS.has(verb.name)) throw new PlivoXmlError(`<${verb.name}> is not a Plivo XML element`);
    validateNesting(verb, `Response/${verb.name}`);
  }
  return verbs;
}
