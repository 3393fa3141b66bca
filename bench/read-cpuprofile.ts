/**
 * `tsx bench/read-cpuprofile.ts <file.cpuprofile> [top]`: self time of a V8 CPU profile
 * (`node --cpu-prof`) summed by function and file, the top entries printed with their share
 * of all samples, then the same summed by file.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly children?: readonly number[];
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

// Piped into `head`: a closed stdout ends the report, not the process with an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(0);
});
const [file, topArg] = process.argv.slice(2);
if (file === undefined) throw new TypeError('expected a .cpuprofile path, got none');
const top = topArg === undefined ? 30 : Number.parseInt(topArg, 10);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfByFn = new Map<string, number>();
const selfByFile = new Map<string, number>();
let total = 0;
for (let i = 0; i < profile.samples.length; i++) {
  const node = byId.get(profile.samples[i]!)!;
  const dt = profile.timeDeltas[i] ?? 0;
  total += dt;
  const url = node.callFrame.url.replace(/^file:\/\/.*?\/(src|bench|node_modules|tools)\//, '$1/');
  const fn = `${node.callFrame.functionName || '(anonymous)'} ${url}:${node.callFrame.lineNumber + 1}`;
  selfByFn.set(fn, (selfByFn.get(fn) ?? 0) + dt);
  selfByFile.set(url || '(native)', (selfByFile.get(url || '(native)') ?? 0) + dt);
}
// Inclusive time: each sample counts once for every distinct function on its stack.
const parentOf = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
const nameOf = (node: ProfileNode) => `${node.callFrame.functionName || '(anonymous)'} ${node.callFrame.url.replace(/^file:\/\/.*?\/(src|bench|node_modules|tools)\//, '$1/')}`;
const inclusive = new Map<string, number>();
for (let i = 0; i < profile.samples.length; i++) {
  const seen = new Set<string>();
  for (let id: number | undefined = profile.samples[i]; id !== undefined; id = parentOf.get(id)) seen.add(nameOf(byId.get(id)!));
  for (const k of seen) inclusive.set(k, (inclusive.get(k) ?? 0) + (profile.timeDeltas[i] ?? 0));
}
const show = (title: string, m: Map<string, number>, n: number) => {
  process.stdout.write(`${title} (total ${(total / 1000).toFixed(0)} ms)\n`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, n)) process.stdout.write(`${((v / total) * 100).toFixed(1).padStart(5)}%  ${(v / 1000).toFixed(0).padStart(6)} ms  ${k}\n`);
};
show('self time by function', selfByFn, top);
show('self time by file', selfByFile, 20);
show('inclusive time by function', inclusive, top);
