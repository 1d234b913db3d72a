/**
 * How loud a MediaStream is: an AnalyserNode's RMS over its latest window, read about ten times a
 * second. The meter reads the microphone track itself, so a muted track (enabled = false, which
 * renders silence) drops to zero the way the gateway hears it.
 */
export const LEVEL_UPDATES_PER_SECOND = 10;

export class LevelMeter {
  private readonly source: MediaStreamAudioSourceNode;
  private readonly analyser: AnalyserNode;
  private readonly samples: Float32Array<ArrayBuffer>;
  private readonly timer: ReturnType<typeof setInterval>;

  /** `onLevel` gets the RMS in [0, 1] (full scale 1). */
  constructor(context: AudioContext, stream: MediaStream, onLevel: (rms: number) => void) {
    this.source = context.createMediaStreamSource(stream);
    this.analyser = context.createAnalyser();
    this.analyser.fftSize = 2048;
    this.samples = new Float32Array(this.analyser.fftSize);
    this.source.connect(this.analyser);
    this.timer = setInterval(() => onLevel(this.read()), 1000 / LEVEL_UPDATES_PER_SECOND);
  }

  read(): number {
    this.analyser.getFloatTimeDomainData(this.samples);
    let sum = 0;
    for (const s of this.samples) sum += s * s;
    return Math.sqrt(sum / this.samples.length);
  }

  stop(): void {
    clearInterval(this.timer);
    this.source.disconnect();
  }
}

/** An RMS as a meter position in [0, 1]: -60 dBFS (room noise) at 0, full scale at 1, like a phone's meter. */
export function levelForDisplay(rms: number): number {
  if (rms <= 0) return 0;
  return Math.min(1, Math.max(0, (20 * Math.log10(rms) + 60) / 60));
}
