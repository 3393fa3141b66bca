/**
 * Child process of the crash tests: opens the channel database named on its command line
 * (writer-args.ts) with openChannelDb, resumes the workload from the model state after
 * operation `start` (what the database holds; the test wrote it to the state file, since
 * replaying hundreds of fixture rounds would take seconds), prints "ready", then runs
 * operation start+1, start+2, ... and
 * prints "op <k>" after operation k's promise resolved, i.e. after its transaction
 * committed. Stdout to a pipe is synchronous on Linux, so a printed report always precedes
 * the next operation.
 *
 * It runs until killed; the bounds below only stop a writer whose test has gone away
 * (it then exits with code 3, which the test reports as a failure).
 */
import { readFileSync } from 'node:fs';
import { deserialize } from 'node:v8';
import { openChannelDb } from '../../src/channeldb/open.js';
import { Workload, type WorkloadState } from './crash-workload.js';
import { fromWriterArgs } from './writer-args.js';

const MAX_OPS = 100_000;
const MAX_MS = 120_000;

const { seed, start, stateFile, config } = fromWriterArgs(process.argv.slice(2));
const from = stateFile === undefined ? undefined : (deserialize(readFileSync(stateFile)) as WorkloadState);
if (from !== undefined && from.ops !== start) throw new RangeError(`expected the state after op ${start} in ${stateFile}, got op ${from.ops}`);
const workload = new Workload(seed, from);
// Plan ahead before opening, so the kill delay after "ready" is spent writing.
workload.stateAfter(start + 1);
const db = await openChannelDb(config);
process.stdout.write('ready\n');
const began = Date.now();
for (let k = start + 1; k <= start + MAX_OPS && Date.now() - began < MAX_MS; k++) {
  const op = workload.op(k);
  try {
    await op.run(db);
  } catch (err) {
    process.stderr.write(`op ${k} (${op.label}) failed\n`);
    throw err;
  }
  process.stdout.write(`op ${k}\n`);
}
await db.close();
process.exit(3);
