/** The flow `voxgate demo` answers calls with: a welcome, a two-choice menu, and a goodbye. */
import type { FlowDefinition } from './flow-schema.js';

export const DEFAULT_FLOW: FlowDefinition = {
  name: 'voxgate-demo',
  language: 'en-US',
  start: 'welcome',
  steps: {
    welcome: { say: 'Welcome to Voxgate, the open source voice gateway.', next: 'menu' },
    menu: {
      collect: {
        maxDigits: 1,
        timeoutMs: 5000,
        prompt: 'Press 1 for our opening hours, or 2 to talk to an agent.',
        branches: { '1': 'hours', '2': 'agent' },
        noMatch: 'invalid_choice',
        timeout: 'no_input',
      },
    },
    invalid_choice: { say: 'Sorry, that is not an option.', next: 'menu', maxVisits: 2, exhausted: 'goodbye' },
    // The first silence re-prompts; the second ends the call.
    no_input: { say: 'I did not hear anything.', next: 'menu', maxVisits: 1, exhausted: 'goodbye' },
    hours: { say: 'Our opening hours are nine to five, Monday to Friday.', next: 'goodbye' },
    agent: { say: 'Connecting you to an agent.', transfer: 'tel:+15550100' },
    goodbye: { say: 'Thank you for calling. Goodbye.', hangup: 'completed' },
  },
};
