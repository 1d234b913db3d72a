/**
 * `${name}` placeholders in settings, resolved once at call start from the call's attributes
 * (caller, callee, conversationId, carrier extras such as X-PH-* headers). Unlike the commercial
 * gateway's JavaScript template literals, nothing is evaluated: a placeholder names a value, so a
 * configuration can never run code. An unknown name is an error naming it.
 */
export class PlaceholderError extends Error {}

const PLACEHOLDER = /\$\{\s*([A-Za-z_][\w.-]*)\s*\}/g;

export function resolvePlaceholders(template: string, values: Readonly<Record<string, string | undefined>>, what: string): string {
  return template.replace(PLACEHOLDER, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new PlaceholderError(`${what}: unknown placeholder \${${name}} (known: ${Object.keys(values).filter((k) => values[k] !== undefined).join(', ')})`);
    return value;
  });
}
