/** The virtual parties a simulator's outbound calls and <Dial>s reach, by number ('+' optional, as carriers accept both). */
import { validatePartyScript, type PartyScript } from './virtual-party.js';

/** A number as a lookup key: trimmed, without the leading '+'. */
export function numberKey(n: string): string {
  return n.trim().replace(/^\+/, '');
}

export class CalleeDirectory {
  private readonly scripts = new Map<string, PartyScript>();

  /** Registers the party reached by dialing `number`; a bad script throws, naming the field. */
  add(number: string, script: PartyScript): void {
    validatePartyScript(script, `callee ${number}`);
    this.scripts.set(numberKey(number), script);
  }

  get(number: string): PartyScript | undefined {
    return this.scripts.get(numberKey(number));
  }
}
