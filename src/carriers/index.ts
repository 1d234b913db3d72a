/**
 * The carriers Voxgate knows, and the configured ones for one gateway. Adding a carrier is adding its
 * folder and one entry here; nothing else in Voxgate names it.
 */
import { z } from 'zod';
import type { Carrier, CarrierContext, CarrierModule } from './carrier.js';
import { plivoCarrier } from './plivo/plivo-carrier.js';
import { twilioCarrier } from './twilio/twilio-carrier.js';
import { sipCarrier } from './sip/sip-carrier.js';
import { webrtcCarrier } from './webrtc/webrtc-carrier.js';

export const CARRIER_MODULES: readonly CarrierModule<never>[] = [plivoCarrier as CarrierModule<never>, twilioCarrier as CarrierModule<never>, sipCarrier as CarrierModule<never>, webrtcCarrier as CarrierModule<never>];

/**
 * The `carriers` section: one optional sub-section per carrier. Left out entirely, Plivo with its
 * defaults (what the simulator and the demo speak) and WebRTC (the console's softphone); given, exactly
 * the carriers it names.
 */
export const carriersConfigSchema = z
  .object({
    plivo: plivoCarrier.configSchema.optional(),
    twilio: twilioCarrier.configSchema.optional(),
    sip: sipCarrier.configSchema.optional(),
    webrtc: webrtcCarrier.configSchema.optional(),
  })
  .strict()
  .default({ plivo: {}, webrtc: {} })
  .refine((carriers) => Object.values(carriers).some((c) => c !== undefined), {
    message: `configure at least one carrier (${CARRIER_MODULES.map((m) => m.name).join(', ')})`,
  });

export type CarriersConfig = z.infer<typeof carriersConfigSchema>;

/** Names of the carriers a configuration enables, in CARRIER_MODULES order. */
export function configuredCarrierNames(config: CarriersConfig): string[] {
  return CARRIER_MODULES.map((m) => m.name).filter((name) => (config as Record<string, unknown>)[name] !== undefined);
}

/** The configured carriers of one gateway. */
export class Carriers {
  private readonly byName: ReadonlyMap<string, Carrier>;

  private constructor(carriers: Carrier[]) {
    this.byName = new Map(carriers.map((c) => [c.name, c]));
  }

  static create(config: CarriersConfig, context: CarrierContext): Carriers {
    const sections = config as Record<string, unknown>;
    return new Carriers(CARRIER_MODULES.filter((m) => sections[m.name] !== undefined).map((m) => m.create(sections[m.name] as never, context)));
  }

  get(name: string): Carrier | undefined {
    return this.byName.get(name);
  }

  list(): Carrier[] {
    return [...this.byName.values()];
  }

  get names(): string[] {
    return [...this.byName.keys()];
  }
}
