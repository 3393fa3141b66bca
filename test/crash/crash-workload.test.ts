// The crash workload's model, without a database: the writer resumes from a state the test
// serialized, which is only sound if resuming plans exactly what replaying would.
import { deserialize, serialize } from 'node:v8';
import { expect, it } from 'vitest';
import { canonical, OP_KINDS, Workload, type WorkloadState } from './crash-workload.js';

const RESUME_AT = 60;
const AHEAD = 60;

it('a workload resumed from a v8-serialized state plans the same operations and states as one replayed from op 0', () => {
  const replayed = new Workload(11);
  const copy = deserialize(serialize(replayed.stateAfter(RESUME_AT))) as WorkloadState;
  const resumed = new Workload(11, copy);
  for (let k = RESUME_AT + 1; k <= RESUME_AT + AHEAD; k++) {
    expect(resumed.op(k).label).toBe(replayed.op(k).label);
    expect(canonical(resumed.stateAfter(k))).toBe(canonical(replayed.stateAfter(k)));
  }
  expect(() => resumed.stateAfter(RESUME_AT - 1)).toThrow(RangeError);
});

it('canonical text tells values apart where toEqual does, and ignores what toEqual ignores', () => {
  expect(canonical({ a: 1n, b: Uint8Array.of(1, 2), c: undefined })).toBe(canonical({ b: Uint8Array.of(1, 2), a: 1n }));
  expect(canonical({ a: 1n })).not.toBe(canonical({ a: 1 }));
  expect(canonical({ b: Uint8Array.of(1, 2) })).not.toBe(canonical({ b: Uint8Array.of(1, 3) }));
  expect(canonical(new Map([['x', 1]]))).not.toBe(canonical(new Map([['x', 2]])));
  expect(canonical([1, 2])).not.toBe(canonical([2, 1]));
  expect(canonical({ b: Buffer.from([1, 2]) })).toBe(canonical({ b: Uint8Array.of(1, 2) }));
});

// The crash tests run at least 150 ops (crashSuite's minOps) and require every kind among them.
it('the workload mixes every kind of operation within 150 ops, and differs between seeds', () => {
  for (const seed of [3, 4]) {
    const w = new Workload(seed);
    const seen = new Set<string>();
    for (let k = 1; k <= 150; k++) seen.add(w.op(k).kind);
    expect([...OP_KINDS].filter((kind) => !seen.has(kind)), `seed ${seed}`).toEqual([]);
  }
  const labels = (seed: number) => Array.from({ length: 40 }, (_, i) => new Workload(seed).op(i + 1).label);
  expect(labels(3)).not.toEqual(labels(4));
});
