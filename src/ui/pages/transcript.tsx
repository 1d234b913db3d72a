/** A call's transcript with its DTMF digits merged in time order. */
import type { DtmfRecord, TranscriptLine } from '../types.js';

export function Transcript({ lines, dtmf, label }: { lines: TranscriptLine[]; dtmf: DtmfRecord[]; label: string }) {
  const items = [
    ...lines.map((l) => ({ key: `t${l.id}`, at: l.at, speaker: l.speaker, text: l.text })),
    ...dtmf.map((d) => ({ key: `d${d.id}`, at: d.at, speaker: 'keypad', text: `pressed ${d.digit}` })),
  ].sort((a, b) => a.at - b.at);
  if (items.length === 0) return <p>No transcript yet.</p>;
  return (
    <ol class="transcript" aria-label={label}>
      {items.map((item) => (
        <li key={item.key} data-speaker={item.speaker}>
          <time dateTime={new Date(item.at).toISOString()}>{new Date(item.at).toLocaleTimeString()}</time> <span class="speaker">{item.speaker}:</span>
          <span class="text">{item.text}</span>
        </li>
      ))}
    </ol>
  );
}
