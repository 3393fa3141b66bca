/**
 * ChainWatcher against `chand devnet` over HTTP (confirmations, depth, spends), and against
 * a failing Chain (exponential backoff, recovery, lifecycle).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Chain } from '../../src/chain/chain.js';
import { DevnetClient } from '../../src/chain/devnet-client.js';
import type { Devnet } from '../../src/chain/devnet/devnet.js';
import { devnetAt } from './support/devnet-at.js';
import { ChainWatcher, type ConfirmationEvent, type DeepEvent, type SpendEvent } from '../../src/chain/watcher.js';
import { ChandError, ErrorCode } from '../../src/errors.js';
import { decodeTx, txidOf } from '../../src/bitcoin/transaction.js';
import { buildTx, testKey } from './support/tx-builder.js';

/** Resolves when `predicate` holds, polling every 10 ms; fails after `ms`. */
async function until(predicate: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('ChainWatcher against devnet', () => {
  let datadir: string;
  let devnet: Devnet;
  let client: DevnetClient;
  beforeAll(async () => {
    datadir = await mkdtemp(join(tmpdir(), 'chand-watcher-'));
    devnet = await devnetAt(datadir, { noSync: true });
    await devnet.start();
    client = new DevnetClient({ baseUrl: devnet.url });
  });
  afterAll(async () => {
    await devnet.stop();
    await rm(datadir, { recursive: true, force: true });
  });

  it('emits confirmation changes, then "deep" once at the configured depth, then stops watching', async () => {
    const key = testKey('watcher conf');
    const { txid } = await client.faucet(key.address, 20_000n);
    const watcher = new ChainWatcher({ chain: client, pollIntervalMs: 20 });
    const confirmations: ConfirmationEvent[] = [];
    const deep: DeepEvent[] = [];
    watcher.on('confirmations', (e) => confirmations.push(e));
    watcher.on('deep', (e) => deep.push(e));
    watcher.watchTransaction(txid, { depth: 3 });
    watcher.start();
    try {
      await until(() => confirmations.length === 1);
      expect(confirmations[0]).toMatchObject({ txid, confirmations: 0, status: { confirmed: false } });

      await client.mine(1);
      await until(() => confirmations.length === 2);
      expect(confirmations[1]).toMatchObject({ txid, confirmations: 1 });
      expect(deep).toEqual([]);

      await client.mine(2);
      await until(() => deep.length === 1);
      expect(confirmations.at(-1)).toMatchObject({ confirmations: 3 });
      const minedIn = confirmations[1]!.status as { blockHash: string; blockHeight: number };
      expect(deep[0]).toEqual({ txid, confirmations: 3, blockHash: minedIn.blockHash, blockHeight: minedIn.blockHeight });

      const seen = confirmations.length;
      await client.mine(1);
      await watcher.pollNow();
      expect(confirmations.length).toBe(seen);
      expect(deep).toHaveLength(1);
    } finally {
      await watcher.stop();
    }
  });

  it('reports a watched transaction appearing in the mempool (a signer that broadcasts it itself)', async () => {
    const key = testKey('watcher appear');
    const coin = await client.faucet(key.address, 25_000n);
    await client.mine(1);
    const raw = buildTx({
      inputs: [{ txid: coin.txid, index: coin.index, value: 25_000n, key }],
      outputs: [{ script: testKey('watcher appear dest').script, value: 24_000n }],
    });
    const watcher = new ChainWatcher({ chain: client, pollIntervalMs: 20 });
    const events: ConfirmationEvent[] = [];
    watcher.on('confirmations', (e) => events.push(e));
    const txid = txidOf(decodeTx(raw));
    watcher.watchTransaction(txid, { depth: 1 });
    try {
      await watcher.pollNow();
      expect(events).toEqual([{ txid, confirmations: 0, status: undefined }]);
      await client.broadcast(raw);
      await watcher.pollNow();
      expect(events).toHaveLength(2);
      expect(events[1]).toEqual({ txid, confirmations: 0, status: { confirmed: false } });
    } finally {
      await watcher.stop();
    }
  });

  it('reports the spend of a watched outpoint, in the mempool, once per spender', async () => {
    const key = testKey('watcher spend');
    const coin = await client.faucet(key.address, 30_000n);
    await client.mine(1);
    const watcher = new ChainWatcher({ chain: client, pollIntervalMs: 20 });
    const spends: SpendEvent[] = [];
    watcher.on('spent', (e) => spends.push(e));
    watcher.watchOutpoint(coin.txid, coin.index);
    watcher.start();
    try {
      await watcher.pollNow();
      expect(spends).toEqual([]);
      const raw = buildTx({
        inputs: [{ txid: coin.txid, index: coin.index, value: 30_000n, key }],
        outputs: [{ script: testKey('watcher dest').script, value: 29_000n }],
      });
      const spendTxid = await client.broadcast(raw);
      await until(() => spends.length === 1);
      expect(spends[0]).toEqual({ txid: coin.txid, index: coin.index, spendingTxid: spendTxid, vin: 0, status: { confirmed: false } });
      await client.mine(1);
      await watcher.pollNow();
      await watcher.pollNow();
      expect(spends).toHaveLength(1);
    } finally {
      await watcher.stop();
    }
  });
});

describe('ChainWatcher failure handling', () => {
  /** A chain whose reads fail while `down` is true; counts calls. */
  function flakyChain() {
    const state = { down: true, calls: 0 };
    const chain: Pick<Chain, 'getTxStatus' | 'getOutspend'> = {
      async getTxStatus() {
        state.calls++;
        if (state.down) throw new ChandError(ErrorCode.CHAIN_UNREACHABLE, 'down');
        return { confirmed: true, blockHeight: 10, blockHash: 'ab'.repeat(32), blockTime: 0, confirmations: 1 };
      },
      async getOutspend() {
        return { spent: false };
      },
    };
    return { chain, state };
  }

  it('backs off exponentially while the chain fails, capped, and recovers after a success', async () => {
    const { chain, state } = flakyChain();
    const watcher = new ChainWatcher({ chain, pollIntervalMs: 100, maxBackoffMs: 1_000 });
    const errors: Error[] = [];
    watcher.on('error', (e) => errors.push(e));
    watcher.watchTransaction('cd'.repeat(32));
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      await watcher.pollNow();
      delays.push(watcher.nextDelayMs);
    }
    expect(delays).toEqual([200, 400, 800, 1_000, 1_000, 1_000]);
    expect(errors).toHaveLength(6);
    expect(errors[0]).toBeInstanceOf(ChandError);
    state.down = false;
    await watcher.pollNow();
    expect(watcher.consecutiveFailures).toBe(0);
    expect(watcher.nextDelayMs).toBe(100);
  });

  it('schedules its timer polls with the backoff delays', async () => {
    vi.useFakeTimers();
    try {
      const { chain, state } = flakyChain();
      const watcher = new ChainWatcher({ chain, pollIntervalMs: 20, maxBackoffMs: 10_000 });
      watcher.watchTransaction('cd'.repeat(32));
      watcher.start();
      // Polls at t = 0, then after 40, 80, 160 ms: t = 0, 40, 120, 280; the next one is due at 600.
      await vi.advanceTimersByTimeAsync(599);
      expect(state.calls).toBe(4);
      state.down = false;
      await vi.advanceTimersByTimeAsync(1);
      expect(state.calls).toBe(5);
      // Healthy again: back to the plain interval.
      await vi.advanceTimersByTimeAsync(20);
      expect(state.calls).toBe(6);
      await watcher.stop();
    } finally {
      vi.useRealTimers();
    }
  });

  it('does not throw without an error listener, and stop() is idempotent and final', async () => {
    const { chain, state } = flakyChain();
    const watcher = new ChainWatcher({ chain, pollIntervalMs: 10 });
    watcher.watchTransaction('cd'.repeat(32));
    watcher.start();
    watcher.start();
    await until(() => state.calls >= 2);
    await watcher.stop();
    await watcher.stop();
    const calls = state.calls;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(state.calls).toBe(calls);
  });
});

describe('ChainWatcher outpoint reads', () => {
  it('with a chain that tells its tip, reads outpoints only on a new tip, a newly watched outpoint, or the refresh interval', async () => {
    const state = { tip: 'aa'.repeat(32), outspends: 0, spent: false };
    const chain: Pick<Chain, 'getTxStatus' | 'getOutspend' | 'getTipHash'> = {
      async getTxStatus() {
        return undefined;
      },
      async getOutspend() {
        state.outspends++;
        return state.spent ? { spent: true, txid: 'ee'.repeat(32), vin: 0, status: { confirmed: false } } : { spent: false };
      },
      async getTipHash() {
        return state.tip;
      },
    };
    const watcher = new ChainWatcher({ chain, pollIntervalMs: 1_000, outpointRefreshMs: 60_000 });
    const spends: string[] = [];
    watcher.on('spent', (e) => spends.push(e.spendingTxid));
    watcher.watchOutpoint('cd'.repeat(32), 0);
    watcher.watchOutpoint('cd'.repeat(32), 1);
    await watcher.pollNow();
    expect(state.outspends).toBe(2); // first read
    await watcher.pollNow();
    await watcher.pollNow();
    expect(state.outspends).toBe(2); // same tip, nothing new: no reads
    watcher.watchOutpoint('cd'.repeat(32), 2);
    await watcher.pollNow();
    expect(state.outspends).toBe(5); // a new outpoint: all are read
    state.spent = true;
    await watcher.pollNow();
    expect(spends).toEqual([]); // a mempool spend waits for the next tip or refresh
    state.tip = 'bb'.repeat(32);
    await watcher.pollNow();
    expect(state.outspends).toBe(8);
    expect(spends).toEqual(['ee'.repeat(32), 'ee'.repeat(32), 'ee'.repeat(32)]);
  });

  it('still finds a mempool spend within the refresh interval while the tip stays', async () => {
    const state = { outspends: 0 };
    const chain: Pick<Chain, 'getTxStatus' | 'getOutspend' | 'getTipHash'> = {
      async getTxStatus() {
        return undefined;
      },
      async getOutspend() {
        state.outspends++;
        return state.outspends > 1 ? { spent: true, txid: 'ef'.repeat(32), vin: 0, status: { confirmed: false } } : { spent: false };
      },
      async getTipHash() {
        return 'aa'.repeat(32);
      },
    };
    const watcher = new ChainWatcher({ chain, pollIntervalMs: 10, outpointRefreshMs: 50 });
    const spends: string[] = [];
    watcher.on('spent', (e) => spends.push(e.spendingTxid));
    watcher.watchOutpoint('cd'.repeat(32), 0);
    watcher.start();
    try {
      await until(() => spends.length > 0, 5_000);
      expect(spends).toEqual(['ef'.repeat(32)]);
    } finally {
      await watcher.stop();
    }
  });
});
