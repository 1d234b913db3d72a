/**
 * Twilio's answering machine detection (AMD), driven by the party script: `machine: true` is an
 * answering machine whose greeting is its voice clips; anyone else is a human. The verdict falls due
 * when Twilio's own thresholds would decide it:
 * - a human: after MachineDetectionSpeechEndThreshold (default 1.2 s) -> `human`;
 * - a machine, MachineDetection=Enable: after MachineDetectionSpeechThreshold (default 2.4 s of speech) -> `machine_start`;
 * - a machine, DetectMessageEnd: when the greeting ends (its beep) -> `machine_end_beep`, or, when it
 *   says nothing, after MachineDetectionSilenceTimeout (default 5 s) -> `machine_end_silence`;
 * - anything not decided within MachineDetectionTimeout (default 30 s) -> `unknown` at the timeout.
 * `machine_end_other` and `fax` are never produced. Twilio never hangs up on a machine by itself.
 */
import type { HttpMethod } from '../app-requests.js';
import type { VirtualParty } from '../virtual-party.js';

export type AnsweredBy = 'human' | 'machine_start' | 'machine_end_beep' | 'machine_end_silence' | 'machine_end_other' | 'fax' | 'unknown';

export interface MachineDetectionConfig {
  mode: 'Enable' | 'DetectMessageEnd';
  /** AsyncAmd=true: the TwiML runs at once and the verdict is POSTed to `callback`. */
  async: boolean;
  callback?: { url: string; method: HttpMethod };
  timeoutMs: number;
  speechThresholdMs: number;
  speechEndThresholdMs: number;
  silenceTimeoutMs: number;
}

export interface MachineVerdict {
  answeredBy: AnsweredBy;
  /** MachineDetectionDuration: ms from answer to the verdict. */
  afterMs: number;
}

export function machineVerdict(party: VirtualParty, config: MachineDetectionConfig): MachineVerdict {
  let verdict: MachineVerdict;
  if (party.script.machine !== true) verdict = { answeredBy: 'human', afterMs: config.speechEndThresholdMs };
  else if (config.mode === 'Enable') verdict = { answeredBy: 'machine_start', afterMs: config.speechThresholdMs };
  else {
    const greetingEndMs = party.speechEndMs();
    verdict = greetingEndMs === undefined ? { answeredBy: 'machine_end_silence', afterMs: config.silenceTimeoutMs } : { answeredBy: 'machine_end_beep', afterMs: Math.ceil(greetingEndMs) };
  }
  return verdict.afterMs > config.timeoutMs ? { answeredBy: 'unknown', afterMs: config.timeoutMs } : verdict;
}
