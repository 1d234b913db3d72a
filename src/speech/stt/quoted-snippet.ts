/** The start of a vendor's text as a JSON string, for error messages: enough to recognize it, never a whole page. */
export function snippet(text: string): string {
  return text.length > 200 ? `${JSON.stringify(text.slice(0, 200))}…` : JSON.stringify(text);
}
