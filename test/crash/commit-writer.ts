/**
 * Child process of the crash test: opens the LMDB channel database at argv[2] (durable
 * commits), and from operation argv[3] on applies the crash model's operations forever,
 * printing "op <k>" after operation k is committed. Stdout to a pipe is synchronous on
 * Linux, so a printed report always precedes the next operation.
 */
import { openChannelDb } from '../../src/channeldb/open.js';
import { isChandError } from '../../src/errors.js';
import { CHANNEL, CrashModel } from './crash-model.js';

const [path, startArg] = process.argv.slice(2);
let ops = Number(startArg);
const db = await openChannelDb({ backend: 'lmdb', path: path! });
const store = db.channelState;
try {
  await store.fetchChannel(CHANNEL.fundingOutpoint);
} catch (err) {
  if (!isChandError(err, 'CHANNEL_NOT_FOUND')) throw err;
  await db.coordinator.syncPendingChannel(CHANNEL, '127.0.0.1:9735', 100);
  await store.markOpen(CHANNEL.fundingOutpoint, CHANNEL.shortChannelId);
}
process.stdout.write('ready\n');
const model = new CrashModel();
for (;;) {
  const { model: m, plan } = model.at(Math.floor(ops / 3));
  const op = m.chanPoint;
  if (ops % 3 === 0) await store.appendRemoteCommitChain(op, plan.diff);
  else if (ops % 3 === 1) await store.advanceCommitChainTail(op, plan.advance);
  else await store.updateCommitment(op, plan.newLocal, plan.unsignedAckedArg);
  ops++;
  process.stdout.write(`op ${ops}\n`);
}
