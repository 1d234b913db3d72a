import { describe, expect, it } from 'vitest';
import { CampaignDefinitionError, outcomeFromDtmf, parseCampaignDefinition } from '../../src/dialer/campaign-definition.js';
import { seed002Campaign } from '../support/campaign-fixtures.js';

function messageOf(input: unknown): string {
  try {
    parseCampaignDefinition(input);
  } catch (err) {
    expect(err).toBeInstanceOf(CampaignDefinitionError);
    return (err as Error).message;
  }
  throw new Error('expected the definition to be rejected');
}

describe('campaign definition', () => {
  it('accepts the seed 002 escalation flow and fills the defaults', () => {
    const def = parseCampaignDefinition({ name: 'minimal', caller: '+15550001000', bot: 'b', contacts: [{ phone: '+15550000001' }] });
    expect(def).toMatchObject({
      attemptsPerContact: 3,
      retrySpacingSec: 300,
      escalation: 'all',
      outcomes: { accepted: ['1'], rejected: ['2'] },
      pacing: { callsPerSecond: 1, maxConcurrent: 10 },
      variables: {},
    });
    expect(parseCampaignDefinition(seed002Campaign()).dialPlan?.verbs).toHaveLength(5);
  });

  it('names every bad field', () => {
    const message = messageOf({
      name: '',
      caller: 'reception',
      bot: 'b',
      attemptsPerContact: 0,
      escalation: 'round-robin',
      pacing: { callsPerSecond: 0, maxConcurrent: 2 },
      window: { start: '9am', end: '17:00', timezone: 'Mars/Olympus' },
      callback: { url: 'not a url' },
      contacts: [{ phone: '+15550000001', timezone: 'Europe/Atlantis' }],
    });
    for (const part of [
      'name:',
      'caller: not an E.164 phone number: "reception"',
      'attemptsPerContact:',
      'escalation:',
      'pacing.callsPerSecond:',
      'window.start: HH:MM, 24-hour',
      'window.timezone: unknown IANA time zone "Mars/Olympus"',
      'callback.url:',
      'contacts.0.timezone: unknown IANA time zone "Europe/Atlantis"',
    ]) {
      expect(message).toContain(part);
    }
  });

  it('wants exactly one of bot or dialPlan', () => {
    expect(messageOf({ name: 'x', caller: '+15550001000' })).toContain('bot: exactly one of bot or dialPlan is required');
    expect(messageOf({ ...seed002Campaign(), bot: 'also' })).toContain('bot: exactly one of bot or dialPlan is required');
  });

  it('refuses a key that both accepts and rejects, and unknown fields', () => {
    expect(messageOf({ ...seed002Campaign(), outcomes: { accepted: ['1'], rejected: ['1', '2'] } })).toContain(
      'outcomes.rejected: a key cannot both accept and reject',
    );
    expect(messageOf({ ...seed002Campaign(), retries: 3 })).toContain("Unrecognized key(s) in object: 'retries'");
  });

  it('maps keys to outcomes: listed code, else the first deciding key pressed, else no-response', () => {
    const outcomes = { accepted: ['1', '*9'], rejected: ['2'] };
    expect(outcomeFromDtmf('1', outcomes)).toBe('accepted');
    expect(outcomeFromDtmf('*9', outcomes)).toBe('accepted');
    expect(outcomeFromDtmf('32', outcomes)).toBe('rejected');
    expect(outcomeFromDtmf('21', outcomes)).toBe('rejected');
    expect(outcomeFromDtmf('', outcomes)).toBe('no-response');
    expect(outcomeFromDtmf(undefined, outcomes)).toBe('no-response');
    expect(outcomeFromDtmf('7', outcomes)).toBe('no-response');
  });
});
