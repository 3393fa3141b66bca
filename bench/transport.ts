/**
 * `npm run bench:transport`: the BOLT 8 transport between two processes on 127.0.0.1, each
 * figure beside raw TCP measured in the same run on the same kind of socket pair.
 *
 * Scenarios (sizes are flags; `--quick` shrinks them):
 * - handshakes/s: concurrent clients dial a sink process, run the BOLT 8 handshake, close.
 *   Raw: the same dial + close without a handshake.
 * - messages: one sender streams `--messages` messages of `--size` bytes (default 1 KiB) to a
 *   sink process through `Connection` (encrypt, batched writes, backpressure; the sink decrypts
 *   and takes each message with `receive()`). Raw: the same messages framed with a plain
 *   2-byte length prefix, written with the same batching (one write per event-loop turn,
 *   waiting for 'drain') and split into messages by the sink. The clock runs from the first
 *   send to the sink's acknowledgement of the last message.
 * - crypto only, in this process: frames encrypted+decrypted per second and pure handshakes
 *   per second, to show how much of the transport cost is the AEAD itself.
 *
 * Prints a markdown table and writes bench/results/transport-<timestamp>.json. The sink is a
 * child process (this file with `--role`); it is killed by PID when the run ends.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { openConnection } from '../src/peer/connection.js';
import { FrameDecryptor, FrameEncryptor, LENGTH_HEADER_SIZE } from '../src/peer/noise-cipher.js';
import { InitiatorHandshake, publicKeyOf, ResponderHandshake } from '../src/peer/noise-handshake.js';

const { values: flags } = parseArgs({
  options: {
    role: { type: 'string', default: 'main' },
    mode: { type: 'string', default: 'noise' },
    count: { type: 'string', default: '0' },
    quick: { type: 'boolean', default: false },
    messages: { type: 'string' },
    size: { type: 'string', default: '1024' },
    handshakes: { type: 'string' },
    concurrency: { type: 'string', default: '4' },
    rounds: { type: 'string' },
    out: { type: 'string', default: join(import.meta.dirname, 'results') },
  },
});

const SINK_KEY = new Uint8Array(32).fill(0x21);
const SENDER_KEY = new Uint8Array(32).fill(0x11);
const SINK_ID = publicKeyOf(SINK_KEY);
const MAX_QUEUED_BYTES = 1 << 20;

function emit(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

// --- the sink process --------------------------------------------------------------------------

/**
 * Serves one mode on a free port: prints {"port"} and then, for message modes, counts
 * `--count` messages per connection and answers one byte / one message when all arrived.
 */
async function sink(): Promise<void> {
  const mode = flags.mode!;
  const count = Number(flags.count);
  const server = createServer({ pauseOnConnect: true }, (socket) => {
    socket.on('error', () => undefined);
    if (mode === 'raw-connect') {
      socket.destroy();
      return;
    }
    if (mode === 'handshake') {
      openConnection({ socket, localStaticKey: SINK_KEY }).then(
        (conn) => conn.close(),
        () => socket.destroy(),
      );
      return;
    }
    if (mode === 'raw') {
      socket.resume();
      let pending: Buffer | undefined;
      let received = 0;
      socket.on('data', (chunk: Buffer) => {
        let buf = pending === undefined ? chunk : Buffer.concat([pending, chunk]);
        let at = 0;
        for (;;) {
          if (buf.length - at < 2) break;
          const len = buf.readUInt16BE(at);
          if (buf.length - at < 2 + len) break;
          // A consumer gets each message as its own view, as Connection hands them out.
          const message = buf.subarray(at + 2, at + 2 + len);
          if (message.length !== len) throw new Error('short message');
          at += 2 + len;
          received += 1;
        }
        pending = at === buf.length ? undefined : buf.subarray(at);
        buf = Buffer.alloc(0);
        if (received === count) {
          received = 0;
          socket.write(Buffer.of(1));
        }
      });
      return;
    }
    // noise
    void (async () => {
      const conn = await openConnection({ socket, localStaticKey: SINK_KEY });
      let received = 0;
      for await (const message of conn) {
        if (message.length === 0) throw new Error('empty message');
        received += 1;
        if (received === count) {
          received = 0;
          await conn.send(Buffer.of(1));
        }
      }
    })().catch(() => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  emit({ port: (server.address() as { port: number }).port });
}

// --- the main process --------------------------------------------------------------------------

interface Sink {
  readonly port: number;
  readonly child: ChildProcess;
}

async function startSink(mode: string, count = 0): Promise<Sink> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--role', 'sink', '--mode', mode, '--count', String(count)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('the sink did not start within 30 s')), 30_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve((JSON.parse(out.slice(0, nl)) as { port: number }).port);
      }
    });
    child.once('exit', () => reject(new Error('the sink exited')));
  });
  return { port, child };
}

async function stopSink(s: Sink): Promise<void> {
  if (s.child.exitCode !== null || s.child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => s.child.once('exit', () => resolve()));
  process.kill(s.child.pid!, 'SIGKILL');
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
}

function dial(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Raw baseline writer: the same batching and backpressure as Connection, without crypto. */
class RawWriter {
  #frames: Buffer[] = [];
  #bytes = 0;
  #scheduled = false;
  #needDrain = false;
  #waiters: (() => void)[] = [];

  constructor(private readonly socket: Socket) {
    socket.on('drain', () => {
      this.#needDrain = false;
      this.#flush();
    });
  }

  get needsDrain(): boolean {
    return this.#bytes + this.socket.writableLength >= MAX_QUEUED_BYTES;
  }

  send(message: Uint8Array): Promise<void> {
    const frame = Buffer.allocUnsafe(2 + message.length);
    frame.writeUInt16BE(message.length, 0);
    frame.set(message, 2);
    this.#frames.push(frame);
    this.#bytes += frame.length;
    if (!this.#scheduled) {
      this.#scheduled = true;
      process.nextTick(() => {
        this.#scheduled = false;
        this.#flush();
      });
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #flush(): void {
    if (this.#needDrain || this.#frames.length === 0) return;
    const data = Buffer.concat(this.#frames, this.#bytes);
    const waiters = this.#waiters;
    this.#frames = [];
    this.#bytes = 0;
    this.#waiters = [];
    if (!this.socket.write(data, () => waiters.forEach((w) => w()))) this.#needDrain = true;
  }
}

interface Throughput {
  readonly messages: number;
  readonly size: number;
  readonly seconds: number;
  readonly messagesPerSec: number;
  readonly mbPerSec: number;
}

async function streamOnce(mode: 'noise' | 'raw', port: number, messages: number, size: number): Promise<Throughput> {
  const socket = await dial(port);
  const payload = Buffer.alloc(size, 0x61);
  let seconds: number;
  if (mode === 'noise') {
    const conn = await openConnection({ socket, localStaticKey: SENDER_KEY, remoteStaticKey: SINK_ID, maxQueuedBytes: MAX_QUEUED_BYTES });
    const t0 = performance.now();
    const ack = conn.receive();
    let last: Promise<void> = Promise.resolve();
    for (let i = 0; i < messages; i++) {
      last = conn.send(payload);
      if (conn.needsDrain) await last;
    }
    await last;
    if ((await ack) === null) throw new Error('the sink closed before acknowledging');
    seconds = (performance.now() - t0) / 1000;
    conn.close();
  } else {
    const writer = new RawWriter(socket);
    const t0 = performance.now();
    const ack = new Promise<void>((resolve, reject) => {
      socket.once('data', () => resolve());
      socket.once('close', () => reject(new Error('the sink closed before acknowledging')));
    });
    let last: Promise<void> = Promise.resolve();
    for (let i = 0; i < messages; i++) {
      last = writer.send(payload);
      if (writer.needsDrain) await last;
    }
    await last;
    await ack;
    seconds = (performance.now() - t0) / 1000;
    socket.destroy();
  }
  return { messages, size, seconds, messagesPerSec: messages / seconds, mbPerSec: (messages * size) / seconds / 1e6 };
}

async function connectsOnce(mode: 'handshake' | 'raw-connect', port: number, total: number, concurrency: number): Promise<{ total: number; seconds: number; perSec: number }> {
  let started = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (started < total) {
      started += 1;
      const socket = await dial(port);
      if (mode === 'handshake') {
        const conn = await openConnection({ socket, localStaticKey: SENDER_KEY, remoteStaticKey: SINK_ID });
        conn.close();
      } else {
        await new Promise<void>((resolve) => {
          socket.once('close', () => resolve());
          socket.resume();
        });
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - t0) / 1000;
  return { total, seconds, perSec: total / seconds };
}

function median<T>(runs: T[], key: (t: T) => number): T {
  return [...runs].sort((a, b) => key(a) - key(b))[Math.floor(runs.length / 2)]!;
}

function cryptoOnly(size: number, frames: number): { framesPerSec: number; handshakesPerSec: number } {
  const k = new Uint8Array(32).fill(7);
  const enc = new FrameEncryptor(k, k);
  const dec = new FrameDecryptor(k, k);
  const payload = Buffer.alloc(size, 0x61);
  let t0 = performance.now();
  for (let i = 0; i < frames; i++) {
    const f = enc.encrypt(payload);
    dec.decryptLength(f.subarray(0, LENGTH_HEADER_SIZE));
    dec.decryptMessage(f.subarray(LENGTH_HEADER_SIZE));
  }
  const framesPerSec = frames / ((performance.now() - t0) / 1000);
  const n = Math.max(20, Math.floor(frames / 100));
  t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const ini = new InitiatorHandshake({ localStaticKey: SENDER_KEY, remoteStaticKey: SINK_ID, ephemeralKey: new Uint8Array(32).fill(3) });
    const resp = new ResponderHandshake({ localStaticKey: SINK_KEY, ephemeralKey: new Uint8Array(32).fill(4) });
    const { actThree } = ini.actTwo(resp.actOne(ini.actOne()));
    resp.actThree(actThree);
  }
  return { framesPerSec, handshakesPerSec: n / ((performance.now() - t0) / 1000) };
}

interface SizeResult {
  readonly size: number;
  readonly messages: number;
  readonly noise: Throughput;
  readonly raw: Throughput;
  readonly noiseRuns: Throughput[];
  readonly rawRuns: Throughput[];
  readonly ratio: number;
}

/** Streams `messages` messages of `size` bytes, BOLT 8 and raw alternately, `rounds` times each. */
async function streamScenario(size: number, messages: number, rounds: number, sinks: Sink[]): Promise<SizeResult> {
  const noiseSink = await startSink('noise', messages);
  const rawSink = await startSink('raw', messages);
  sinks.push(noiseSink, rawSink);
  // Warm-up (JIT, TCP slow start) with a tenth of the messages, not recorded.
  const warm = Math.max(1_000, Math.floor(messages / 10));
  const warmSinks = [await startSink('noise', warm), await startSink('raw', warm)];
  sinks.push(...warmSinks);
  await streamOnce('noise', warmSinks[0]!.port, warm, size);
  await streamOnce('raw', warmSinks[1]!.port, warm, size);
  for (const w of warmSinks) await stopSink(w);
  // Alternate noise and raw so machine load hits both alike; keep the median run of each.
  const noiseRuns: Throughput[] = [];
  const rawRuns: Throughput[] = [];
  for (let r = 0; r < rounds; r++) {
    noiseRuns.push(await streamOnce('noise', noiseSink.port, messages, size));
    rawRuns.push(await streamOnce('raw', rawSink.port, messages, size));
  }
  await stopSink(noiseSink);
  await stopSink(rawSink);
  const noise = median(noiseRuns, (t) => t.messagesPerSec);
  const raw = median(rawRuns, (t) => t.messagesPerSec);
  return { size, messages, noise, raw, noiseRuns, rawRuns, ratio: noise.messagesPerSec / raw.messagesPerSec };
}

async function main(): Promise<void> {
  const quick = flags.quick === true;
  const size = Number(flags.size);
  const messages = flags.messages === undefined ? (quick ? 20_000 : 100_000) : Number(flags.messages);
  const handshakes = flags.handshakes === undefined ? (quick ? 60 : 300) : Number(flags.handshakes);
  const rounds = flags.rounds === undefined ? (quick ? 1 : 3) : Number(flags.rounds);
  const concurrency = Number(flags.concurrency);
  // Besides the main size, one large size: it shows how much of the cost is per message
  // (per AEAD call) rather than per byte. Same bytes as the main scenario, capped at 64 MB.
  const large = 32 * 1024;
  const largeMessages = Math.max(200, Math.floor(Math.min(messages * size, 64e6) / large));
  const started = performance.now();
  const sinks: Sink[] = [];
  try {
    const results = [await streamScenario(size, messages, rounds, sinks)];
    if (size !== large) results.push(await streamScenario(large, largeMessages, rounds, sinks));

    const hsSink = await startSink('handshake');
    const connSink = await startSink('raw-connect');
    sinks.push(hsSink, connSink);
    const hsRuns: { total: number; seconds: number; perSec: number }[] = [];
    const rawConnRuns: { total: number; seconds: number; perSec: number }[] = [];
    for (let r = 0; r < rounds; r++) {
      hsRuns.push(await connectsOnce('handshake', hsSink.port, handshakes, concurrency));
      rawConnRuns.push(await connectsOnce('raw-connect', connSink.port, handshakes, concurrency));
    }
    const hs = median(hsRuns, (t) => t.perSec);
    const rawConn = median(rawConnRuns, (t) => t.perSec);
    const crypto = cryptoOnly(size, quick ? 20_000 : 100_000);

    const f0 = (n: number) => n.toLocaleString('en', { maximumFractionDigits: 0 });
    const f1 = (n: number) => n.toLocaleString('en', { minimumFractionDigits: 1, maximumFractionDigits: 1 });
    const pct = (n: number) => `${(n * 100).toFixed(0)}%`;
    const lines = [
      `### Transport benchmark (${quick ? 'quick run' : 'full sizes'}), ${new Date().toISOString().slice(0, 19)}Z`,
      '',
      `Two processes on 127.0.0.1; median of ${rounds} run(s); handshakes with ${concurrency} concurrent clients.`,
      '',
      '| scenario | BOLT 8 | raw TCP | BOLT 8 / raw |',
      '|---|---:|---:|---:|',
    ];
    for (const r of results) {
      lines.push(
        `| ${r.size}-byte messages/s (${r.messages.toLocaleString('en')} per run) | ${f0(r.noise.messagesPerSec)} | ${f0(r.raw.messagesPerSec)} | ${pct(r.ratio)} |`,
        `| ${r.size}-byte messages, MB/s | ${f1(r.noise.mbPerSec)} | ${f1(r.raw.mbPerSec)} | ${pct(r.noise.mbPerSec / r.raw.mbPerSec)} |`,
      );
    }
    lines.push(
      `| connections/s (BOLT 8 handshake vs bare connect) | ${f0(hs.perSec)} | ${f0(rawConn.perSec)} | ${pct(hs.perSec / rawConn.perSec)} |`,
      '',
      `- in-process, one core: ${f0(crypto.framesPerSec)} ${size}-byte frames/s encrypted + decrypted (4 AEAD calls per frame); ${f0(crypto.handshakesPerSec)} handshakes/s (both sides, no I/O)`,
      ...results.map((r) => `- ${r.size} B, all runs, BOLT 8 msgs/s: ${r.noiseRuns.map((t) => f0(t.messagesPerSec)).join(', ')}; raw: ${r.rawRuns.map((t) => f0(t.messagesPerSec)).join(', ')}`),
      `- total run time ${f1((performance.now() - started) / 1000)} s; node ${process.version}`,
    );
    const table = lines.join('\n');
    process.stdout.write(`${table}\n`);
    mkdirSync(flags.out!, { recursive: true });
    const file = join(flags.out!, `transport-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(
      file,
      `${JSON.stringify({ quick, rounds, concurrency, streams: results, handshakes, handshake: hs, rawConnect: rawConn, handshakeRuns: hsRuns, rawConnectRuns: rawConnRuns, crypto, ratio: { messages: results[0]!.ratio, connections: hs.perSec / rawConn.perSec }, node: process.version, table }, null, 2)}\n`,
    );
    process.stderr.write(`wrote ${file}\n`);
  } finally {
    for (const s of sinks) await stopSink(s);
  }
}

if (flags.role === 'sink') {
  await sink();
} else {
  await main();
}
