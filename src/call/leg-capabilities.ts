/** What a leg's call control cannot do, said the same way in log lines and in the bot's commandFailed events. */
import type { CarrierLeg, LegCallControl, LegCapabilities } from '../carriers/leg.js';

/** The call control of a leg, with the carrier's name for messages about it. */
export type NamedCallControl = LegCallControl & Pick<CarrierLeg, 'carrier'>;

const ABILITIES: Record<keyof LegCapabilities, string> = {
  transfer: 'transfer calls',
  bridgeTransfer: 'bridge a transfer through Voxgate',
  sendMetadata: 'send metadata in its signalling',
  sendDtmf: 'send DTMF',
  record: 'record calls',
};

/** Why the leg cannot do what `capability` names ("the twilio leg cannot send DTMF"), or undefined when it can. */
export function missingCapability(leg: NamedCallControl, capability: keyof LegCapabilities): string | undefined {
  return leg.capabilities[capability] ? undefined : `the ${leg.carrier} leg cannot ${ABILITIES[capability]}`;
}
