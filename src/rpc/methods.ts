/**
 * The JSON-RPC method table: for each method its name (Fiber's), a one-line summary, its
 * param schema, and how it calls the NodeApi and wraps the result.
 *
 * To add a method: add a NodeApi method in api.ts (implemented by src/node/), one
 * `defineMethod` entry below, and its section in docs/rpc.md (test/rpc/docs.test.ts fails
 * until the doc and the schema agree). A method's params arrive validated and converted
 * (ids lowercase, amounts bigint); cross-field checks that are about the request's shape (not
 * a domain rule) live in the method's `call` and throw InvalidParamsError.
 */
import { formatAddress, parseHostPort, parsePeerAddress } from '../peer/peer-address.js';
import type { NodeApi } from './api.js';
import { InvalidParamsError } from './errors.js';
import {
  array,
  base64,
  bool,
  enumOf,
  hex,
  hexBytes,
  int,
  msat,
  number,
  object,
  oneOf,
  optional,
  pubkey,
  requireExactlyOne,
  sat,
  string,
  type Fields,
  type ObjectSchema,
  type ObjectValue,
} from './params.js';

/** One JSON-RPC method. */
export interface RpcMethod<F extends Fields = Fields> {
  readonly name: string;
  /** One line for docs and help. */
  readonly summary: string;
  readonly params: ObjectSchema<F>;
  /** Runs the method on validated params; the result is sent as JSON as it is. */
  call(api: NodeApi, params: ObjectValue<F>): Promise<unknown>;
}

/** Builds a table entry; only exists so each entry's `call` is typed by its own schema. */
export function defineMethod<F extends Fields>(method: RpcMethod<F>): RpcMethod<F> {
  return method;
}

/** Fee rates above this are refused as typos (sat/vB). */
const MAX_FEE_RATE_SAT_PER_VB = 100_000;
/** Bounds of `timeout_secs` of an externally funded open: 10 s to a week. */
const MIN_EXTERNAL_TIMEOUT_SECS = 10;
const MAX_EXTERNAL_TIMEOUT_SECS = 7 * 86_400;
/** Most outpoints one externally funded open may name. */
const MAX_FUNDING_UTXOS = 100;
/** Longest address accepted (bech32 addresses are at most 90 characters). */
const MAX_ADDRESS_LENGTH = 100;

/** An outpoint param: `{txid, vout}`. */
const outpoint = () => object({ txid: hex(32), vout: int({ min: 0, max: 0xffff_ffff }) });

/**
 * Refuses an outpoint named twice in `funding_source.utxos`: spending a coin twice is never
 * what the caller meant, and the error names the repeat's path.
 */
function checkDistinctUtxos(utxos: ReadonlyArray<{ readonly txid: string; readonly vout: number }>): void {
  const seen = new Map<string, number>();
  utxos.forEach((u, i) => {
    const key = `${u.txid}:${u.vout}`;
    const first = seen.get(key);
    if (first !== undefined) throw new InvalidParamsError(`funding_source.utxos[${i}]`, `expected distinct outpoints, got ${key} again (also utxos[${first}])`);
    seen.set(key, i);
  });
}

/**
 * `connect_peer` accepts `{address: "<node_id>@<host>:<port>"}` or `{peer_id, address: "host:port"}`
 * (or both forms together when they agree); the node gets `{peer_id, address: "host:port"}`.
 */
function connectTarget(params: { readonly peer_id?: string; readonly address: string }): { peer_id: string; address: string } {
  if (params.address.includes('@')) {
    let target;
    try {
      target = parsePeerAddress(params.address);
    } catch (err) {
      throw new InvalidParamsError('address', `expected "<node_id>@<host>:<port>" or (with peer_id) "<host>:<port>", got ${JSON.stringify(params.address)}: ${(err as Error).message}`);
    }
    if (params.peer_id !== undefined && params.peer_id !== target.nodeId) {
      throw new InvalidParamsError('peer_id', `expected the node id of address ${JSON.stringify(params.address)}, got ${JSON.stringify(params.peer_id)}`);
    }
    return { peer_id: target.nodeId, address: formatAddress(target) };
  }
  if (params.peer_id === undefined) {
    throw new InvalidParamsError('address', `expected "<node_id>@<host>:<port>" (or give peer_id and "<host>:<port>"), got ${JSON.stringify(params.address)}`);
  }
  const hostPort = parseHostPort(params.address);
  if (hostPort === undefined) throw new InvalidParamsError('address', `expected "<host>:<port>" with a port in [1, 65535], got ${JSON.stringify(params.address)}`);
  return { peer_id: params.peer_id, address: formatAddress(hostPort) };
}

/** Longest BOLT 11 string accepted (the spec allows long route hints; 7,089 is bech32's QR limit). */
const MAX_INVOICE_LENGTH = 7089;
/** Largest page of a list method. */
const MAX_PAGE = 10_000;
/** Longest wait of send_payment: an hour (the payment goes on after it). */
const MAX_PAYMENT_WAIT_SECS = 3600;

/** A short channel id param: "BLOCKxTXxOUTPUT" (as list_channels shows it) or its u64 as a decimal string. */
function parseScidParam(field: string, text: string): bigint {
  const parts = /^(\d{1,8})x(\d{1,8})x(\d{1,5})$/.exec(text);
  if (parts !== null) {
    const [block, tx, out] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
    if (block <= 0xffffff && tx <= 0xffffff && out <= 0xffff) return (BigInt(block) << 40n) | (BigInt(tx) << 16n) | BigInt(out);
  } else if (/^\d{1,20}$/.test(text) && BigInt(text) < 1n << 64n) {
    return BigInt(text);
  }
  throw new InvalidParamsError(field, `expected a short channel id as BLOCKxTXxOUTPUT (block and tx index below 2^24, output below 2^16) or a u64, got ${JSON.stringify(text)}`);
}

/** `send_payment` takes an invoice, or `keysend: true` with `target_pubkey` and `amount_msat`. */
function paymentTarget(params: { readonly invoice?: string; readonly target_pubkey?: string; readonly amount_msat?: bigint; readonly keysend?: boolean }): void {
  if (params.invoice !== undefined) {
    if (params.target_pubkey !== undefined) throw new InvalidParamsError('target_pubkey', 'expected either invoice or target_pubkey (with keysend), got both');
    if (params.keysend === true) throw new InvalidParamsError('keysend', 'expected keysend only with target_pubkey, got an invoice');
    return;
  }
  if (params.target_pubkey === undefined) throw new InvalidParamsError('invoice', 'expected an invoice, or target_pubkey with keysend and amount_msat');
  if (params.keysend !== true) throw new InvalidParamsError('keysend', 'expected keysend: true to pay target_pubkey without an invoice');
  if (params.amount_msat === undefined) throw new InvalidParamsError('amount_msat', 'expected amount_msat for a keysend payment');
}

/** Every method the server serves, in documentation order. */
export const METHODS: readonly RpcMethod[] = [
  defineMethod({
    name: 'node_info',
    summary: "the node's id, network, chain tip, listen addresses and counts of peers and channels",
    params: object({}),
    call: (api) => api.nodeInfo(),
  }),
  defineMethod({
    name: 'connect_peer',
    summary: 'connect to a peer (or return the existing connection); resolves once the peer is online',
    params: object({ address: string({ maxLength: 300 }), peer_id: optional(pubkey()) }),
    call: (api, params) => api.connectPeer(connectTarget(params)),
  }),
  defineMethod({
    name: 'disconnect_peer',
    summary: 'close the connection with an online peer',
    params: object({ peer_id: pubkey() }),
    call: async (api, params) => {
      await api.disconnectPeer({ peer_id: params.peer_id });
      return {};
    },
  }),
  defineMethod({
    name: 'list_peers',
    summary: 'the peers online now',
    params: object({}),
    call: async (api) => ({ peers: await api.listPeers() }),
  }),
  defineMethod({
    name: 'open_channel',
    summary: "open a channel with an online peer, funded from the node's wallet",
    params: object({
      peer_id: pubkey(),
      funding_amount_sat: sat({ min: 1n }),
      push_amount_msat: optional(msat()),
      fee_rate_sat_per_vb: optional(number({ gt: 0, max: MAX_FEE_RATE_SAT_PER_VB })),
    }),
    call: (api, params) => api.openChannel(params),
  }),
  defineMethod({
    name: 'open_channel_with_external_funding',
    summary: 'open a channel with an online peer, funded by coins the node does not hold: returns an unsigned PSBT to sign elsewhere and submit',
    params: object({
      peer_id: pubkey(),
      funding_amount_sat: sat({ min: 1n }),
      funding_source: oneOf({
        utxos: array(outpoint(), { minLength: 1, maxLength: MAX_FUNDING_UTXOS }),
        address: string({ maxLength: MAX_ADDRESS_LENGTH }),
      }),
      change_address: string({ maxLength: MAX_ADDRESS_LENGTH }),
      fee_rate_sat_per_vb: number({ gt: 0, max: MAX_FEE_RATE_SAT_PER_VB }),
      timeout_secs: optional(int({ min: MIN_EXTERNAL_TIMEOUT_SECS, max: MAX_EXTERNAL_TIMEOUT_SECS })),
      push_amount_msat: optional(msat()),
    }),
    call: (api, params) => {
      if ('utxos' in params.funding_source) checkDistinctUtxos(params.funding_source.utxos);
      return api.openChannelWithExternalFunding(params);
    },
  }),
  defineMethod({
    name: 'submit_signed_funding_tx',
    summary: 'submit the signed funding of an externally funded open (a signed PSBT or a raw transaction); repeating it with the same transaction is harmless',
    params: object({ channel_id: hex(32), psbt: optional(base64()), tx: optional(hexBytes()) }),
    call: (api, params) => {
      requireExactlyOne(params, ['psbt', 'tx']);
      return api.submitSignedFundingTx(
        params.psbt !== undefined ? { channel_id: params.channel_id, psbt: params.psbt } : { channel_id: params.channel_id, tx: params.tx! },
      );
    },
  }),
  defineMethod({
    name: 'get_external_funding',
    summary: 'where an externally funded open stands (with the unsigned PSBT again while it awaits a signature)',
    params: object({ channel_id: hex(32) }),
    call: (api, params) => api.getExternalFunding(params),
  }),
  defineMethod({
    name: 'list_channels',
    summary: 'channels, pending and open (and closed with include_closed), optionally of one peer',
    params: object({ peer_id: optional(pubkey()), include_closed: optional(bool()) }),
    call: async (api, params) => ({ channels: await api.listChannels(params) }),
  }),
  defineMethod({
    name: 'shutdown_channel',
    summary: 'close a channel: cooperatively (shutdown, then fee negotiation once HTLCs resolve) or, with force, by broadcasting our commitment',
    params: object({
      channel_id: hex(32),
      close_address: optional(string({ maxLength: 100 })),
      close_script: optional(hexBytes({ maxBytes: 42 })),
      fee_rate_sat_per_vb: optional(number({ gt: 0, max: MAX_FEE_RATE_SAT_PER_VB })),
      force: optional(bool()),
    }),
    call: (api, params) => {
      if (params.close_address !== undefined && params.close_script !== undefined) {
        throw new InvalidParamsError('close_script', 'expected close_address or close_script, got both');
      }
      if (params.force === true && (params.close_address !== undefined || params.close_script !== undefined || params.fee_rate_sat_per_vb !== undefined)) {
        throw new InvalidParamsError('force', 'expected no close_address, close_script or fee_rate_sat_per_vb with force: a force close pays to the commitment as signed');
      }
      return api.shutdownChannel(params);
    },
  }),
  defineMethod({
    name: 'list_closed_channels',
    summary: 'channels closed and fully resolved on chain, optionally of one peer',
    params: object({ peer_id: optional(pubkey()) }),
    call: async (api, params) => ({ channels: await api.listClosedChannels(params) }),
  }),
  defineMethod({
    name: 'new_invoice',
    summary: 'create a BOLT 11 invoice to be paid to this node',
    params: object({
      amount_msat: optional(msat({ min: 1n })),
      description: optional(string({ maxLength: 639 })),
      description_hash: optional(hex(32)),
      expiry_secs: optional(int({ min: 1, max: 365 * 86_400 })),
      min_final_cltv_expiry_delta: optional(int({ min: 9, max: 2016 })),
    }),
    call: (api, params) => {
      if (params.description !== undefined && params.description_hash !== undefined) {
        throw new InvalidParamsError('description_hash', 'expected description or description_hash, got both');
      }
      return api.newInvoice(params);
    },
  }),
  defineMethod({
    name: 'parse_invoice',
    summary: 'decode and check a BOLT 11 invoice (signature, network) without paying it',
    params: object({ invoice: string({ maxLength: MAX_INVOICE_LENGTH }) }),
    call: (api, params) => api.parseInvoice(params),
  }),
  defineMethod({
    name: 'get_invoice',
    summary: 'an invoice of this node by payment hash',
    params: object({ payment_hash: hex(32) }),
    call: (api, params) => api.getInvoice(params),
  }),
  defineMethod({
    name: 'cancel_invoice',
    summary: 'cancel an open invoice (later payments of it are refused); repeating it is harmless',
    params: object({ payment_hash: hex(32) }),
    call: (api, params) => api.cancelInvoice(params),
  }),
  defineMethod({
    name: 'list_invoices',
    summary: 'invoices of this node in creation order, a page at a time',
    params: object({
      after_index: optional(int({ min: 0 })),
      limit: optional(int({ min: 1, max: MAX_PAGE })),
      state: optional(enumOf(['open', 'accepted', 'settled', 'canceled'] as const)),
    }),
    call: async (api, params) => ({ invoices: await api.listInvoices(params) }),
  }),
  defineMethod({
    name: 'send_payment',
    summary: 'pay a BOLT 11 invoice, or a node by keysend; waits for the outcome unless no_wait',
    params: object({
      invoice: optional(string({ maxLength: MAX_INVOICE_LENGTH })),
      target_pubkey: optional(pubkey()),
      amount_msat: optional(msat({ min: 1n })),
      keysend: optional(bool()),
      no_wait: optional(bool()),
      timeout_secs: optional(int({ min: 1, max: MAX_PAYMENT_WAIT_SECS })),
      route: optional(
        array(
          object({
            pubkey: pubkey(),
            short_channel_id: string({ maxLength: 40 }),
            fee_msat: optional(msat()),
            cltv_expiry_delta: optional(int({ min: 0, max: 2016 })),
          }),
          { minLength: 1, maxLength: 20 },
        ),
      ),
    }),
    call: (api, params) => {
      paymentTarget(params);
      const { route, ...rest } = params;
      if (route === undefined) return api.sendPayment(rest);
      return api.sendPayment({
        ...rest,
        route: route.map((hop, i) => ({
          pubkey: hop.pubkey,
          short_channel_id: parseScidParam(`route[${i}].short_channel_id`, hop.short_channel_id),
          fee_msat: hop.fee_msat ?? 0n,
          cltv_expiry_delta: hop.cltv_expiry_delta ?? 0,
        })),
      });
    },
  }),
  defineMethod({
    name: 'get_payment',
    summary: 'an outgoing payment by payment hash, with its attempts and, once paid, the preimage',
    params: object({ payment_hash: hex(32) }),
    call: (api, params) => api.getPayment(params),
  }),
  defineMethod({
    name: 'list_payments',
    summary: 'outgoing payments in creation order, a page at a time',
    params: object({ after_index: optional(int({ min: 0 })), limit: optional(int({ min: 1, max: MAX_PAGE })) }),
    call: async (api, params) => ({ payments: await api.listPayments(params) }),
  }),
  defineMethod({
    name: 'new_address',
    summary: "a fresh receive address of the node's wallet",
    params: object({}),
    call: (api) => api.newAddress(),
  }),
  defineMethod({
    name: 'wallet_balance',
    summary: "the node's wallet balance: confirmed, unconfirmed and reserved for opens in progress",
    params: object({}),
    call: (api) => api.walletBalance(),
  }),
];

/** The methods by name. */
export function methodTable(methods: readonly RpcMethod[] = METHODS): ReadonlyMap<string, RpcMethod> {
  const table = new Map<string, RpcMethod>();
  for (const m of methods) {
    if (table.has(m.name)) throw new RangeError(`expected unique method names, got ${m.name} twice`);
    table.set(m.name, m);
  }
  return table;
}
