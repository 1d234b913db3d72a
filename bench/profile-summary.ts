/**
 * Where the time goes in a `node --cpu-prof` profile: self time per function and per source file,
 * as a share of the profiled (non-idle) time. Run: `npx tsx bench/profile-summary.ts <file.cpuprofile> [top]`.
 */
import { readFile } from 'node:fs/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileLine {
  name: string;
  selfMs: number;
  share: number;
}

export function summarizeProfile(
  profile: CpuProfile,
  top = 25,
): { totalMs: number; busyMs: number; programMs: number; idleMs: number; functions: ProfileLine[]; files: ProfileLine[] } {
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + (profile.timeDeltas[i] ?? 0));
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  let busy = 0;
  let program = 0;
  let idle = 0;
  for (const node of profile.nodes) {
    const us = self.get(node.id) ?? 0;
    if (!us) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    // (program) is native work outside JS (libuv polling, socket reads); (idle) is waiting.
    if (functionName === '(idle)') {
      idle += us;
      continue;
    }
    if (functionName === '(program)') {
      program += us;
      continue;
    }
    busy += us;
    const file = url.replace(/^file:\/\/.*?\/(node_modules|src|bench|test)\//, '$1/') || '(native)';
    const fn = `${functionName || '(anonymous)'} ${file}:${lineNumber + 1}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
    byFile.set(file, (byFile.get(file) ?? 0) + us);
  }
  const lines = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, selfMs: Math.round(us / 100) / 10, share: Math.round((us / busy) * 1000) / 10 }));
  return { totalMs: (profile.endTime - profile.startTime) / 1000, busyMs: busy / 1000, programMs: program / 1000, idleMs: idle / 1000, functions: lines(byFunction), files: lines(byFile) };
}

if (process.argv[1]?.endsWith('profile-summary.ts')) {
  const [path, top] = process.argv.slice(2);
  if (!path) {
    process.stderr.write('usage: tsx bench/profile-summary.ts <file.cpuprofile> [top]\n');
    process.exit(2);
  }
  const summary = summarizeProfile(JSON.parse(await readFile(path, 'utf8')) as CpuProfile, Number(top ?? 25));
  process.stdout.write(
    `profiled ${Math.round(summary.totalMs)} ms: JS and native calls ${Math.round(summary.busyMs)} ms, (program) ${Math.round(summary.programMs)} ms, idle ${Math.round(summary.idleMs)} ms\n\nself time by function (share of JS and native calls):\n`,
  );
  for (const l of summary.functions) process.stdout.write(`${String(l.share).padStart(5)}%  ${String(l.selfMs).padStart(8)} ms  ${l.name}\n`);
  process.stdout.write('\nself time by file:\n');
  for (const l of summary.files) process.stdout.write(`${String(l.share).padStart(5)}%  ${String(l.selfMs).padStart(8)} ms  ${l.name}\n`);
}
