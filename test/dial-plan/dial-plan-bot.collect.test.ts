import { describe, expect, it } from 'vitest';
import type { DialPlanInput } from '../../src/bots/dial-plan/dial-plan.js';
import { startDialPlanCall } from './dial-plan-call.js';

function collectPlan(collect: Record<string, unknown>): DialPlanInput {
  return {
    verbs: [
      { type: 'SAY', message: { text: 'Enter your PIN.' } },
      { type: 'COLLECT', ...collect },
      { type: 'SAY', message: { text: 'Thank you.' } },
    ],
  };
}

const digitsOf = (call: Awaited<ReturnType<typeof startDialPlanCall>>) => call.bot.result.collects.map((c) => [c.status, c.digits]);

describe('DialPlanBot: COLLECT', () => {
  it('maxDigits: the input is complete at the last digit and the plan goes on', async () => {
    const call = await startDialPlanCall(collectPlan({ maxDigits: 3, timeout: 5 }));
    await call.hearAll();
    await call.press('1', '2');
    expect(digitsOf(call)).toEqual([]);
    expect(call.queued()).not.toContain('Thank you.');
    await call.press('3');
    expect(digitsOf(call)).toEqual([['collected', '123']]);
    expect(call.queued()).toContain('Thank you.');
    await call.hearAll();
    expect(call.hangupReason()).toBe('dial-plan-completed');
  });

  it('submitOnHash: # ends the input early and is not part of it', async () => {
    const call = await startDialPlanCall(collectPlan({ maxDigits: 6, submitOnHash: true, timeout: 5 }));
    await call.hearAll();
    await call.press('4', '2', '#');
    expect(digitsOf(call)).toEqual([['collected', '42']]);
  });

  it('without submitOnHash, # is an ordinary key', async () => {
    const call = await startDialPlanCall(collectPlan({ maxDigits: 2, submitOnHash: false, timeout: 5 }));
    await call.hearAll();
    await call.press('#', '7');
    expect(digitsOf(call)).toEqual([['collected', '#7']]);
  });

  it('timeout: no key within timeout seconds after the prompt ends the COLLECT empty, then the plan goes on', async () => {
    const call = await startDialPlanCall(collectPlan({ timeout: 3 }));
    await call.wait(60_000); // the prompt is still playing: the timeout has not started
    expect(digitsOf(call)).toEqual([]);
    await call.hearAll();
    await call.wait(2_999);
    expect(digitsOf(call)).toEqual([]);
    await call.wait(1);
    expect(digitsOf(call)).toEqual([['timeout', '']]);
    expect(call.queued()).toContain('Thank you.');
  });

  it('a pause longer than timeout between keys submits what was pressed', async () => {
    const call = await startDialPlanCall(collectPlan({ maxDigits: 4, timeout: 3 }));
    await call.hearAll();
    await call.press('9');
    await call.wait(2_999);
    expect(digitsOf(call)).toEqual([]);
    await call.wait(1);
    expect(digitsOf(call)).toEqual([['collected', '9']]);
  });

  it('a COLLECT with nothing before it still times out, and consecutive COLLECTs each get their own input', async () => {
    const call = await startDialPlanCall({
      verbs: [
        { type: 'COLLECT', maxDigits: 1, timeout: 2 },
        { type: 'COLLECT', maxDigits: 2, timeout: 2 },
      ],
    });
    await call.hearAll(); // the short lead-in before the first COLLECT
    await call.wait(2_000);
    await call.hearAll();
    await call.press('5', '6');
    expect(call.bot.result.collects.map((c) => [c.verbIndex, c.status, c.digits])).toEqual([
      [0, 'timeout', ''],
      [1, 'collected', '56'],
    ]);
    await call.hearAll();
    expect(call.hangupReason()).toBe('dial-plan-completed');
  });

  it('keys after the last COLLECT are not collected', async () => {
    const call = await startDialPlanCall(collectPlan({ maxDigits: 1, timeout: 5 }));
    await call.hearAll();
    await call.press('1');
    await call.press('2'); // during "Thank you."
    await call.hearAll();
    expect(digitsOf(call)).toEqual([['collected', '1']]);
    expect(call.hangupReason()).toBe('dial-plan-completed');
  });

  it('a configured reprompt text is not spoken on a COLLECT timeout', async () => {
    const call = await startDialPlanCall(collectPlan({ timeout: 2 }), { settings: { userNoInputSpeech: 'Are you still there?' } });
    await call.hearAll();
    await call.wait(2_000);
    expect(call.queued()).not.toContain('Are you still there?');
    expect(digitsOf(call)).toEqual([['timeout', '']]);
  });

  it("the call's bot-no-response timer never fires between COLLECTs: the next verbs answer each input", async () => {
    const call = await startDialPlanCall(
      { verbs: [{ type: 'COLLECT', maxDigits: 1, timeout: 5 }, { type: 'COLLECT', maxDigits: 1, timeout: 5 }] },
      { settings: { botNoInputTimeoutMS: 1_000, botNoInputSpeech: 'Please wait.' } },
    );
    await call.hearAll();
    await call.press('1');
    await call.wait(1_500);
    await call.hearAll();
    await call.press('2');
    await call.wait(1_500);
    await call.hearAll();
    expect(call.queued()).not.toContain('Please wait.');
    expect(call.bot.result.collects.map((c) => c.digits)).toEqual(['1', '2']);
    expect(call.hangupReason()).toBe('dial-plan-completed');
  });
});
