/**
 * Child process of test/sql/group-commit.test.ts: opens the SQLite database `<file>` and,
 * wave after wave, starts WAVE concurrent write transactions at once (so they share group
 * commits), each inserting one link node whose key names (run, wave, call). Call FAILING of
 * every wave throws after its insert, so it must leave nothing. After a call's promise
 * resolves it prints `ok <key hex>`; after a failing call rejects, `failed <key hex>`
 * (stdout to a pipe is synchronous on Linux: a printed line was written before the next
 * statement ran). Runs until killed; exits 3 after MAX_WAVES or MAX_MS (its test went away).
 */
import { migrateSql } from '../../../src/sql/migrations.js';
import { openSqliteBackend } from '../../../src/sql/sqlite.js';

/** Calls per wave and the one that fails. */
const WAVE = 8;
const FAILING = 3;
const MAX_WAVES = 100_000;
const MAX_MS = 60_000;

/** The link-node key of call `call` of wave `wave` in run `run`. */
function waveKey(run: number, wave: number, call: number): Uint8Array {
  const key = new Uint8Array(33);
  key[0] = 2;
  key[1] = run;
  new DataView(key.buffer).setUint32(2, wave);
  key[6] = call;
  return key;
}

class Refused extends Error {}

async function main(file: string, run: number): Promise<void> {
  const backend = openSqliteBackend({ file });
  await migrateSql(backend);
  process.stdout.write('ready\n');
  const began = Date.now();
  for (let wave = 0; wave < MAX_WAVES && Date.now() - began < MAX_MS; wave++) {
    await Promise.all(
      Array.from({ length: WAVE }, (_, call) => {
        const key = waveKey(run, wave, call);
        const hex = Buffer.from(key).toString('hex');
        return backend
          .runTx('write', async (tx) => {
            await tx.insertInto('link_nodes').values({ pubkey: key, network: 'regtest', last_seen_ms: wave }).execute();
            if (call === FAILING) throw new Refused('refused on purpose');
          })
          .then(
            () => void process.stdout.write(`ok ${hex}\n`),
            (err: unknown) => {
              if (!(err instanceof Refused)) throw err;
              process.stdout.write(`failed ${hex}\n`);
            },
          );
      }),
    );
  }
  await backend.close();
  process.exit(3);
}

const [file, run] = process.argv.slice(2);
if (file === undefined || !/^\d+$/.test(run ?? '')) throw new TypeError(`expected "<file> <run>", got ${JSON.stringify(process.argv.slice(2))}`);
await main(file, Number(run));
