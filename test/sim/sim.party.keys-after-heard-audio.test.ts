import { describe, expect, it } from 'vitest';
import { ScriptError, VirtualParty, validatePartyScript } from '../../src/sim/virtual-party.js';
import { FakeClock } from '../support/fake-clock.js';

const speech = new Int16Array(160).fill(1000);
const silence = new Int16Array(160);

describe('a virtual party that presses keys once it has heard enough', () => {
  it('presses after the given seconds of audio, however long the silences before and between prompts last', () => {
    const clock = new FakeClock();
    const party = new VirtualParty({ keys: [{ afterHeardSec: 1, digits: '12' }] }, clock);
    const pressed: string[] = [];
    party.on('key', (d) => pressed.push(d));
    party.answer();
    // A slow gateway: 5 s of silence, 0.6 s of a prompt, 3 s of silence, then the next prompt.
    for (let i = 0; i < 250; i++) party.hear(silence);
    for (let i = 0; i < 30; i++) party.hear(speech);
    for (let i = 0; i < 150; i++) party.hear(silence);
    clock.advance(10_000);
    expect(pressed).toEqual([]);
    for (let i = 0; i < 19; i++) party.hear(speech);
    clock.advance(1000);
    expect(pressed).toEqual([]);
    party.hear(speech);
    clock.advance(0);
    expect(pressed).toEqual(['1']);
    clock.advance(100);
    expect(pressed).toEqual(['1', '2']);
  });

  it('counts frames the carrier marked audible, even when their samples are zero (a prompt’s own pauses)', () => {
    const clock = new FakeClock();
    const party = new VirtualParty({ keys: [{ afterHeardSec: 0.2, digits: '#' }] }, clock);
    const pressed: string[] = [];
    party.on('key', (d) => pressed.push(d));
    party.answer();
    for (let i = 0; i < 10; i++) party.hear(silence, true);
    clock.advance(0);
    expect(pressed).toEqual(['#']);
  });

  it('hears nothing before it answers and forgets pending presses when stopped', () => {
    const clock = new FakeClock();
    const party = new VirtualParty({ keys: [{ afterHeardSec: 0.2, digits: '5' }] }, clock);
    const pressed: string[] = [];
    party.on('key', (d) => pressed.push(d));
    for (let i = 0; i < 20; i++) party.hear(speech);
    party.answer();
    party.stop();
    for (let i = 0; i < 20; i++) party.hear(speech);
    clock.advance(1000);
    expect(pressed).toEqual([]);
  });

  it('refuses a key entry with both or neither timing, naming it', () => {
    expect(() => validatePartyScript({ keys: [{ digits: '1' }] }, 'callee +1555')).toThrow(new ScriptError('callee +1555: keys[0] needs exactly one of atSec or afterHeardSec'));
    expect(() => validatePartyScript({ keys: [{ atSec: 1, afterHeardSec: 1, digits: '1' }] }, 'c')).toThrow('keys[0] needs exactly one of atSec or afterHeardSec');
    expect(() => validatePartyScript({ keys: [{ afterHeardSec: -1, digits: '1' }] }, 'c')).toThrow('keys[0].afterHeardSec must be a number >= 0, got -1');
  });
});
