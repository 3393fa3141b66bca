/**
 * `DevnetClient`: an EsploraClient that also drives `chand devnet`'s controls (mine, faucet,
 * info). Used by tests and by the `chand devnet mine|faucet|info` commands.
 */
import type { OutPoint } from '../bitcoin/transaction.js';
import { ChandError, ErrorCode } from '../errors.js';
import { EsploraClient } from './esplora-client.js';

/** What GET /devnet/info reports. */
export interface DevnetInfo {
  /** bech32 prefix of the network's addresses (`bcrt`). */
  readonly network: string;
  /** Hash of the devnet genesis block, Bitcoin regtest's: the chain hash. */
  readonly genesisHash: string;
  readonly height: number;
  readonly tipHash: string;
}

/** Esplora client plus devnet controls. Control calls are POSTs and so are never retried. */
export class DevnetClient extends EsploraClient {
  /**
   * Mines `blocks` blocks (the first takes the whole mempool), paying coinbases to `address`
   * or to the devnet faucet. Returns the new block hashes.
   */
  async mine(blocks = 1, address?: string): Promise<string[]> {
    const reply = await this.postJson('devnet/mine', { blocks, ...(address === undefined ? {} : { address }) });
    const hashes = (reply.json as { hashes?: unknown } | undefined)?.hashes;
    if (reply.status !== 200 || !Array.isArray(hashes)) throw this.#failure('devnet/mine', reply);
    return hashes as string[];
  }

  /**
   * Pays `amountSat` to `address` from the devnet faucet (unconfirmed until mined). Throws
   * ChandError INSUFFICIENT_FUNDS when the faucet is short. Returns the paying output (the
   * HTTP reply's `vout` becomes `index`).
   */
  async faucet(address: string, amountSat: bigint | number): Promise<OutPoint> {
    const amount = Number(amountSat);
    if (!Number.isSafeInteger(amount) || amount <= 0) throw new RangeError(`expected a positive amount in sat, got ${amountSat}`);
    const reply = await this.postJson('devnet/faucet', { address, amount_sat: amount });
    const json = reply.json as { txid?: unknown; vout?: unknown } | undefined;
    if (reply.status !== 200 || typeof json?.txid !== 'string' || typeof json.vout !== 'number') {
      throw this.#failure('devnet/faucet', reply);
    }
    return { txid: json.txid, index: json.vout };
  }

  /** Network, chain hash and tip of the devnet. */
  async info(): Promise<DevnetInfo> {
    const raw = (await this.getJson('devnet/info')) as Record<string, unknown>;
    if (typeof raw?.['genesis_hash'] !== 'string' || typeof raw['height'] !== 'number') {
      throw new ChandError(ErrorCode.CHAIN_BAD_RESPONSE, `GET ${this.baseUrl}/devnet/info: not a devnet`);
    }
    return {
      network: String(raw['network']),
      genesisHash: raw['genesis_hash'],
      height: raw['height'],
      tipHash: String(raw['tip_hash']),
    };
  }

  #failure(path: string, reply: { status: number; text: string }): ChandError {
    if (reply.status === 409) return new ChandError(ErrorCode.INSUFFICIENT_FUNDS, reply.text.trim());
    return new ChandError(ErrorCode.CHAIN_BAD_RESPONSE, `POST ${this.baseUrl}/${path}: HTTP ${reply.status}: ${reply.text.trim().slice(0, 300)}`);
  }
}
