/**
 * A hand-written in-memory NodeApi for the RPC edge's tests: it records every call with the
 * params it received (so a test can check what validation handed the node) and answers with
 * fixed, fully populated results (optional fields included, so docs.test.ts can compare every
 * documented result field). `failWith` makes the next calls of a method throw.
 *
 * This is a test double of the node, not the node: the real node behind the same interface is
 * tested end to end by src/node's tests.
 */
import { bytesToHex } from '../../../src/codec/bytes.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import type {
  InvoiceResult,
  NewInvoiceParams,
  ParsedInvoiceResult,
  PaymentResult,
  SendPaymentParams,
  ChannelResult,
  ClosedChannelResult,
  ShutdownChannelParams,
  ShutdownChannelResult,
  ExternalFundingResult,
  NodeApi,
  NodeInfoResult,
  OpenChannelParams,
  OpenChannelResult,
  OpenExternalParams,
  OpenExternalResult,
  PeerResult,
  SubmitFundingParams,
  WalletBalanceResult,
} from '../../../src/rpc/api.js';

/** A valid compressed public key (lowercase hex) from a one-byte private key. */
export function nodeId(n: number): string {
  const priv = new Uint8Array(32);
  priv[31] = n;
  return bytesToHex(secp256k1.getPublicKey(priv, true));
}

export const NODE_ID = nodeId(1);
export const PEER_ID = nodeId(2);

export const NODE_INFO: NodeInfoResult = {
  node_id: NODE_ID,
  network: 'regtest',
  chain_hash: '0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206',
  version: '0.1.0',
  listen_addresses: ['127.0.0.1:9735'],
  block_height: 101,
  peers: 1,
  pending_channels: 1,
  open_channels: 1,
  features: [1, 5, 7],
};

export const PEER: PeerResult = { peer_id: PEER_ID, address: '127.0.0.1:9736', inbound: false, features: [1, 5], online_since_ms: 1_700_000_000_000 };

export const CLOSED: readonly ClosedChannelResult[] = [
  {
    channel_id: 'dd'.repeat(32),
    peer_id: PEER_ID,
    close_type: 'cooperative close',
    closing_txid: 'ee'.repeat(32),
    close_height: 240,
    capacity_sat: 100_000,
    settled_sat: 49_800,
    time_locked_sat: 0,
    short_channel_id: '120x1x0',
    fully_resolved: true,
  },
];

export const CHANNELS: readonly ChannelResult[] = [
  {
    channel_id: 'aa'.repeat(32),
    peer_id: PEER_ID,
    state: 'open',
    is_initiator: true,
    capacity_sat: 500_000,
    local_balance_msat: '499000000',
    remote_balance_msat: '1000000',
    funding_txid: 'bb'.repeat(32),
    funding_output_index: 0,
    confirmations: 6,
    confirmations_required: 3,
    short_channel_id: '101x1x0',
    peer_online: true,
    closing: {
      phase: 'resolving',
      closer: 'local',
      htlcs_in_flight: 0,
      last_fee_sat: 183,
      closing_txid: 'ef'.repeat(32),
      close_kind: 'local',
      close_confirmations: 3,
      pending_outputs: [{ outpoint: `${'ef'.repeat(32)}:1`, amount_sat: 490_000, kind: 'to_local', waiting_for: 'csv', maturity_height: 250, blocks_left: 141, payment_hash: 'aa'.repeat(32) }],
      last_error: 'chain unreachable',
    },
  },
  {
    channel_id: 'cc'.repeat(32),
    peer_id: PEER_ID,
    state: 'pending_open',
    pending_reason: 'waiting for 2 more confirmations',
    is_initiator: false,
    capacity_sat: 20_000,
    local_balance_msat: '0',
    remote_balance_msat: '20000000',
    funding_txid: 'dd'.repeat(32),
    funding_output_index: 1,
    confirmations: 1,
    confirmations_required: 3,
    peer_online: false,
  },
  {
    channel_id: 'ee'.repeat(32),
    peer_id: PEER_ID,
    state: 'pending_open',
    pending_reason: 'waiting for the signed funding transaction',
    is_initiator: true,
    capacity_sat: 300_000,
    local_balance_msat: '300000000',
    remote_balance_msat: '0',
    funding_txid: 'ff'.repeat(32),
    funding_output_index: 0,
    confirmations: 0,
    confirmations_required: 3,
    peer_online: true,
    external_funding: { state: 'awaiting_signature', expires_at_ms: 1_700_000_600_000 },
  },
];

export const OPENED: OpenChannelResult = { temporary_channel_id: '11'.repeat(32), channel_id: '22'.repeat(32), funding_txid: '33'.repeat(32), funding_output_index: 0 };
export const BALANCE: WalletBalanceResult = { confirmed_sat: 1_000_000, unconfirmed_sat: 5_000, reserved_sat: 500_000 };
export const ADDRESS = 'bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080';
/** A base64 "PSBT" (the magic and a few bytes: the double never parses it). */
export const PSBT_BASE64 = 'cHNidP8BAHECAAAAAQ==';
export const OPENED_EXTERNAL: OpenExternalResult = {
  temporary_channel_id: '44'.repeat(32),
  channel_id: 'ee'.repeat(32),
  funding_txid: 'ff'.repeat(32),
  funding_output_index: 0,
  psbt: PSBT_BASE64,
  expires_at_ms: 1_700_000_600_000,
};
/** Every optional field filled (docs.test.ts compares them with the documented ones). */
export const EXTERNAL_FUNDING: ExternalFundingResult = {
  channel_id: 'ee'.repeat(32),
  state: 'confirming',
  funding_txid: 'ff'.repeat(32),
  psbt: PSBT_BASE64,
  expires_at_ms: 1_700_000_600_000,
  confirmations: 1,
  confirmations_required: 3,
  reason: 'the deadline passed before a signed transaction was submitted',
};

/** One recorded call. */
export interface Call {
  readonly method: keyof NodeApi;
  readonly params: unknown;
}

/** The test double. */
export class FakeNode implements NodeApi {
  readonly calls: Call[] = [];
  readonly #failures = new Map<keyof NodeApi, () => unknown>();

  /** Makes every later call of `method` throw what `make` returns (a fresh error each time). */
  failWith(method: keyof NodeApi, make: () => unknown): void {
    this.#failures.set(method, make);
  }

  /** Undoes `failWith`: later calls of `method` succeed again. */
  succeed(method: keyof NodeApi): void {
    this.#failures.delete(method);
  }

  #record(method: keyof NodeApi, params?: unknown): void {
    this.calls.push({ method, params });
    const failure = this.#failures.get(method);
    if (failure !== undefined) throw failure();
  }

  async nodeInfo(): Promise<NodeInfoResult> {
    this.#record('nodeInfo');
    return NODE_INFO;
  }
  async connectPeer(params: { readonly peer_id: string; readonly address: string }): Promise<PeerResult> {
    this.#record('connectPeer', params);
    return { ...PEER, peer_id: params.peer_id, address: params.address };
  }
  async disconnectPeer(params: { readonly peer_id: string }): Promise<void> {
    this.#record('disconnectPeer', params);
  }
  async listPeers(): Promise<readonly PeerResult[]> {
    this.#record('listPeers');
    return [PEER];
  }
  async openChannel(params: OpenChannelParams): Promise<OpenChannelResult> {
    this.#record('openChannel', params);
    return OPENED;
  }
  async listChannels(params: { readonly peer_id?: string; readonly include_closed?: boolean }): Promise<readonly ChannelResult[]> {
    this.#record('listChannels', params);
    return CHANNELS;
  }
  async shutdownChannel(params: ShutdownChannelParams): Promise<ShutdownChannelResult> {
    this.#record('shutdownChannel', params);
    // Every optional field filled (the docs test reads them all), as a repeated request would show them.
    return { channel_id: params.channel_id, state: params.force === true ? 'force_closed' : 'shutting_down', closing_txid: 'ab'.repeat(32), close_script: '0014' + '11'.repeat(20) };
  }
  async listClosedChannels(params: { readonly peer_id?: string }): Promise<readonly ClosedChannelResult[]> {
    this.#record('listClosedChannels', params);
    return CLOSED;
  }
  async newAddress(): Promise<{ readonly address: string }> {
    this.#record('newAddress');
    return { address: ADDRESS };
  }
  async walletBalance(): Promise<WalletBalanceResult> {
    this.#record('walletBalance');
    return BALANCE;
  }
  async openChannelWithExternalFunding(params: OpenExternalParams): Promise<OpenExternalResult> {
    this.#record('openChannelWithExternalFunding', params);
    return OPENED_EXTERNAL;
  }
  async submitSignedFundingTx(params: SubmitFundingParams): Promise<ExternalFundingResult> {
    this.#record('submitSignedFundingTx', params);
    return { ...EXTERNAL_FUNDING, channel_id: params.channel_id };
  }
  async getExternalFunding(params: { readonly channel_id: string }): Promise<ExternalFundingResult> {
    this.#record('getExternalFunding', params);
    return { ...EXTERNAL_FUNDING, channel_id: params.channel_id };
  }
  async newInvoice(params: NewInvoiceParams): Promise<InvoiceResult> {
    this.#record('newInvoice', params);
    return INVOICE;
  }
  async parseInvoice(params: { readonly invoice: string }): Promise<ParsedInvoiceResult> {
    this.#record('parseInvoice', params);
    return PARSED_INVOICE;
  }
  async getInvoice(params: { readonly payment_hash: string }): Promise<InvoiceResult> {
    this.#record('getInvoice', params);
    return { ...INVOICE, payment_hash: params.payment_hash };
  }
  async cancelInvoice(params: { readonly payment_hash: string }): Promise<InvoiceResult> {
    this.#record('cancelInvoice', params);
    return { ...INVOICE, payment_hash: params.payment_hash, state: 'canceled' };
  }
  async listInvoices(params: { readonly after_index?: number; readonly limit?: number; readonly state?: InvoiceResult['state'] }): Promise<readonly InvoiceResult[]> {
    this.#record('listInvoices', params);
    return [INVOICE];
  }
  async sendPayment(params: SendPaymentParams): Promise<PaymentResult> {
    this.#record('sendPayment', params);
    return PAYMENT;
  }
  async getPayment(params: { readonly payment_hash: string }): Promise<PaymentResult> {
    this.#record('getPayment', params);
    return { ...PAYMENT, payment_hash: params.payment_hash };
  }
  async listPayments(params: { readonly after_index?: number; readonly limit?: number }): Promise<readonly PaymentResult[]> {
    this.#record('listPayments', params);
    return [PAYMENT];
  }
}

/** Every optional field filled (docs.test.ts compares them with the documented ones). */
export const INVOICE: InvoiceResult = {
  payment_hash: 'aa'.repeat(32),
  invoice: 'lnbcrt10u1pexample',
  state: 'settled',
  amount_msat: '1000000',
  description: 'coffee',
  description_hash: 'bb'.repeat(32),
  created_at_ms: 1_700_000_000_000,
  expires_at_ms: 1_700_003_600_000,
  keysend: false,
  add_index: 1,
  settle_index: 1,
  settled_at_ms: 1_700_000_100_000,
  amount_paid_msat: '1000000',
  preimage: 'cc'.repeat(32),
};
export const PARSED_INVOICE: ParsedInvoiceResult = {
  network: 'regtest',
  payment_hash: 'aa'.repeat(32),
  payment_secret: 'dd'.repeat(32),
  payee: PEER_ID,
  amount_msat: '1000000',
  description: 'coffee',
  description_hash: 'bb'.repeat(32),
  created_at_ms: 1_700_000_000_000,
  expires_at_ms: 1_700_003_600_000,
  expired: false,
  min_final_cltv_expiry_delta: 18,
  features: [8, 14],
  route_hints: 0,
};
export const PAYMENT: PaymentResult = {
  payment_hash: 'aa'.repeat(32),
  status: 'failed',
  amount_msat: '1000000',
  fee_msat: '0',
  destination: PEER_ID,
  invoice: 'lnbcrt10u1pexample',
  keysend: false,
  created_at_ms: 1_700_000_000_000,
  payment_index: 1,
  resolved_at_ms: 1_700_000_001_000,
  preimage: 'cc'.repeat(32),
  failure_reason: 'incorrect_or_unknown_payment_details from hop 0',
  attempts: [
    {
      attempt_id: 1,
      channel_id: 'ee'.repeat(32),
      htlc_id: 0,
      amount_msat: '1000000',
      status: 'failed',
      started_at_ms: 1_700_000_000_500,
      resolved_at_ms: 1_700_000_001_000,
      failure: 'incorrect_or_unknown_payment_details from hop 0',
    },
  ],
};
