import { describe, expect, it } from 'vitest';
import { ContactListError, parseContactsCsv, parseContactsJson } from '../../src/dialer/campaign-contacts.js';

function errorOf(fn: () => unknown): ContactListError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ContactListError) return err;
    throw err;
  }
  throw new Error('expected a ContactListError');
}

describe('campaign contact lists', () => {
  it('reads phone, name and timezone; every other column becomes a prompt variable', () => {
    const csv = '\uFEFFphone,name,timezone,ticket,shift\n+30 210 123 4567,Eleni,Europe/Athens,INC-1,night\n\ntel:+1 (212) 555-0001,,,INC-2,\n';
    expect(parseContactsCsv(csv)).toEqual([
      { phone: '+302101234567', name: 'Eleni', timezone: 'Europe/Athens', variables: { ticket: 'INC-1', shift: 'night' } },
      { phone: '+12125550001', variables: { ticket: 'INC-2', shift: '' } },
    ]);
  });

  it('names the line and column of every bad row, all at once', () => {
    const csv = 'phone,name,timezone\n+15550000001,Ok,UTC\n12ab,Bad phone,UTC\n+15550000003,Bad zone,Mars/Olympus\n';
    const err = errorOf(() => parseContactsCsv(csv));
    expect(err.problems).toEqual([
      'line 3, column phone: not an E.164 phone number: "12ab"',
      'line 4, column timezone: unknown IANA time zone "Mars/Olympus"',
    ]);
    expect(err.message).toContain('contacts CSV: line 3, column phone');
  });

  it('rejects a header without a phone column, duplicate columns, and an empty list', () => {
    expect(errorOf(() => parseContactsCsv('number,name\n+15550000001,A\n')).message).toBe(
      'contacts CSV line 1: the header row needs a "phone" column (got "number", "name")',
    );
    expect(errorOf(() => parseContactsCsv('phone,ticket,ticket\n+15550000001,a,b\n')).message).toMatch(/column "ticket" appears twice/);
    expect(errorOf(() => parseContactsCsv('phone\n')).message).toMatch(/no contacts/);
    expect(errorOf(() => parseContactsCsv('')).message).toMatch(/empty file/);
  });

  it('reports a row with the wrong number of fields by its line', () => {
    const err = errorOf(() => parseContactsCsv('phone,name\n+15550000001,A\n+15550000002,B,extra\n'));
    expect(err.message).toMatch(/^contacts CSV line 3: /);
  });

  it('reports an unclosed quote', () => {
    expect(errorOf(() => parseContactsCsv('phone,name\n+15550000001,"Unclosed\n')).message).toMatch(/^contacts CSV/);
  });

  it('takes a JSON list with per-contact variables, naming the index of a bad entry', () => {
    expect(parseContactsJson([{ phone: '+15550000001', variables: { ticket: 'T1' } }])).toEqual([
      { phone: '+15550000001', variables: { ticket: 'T1' } },
    ]);
    const err = errorOf(() => parseContactsJson([{ phone: '+15550000001' }, { phone: '+15550000002', email: 'x@example.com' }]));
    expect(err.message).toMatch(/contacts\.1: Unrecognized key\(s\) in object: 'email'/);
    expect(errorOf(() => parseContactsJson([])).message).toMatch(/no contacts/);
  });
});
