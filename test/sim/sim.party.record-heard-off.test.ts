import { describe, expect, it } from 'vitest';
import { VirtualParty } from '../../src/sim/virtual-party.js';
import { FakeClock } from '../support/fake-clock.js';

describe('a virtual party’s recording of what it heard', () => {
  it('keeps every frame by default and nothing when a load test turns it off', () => {
    const frame = new Int16Array(160).fill(1000);
    const recording = new VirtualParty({}, new FakeClock());
    const silent = new VirtualParty({ recordHeard: false }, new FakeClock());
    for (let i = 0; i < 100; i++) {
      recording.hear(frame);
      silent.hear(frame);
    }
    expect(recording.heard.length).toBe(16_000);
    expect(silent.heard.length).toBe(0);
  });
});
