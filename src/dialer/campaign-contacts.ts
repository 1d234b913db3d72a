/**
 * Contact lists: a CSV upload (header row: phone, name, timezone; every other column is a prompt
 * variable) or a JSON array. Every bad row is reported with its line number and column, all at once,
 * so a list can be fixed in one go.
 */
import { CsvError, parse } from 'csv-parse/sync';
import { z } from 'zod';
import { campaignContactSchema, formatIssues, type CampaignContact } from './campaign-definition.js';

/** How many row problems one error lists before it stops counting them out. */
const MAX_REPORTED_PROBLEMS = 20;
const RESERVED_COLUMNS = new Set(['phone', 'name', 'timezone']);

export class ContactListError extends Error {
  constructor(
    message: string,
    /** Each problem as `line N, column C: what`. */
    readonly problems: string[] = [],
  ) {
    super(message);
    this.name = 'ContactListError';
  }
}

export function parseContactsCsv(text: string | Buffer): CampaignContact[] {
  let records: { record: Record<string, string>; info: { lines: number } }[];
  let header: string[] = [];
  try {
    records = parse(text, {
      bom: true,
      columns: (row: string[]) => (header = row.map((column) => String(column).trim())),
      skip_empty_lines: true,
      trim: true,
      info: true,
    }) as typeof records;
  } catch (err) {
    if (err instanceof CsvError) {
      const line = (err as CsvError & { lines?: number }).lines;
      throw new ContactListError(`contacts CSV${line ? ` line ${line}` : ''}: ${err.message}`);
    }
    throw err;
  }
  checkHeader(header);
  if (records.length === 0) throw new ContactListError('contacts CSV: no contacts (a header row and at least one row are required)');

  const contacts: CampaignContact[] = [];
  const problems: string[] = [];
  for (const { record, info } of records) {
    const variables: Record<string, string> = {};
    for (const [column, value] of Object.entries(record)) {
      if (!RESERVED_COLUMNS.has(column)) variables[column] = value;
    }
    const result = campaignContactSchema.safeParse({
      phone: record.phone,
      name: record.name || undefined,
      timezone: record.timezone || undefined,
      variables,
    });
    if (result.success) contacts.push(result.data);
    else {
      for (const issue of result.error.issues) {
        const column = issue.path[0] === 'variables' ? String(issue.path[1] ?? 'variables') : String(issue.path[0] ?? '');
        problems.push(`line ${info.lines}, column ${column}: ${issue.message}`);
      }
    }
  }
  if (problems.length > 0) throw problemsError('contacts CSV', problems);
  return contacts;
}

/** A JSON array of `{ phone, name?, timezone?, variables? }`. */
export function parseContactsJson(input: unknown): CampaignContact[] {
  const result = z.array(campaignContactSchema).min(1, 'no contacts').safeParse(input);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${['contacts', ...issue.path].join('.')}: ${issue.message}`);
    throw problemsError('contacts JSON', problems.length ? problems : [formatIssues(result.error)]);
  }
  return result.data;
}

function checkHeader(header: string[]): void {
  if (header.length === 0) throw new ContactListError('contacts CSV: empty file (a header row with a "phone" column is required)');
  if (!header.includes('phone')) {
    throw new ContactListError(`contacts CSV line 1: the header row needs a "phone" column (got ${header.map((h) => JSON.stringify(h)).join(', ')})`);
  }
  const seen = new Set<string>();
  for (const column of header) {
    if (!column) throw new ContactListError('contacts CSV line 1: a header column is empty');
    if (seen.has(column)) throw new ContactListError(`contacts CSV line 1: column "${column}" appears twice`);
    seen.add(column);
  }
}

function problemsError(what: string, problems: string[]): ContactListError {
  const shown = problems.slice(0, MAX_REPORTED_PROBLEMS);
  const more = problems.length > shown.length ? `; and ${problems.length - shown.length} more` : '';
  return new ContactListError(`${what}: ${shown.join('; ')}${more}`, problems);
}
