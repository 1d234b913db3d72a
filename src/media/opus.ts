/**
 * Opus in Node without a native build: libopus compiled to WASM (opusscript), one encoder or decoder
 * per object, at 8, 16 or 48 kHz mono PCM16.
 *
 * opusscript makes typed-array views of the shared WASM heap when an object is constructed. Once
 * later objects have grown that heap (a few dozen calls), the earlier views are detached and every
 * encode/decode on them throws ("offset is out of bounds"). So every live object is tracked here, and
 * when one finds its views detached, the views of all of them are made again over the current heap.
 */
import OpusScript from 'opusscript';

/** opusscript's own fields (index.js): heap views and the pointers they were made from. */
interface OpusScriptHeapViews {
  inPCM: Uint16Array;
  inPCMPointer: number;
  inPCMLength: number;
  inOpus: Uint8Array;
  inOpusPointer: number;
  outOpus: Uint8Array;
  outOpusPointer: number;
  outPCM: Uint16Array;
  outPCMPointer: number;
  outPCMLength: number;
}

const live = new Set<OpusScriptHeapViews>();

/** Makes every live object's views again over the WASM heap as it is now. */
function reattachViews(): void {
  // A new object's views are made after its own allocations: over the current heap.
  const probe = new OpusScript(48000, 1, OpusScript.Application.VOIP);
  const heap = (probe as unknown as OpusScriptHeapViews).inPCM.buffer;
  probe.delete();
  const u8 = new Uint8Array(heap);
  const u16 = new Uint16Array(heap);
  for (const o of live) {
    // The same (element-index) arithmetic as opusscript's constructor.
    o.inPCM = u16.subarray(o.inPCMPointer, o.inPCMPointer + o.inPCMLength);
    o.inOpus = u8.subarray(o.inOpusPointer, o.inOpusPointer + OpusScript.MAX_PACKET_SIZE);
    o.outOpus = u8.subarray(o.outOpusPointer, o.outOpusPointer + OpusScript.MAX_PACKET_SIZE);
    o.outPCM = u16.subarray(o.outPCMPointer, o.outPCMPointer + o.outPCMLength);
  }
}

export type OpusRate = 8000 | 16000 | 48000;

export class OpusCodec {
  private readonly opus: OpusScript;
  private readonly views: OpusScriptHeapViews;
  private deleted = false;

  constructor(readonly sampleRate: OpusRate) {
    this.opus = new OpusScript(sampleRate, 1, OpusScript.Application.VOIP);
    this.views = this.opus as unknown as OpusScriptHeapViews;
    live.add(this.views);
  }

  /** Encodes `frameSamples` samples of PCM16 LE (`pcm`, 2 bytes a sample) into one Opus packet. */
  encode(pcm: Buffer, frameSamples: number): Buffer {
    this.ensureViews();
    return this.opus.encode(pcm, frameSamples);
  }

  /** Decodes one Opus packet into PCM16 LE bytes. */
  decode(packet: Buffer): Buffer {
    this.ensureViews();
    return this.opus.decode(packet);
  }

  delete(): void {
    if (this.deleted) return;
    this.deleted = true;
    live.delete(this.views);
    this.opus.delete();
  }

  private ensureViews(): void {
    if (this.deleted) throw new Error('Opus codec used after delete()');
    // A detached view has length 0.
    if (this.views.inPCM.length === 0 || this.views.outPCM.length === 0) reattachViews();
  }
}
