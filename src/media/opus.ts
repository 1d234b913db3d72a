/**
 * Opus in Node without a native build: libopus compiled to WASM (opusscript), one encoder or decoder
 * per object, at 8, 16 or 48 kHz mono PCM16.
 *
 * opusscript makes typed-array views of the shared WASM heap when an object is constructed, with two
 * flaws that break it past a few dozen codecs (about 40 calls) in one process:
 * - its 16-bit views take the byte pointer as an element index, so a codec whose buffers lie in the
 *   upper half of the heap gets views cut short ("offset is out of bounds" on every call). When a new
 *   codec gets such views, the heap is grown here (by making and freeing ballast codecs) and the codec
 *   made again in the freed lower space;
 * - once the heap grew, the views of the codecs made before are detached. Every live codec is tracked,
 *   and when one finds its views detached, the views of all of them are made again over the current heap.
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

/** Whether opusscript cut this object's views short (its buffers lie past half the heap, in element terms). */
function viewsCutShort(o: OpusScriptHeapViews): boolean {
  return o.inPCM.length < o.inPCMLength || o.outPCM.length < o.outPCMLength;
}

/** Doubles the WASM heap: ballast codecs are made until it has, then freed (their space is reused from the bottom). */
function growHeap(): void {
  const heapBytes = (o: OpusScriptHeapViews) => o.inPCM.buffer.byteLength;
  const ballast: OpusScript[] = [new OpusScript(48000, 1, OpusScript.Application.VOIP)];
  const target = 2 * heapBytes(ballast[0] as unknown as OpusScriptHeapViews);
  while (heapBytes(ballast[ballast.length - 1] as unknown as OpusScriptHeapViews) < target && ballast.length < 4096) ballast.push(new OpusScript(48000, 1, OpusScript.Application.VOIP));
  for (const b of ballast) b.delete();
  reattachViews();
}

function createOpus(rate: OpusRate): OpusScript {
  let opus = new OpusScript(rate, 1, OpusScript.Application.VOIP);
  if (!viewsCutShort(opus as unknown as OpusScriptHeapViews)) return opus;
  opus.delete();
  growHeap();
  opus = new OpusScript(rate, 1, OpusScript.Application.VOIP);
  if (viewsCutShort(opus as unknown as OpusScriptHeapViews)) {
    opus.delete();
    throw new Error('opusscript: no room for another Opus codec in the WASM heap');
  }
  return opus;
}

export type OpusRate = 8000 | 16000 | 48000;

export class OpusCodec {
  private readonly opus: OpusScript;
  private readonly views: OpusScriptHeapViews;
  private deleted = false;

  constructor(readonly sampleRate: OpusRate) {
    this.opus = createOpus(sampleRate);
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
