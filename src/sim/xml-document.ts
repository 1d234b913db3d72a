/**
 * Parsing and validating the XML documents carriers execute (Plivo XML, TwiML): a <Response> root whose
 * children are verbs of the carrier's vocabulary, each allowing only certain nested elements. Both
 * carriers reject a document that is not well-formed, has another root, or uses an element or nesting
 * outside the vocabulary; the simulator does the same rather than skipping, so such bugs surface in tests.
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

/** What a carrier accepts in a <Response> document. */
export interface XmlVocabulary {
  /** Names the dialect in error messages ("a Plivo XML element", "a TwiML verb"). */
  elementKind: string;
  verbs: ReadonlySet<string>;
  /** Element children allowed inside an element; elements not listed allow text only. */
  allowedChildren: Readonly<Record<string, ReadonlySet<string>>>;
}

export class XmlDocumentError extends Error {
  constructor(
    message: string,
    /** `syntax`: not well-formed XML; `schema`: well-formed but outside the carrier's vocabulary. */
    readonly kind: 'syntax' | 'schema',
  ) {
    super(message);
  }
}

/** SSML inside a text-to-speech verb (Plivo <Speak>, Twilio <Say>). */
export const SSML_TAGS: ReadonlySet<string> = new Set(['break', 'emphasis', 'lang', 'p', 'phoneme', 'prosody', 's', 'say-as', 'sub', 'w']);

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

/** Re-serializes the element's content (used to pass SSML inside a speech verb to the TTS provider). */
export function innerXml(el: XmlElement): string {
  return el.children
    .map((n) => {
      if (!isElement(n)) return escapeXml(n.text);
      const attrs = Object.entries(n.attrs).map(([k, v]) => ` ${k}="${escapeXml(v)}"`).join('');
      return n.children.length ? `<${n.name}${attrs}>${innerXml(n)}</${n.name}>` : `<${n.name}${attrs}/>`;
    })
    .join('');
}

/** `name=value` attributes and (shortened) text of a verb, for the timeline. */
export function describeElement(el: XmlElement): string | undefined {
  const text = textContent(el);
  const attrs = Object.entries(el.attrs).map(([k, v]) => `${k}=${v}`).join(' ');
  const s = [attrs, text.length > 80 ? `${text.slice(0, 77)}...` : text].filter(Boolean).join(' ');
  return s || undefined;
}

function validateNesting(el: XmlElement, path: string, vocabulary: XmlVocabulary): void {
  const allowed = vocabulary.allowedChildren[el.name];
  for (const child of elementChildren(el)) {
    if (!allowed || !allowed.has(child.name)) throw new XmlDocumentError(`<${child.name}> is not allowed inside <${el.name}> (at ${path})`, 'schema');
    validateNesting(child, `${path}/${child.name}`, vocabulary);
  }
}

/** Returns the verbs of a <Response> document in order, or throws XmlDocumentError naming the problem. */
export function parseResponseDocument(xml: string, vocabulary: XmlVocabulary): XmlElement[] {
  const trimmed = xml.trim();
  if (!trimmed) throw new XmlDocumentError('empty XML document', 'syntax');
  const valid = XMLValidator.validate(trimmed);
  if (valid !== true) throw new XmlDocumentError(`XML is not well-formed: ${valid.err.msg} (line ${valid.err.line})`, 'syntax');
  const roots = (parser.parse(trimmed) as RawNode[]).map(convert).filter((n): n is XmlElement => n !== undefined && isElement(n));
  if (roots.length !== 1 || roots[0].name !== 'Response') {
    throw new XmlDocumentError(`root element must be <Response>, got ${roots.map((r) => `<${r.name}>`).join(', ') || 'none'}`, 'schema');
  }
  const verbs = elementChildren(roots[0]);
  for (const verb of verbs) {
    if (!vocabulary.verbs.has(verb.name)) throw new XmlDocumentError(`<${verb.name}> is not ${vocabulary.elementKind}`, 'schema');
    validateNesting(verb, `Response/${verb.name}`, vocabulary);
  }
  return verbs;
}
