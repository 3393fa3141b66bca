/**
 * The `chand` commands that talk to a running node over its JSON-RPC server (docs/rpc.md):
 *
 *   chand info                                        node_info
 *   chand peer connect <node_id@host:port>            connect_peer
 *   chand peer disconnect <node_id>                   disconnect_peer
 *   chand peer list                                   list_peers
 *   chand channel open <peer_id> <amount_sat> [--push-msat N] [--fee-rate N]   open_channel
 *   chand channel open <peer_id> <amount_sat> --external (--utxo TXID:VOUT ... | --from-address ADDR)
 *       --change-address ADDR --fee-rate N [--timeout-secs N] [--psbt-out FILE]  open_channel_with_external_funding
 *   chand channel submit-psbt <channel_id> <FILE|->                           submit_signed_funding_tx
 *   chand channel funding <channel_id>                                         get_external_funding
 *   chand channel list [--peer ID] [--include-closed]                          list_channels
 *   chand channel close <channel_id> [--address A | --script HEX] [--fee-rate N] | --force   shutdown_channel
 *   chand channel closed [--peer ID]                                            list_closed_channels
 *   chand wallet address | balance                    new_address, wallet_balance
 *   chand invoice new [AMOUNT_MSAT] [--description T | --description-hash H] [--expiry-secs N]   new_invoice
 *   chand invoice get <payment_hash> | cancel <payment_hash> | list [--state S] [--after N] [--limit N]
 *   chand invoice parse <invoice>                                               parse_invoice
 *   chand pay <invoice> [--amount-msat N] [--no-wait] [--timeout-secs N]        send_payment
 *   chand pay --keysend <node_id> <amount_msat>                                 send_payment (keysend)
 *   chand payment get <payment_hash> | list [--after N] [--limit N]             get_payment, list_payments
 *
 * Each is a thin client: it finds the node through `<datadir>/rpc.json` and `rpc.token`
 * (--datadir, $CHAND_DATADIR, default ~/.chand), sends one call, and prints the result: with
 * --json exactly the result JSON, otherwise `key: value` lines or an aligned table. Params are
 * validated by the node, so a bad argument comes back as INVALID_PARAMS naming the param. No
 * node there is `chand: NODE_NOT_RUNNING: ...` and exit 1 (main.ts's ChandError path).
 *
 * External funding composes through files (src/cli/psbt-file.ts): `channel open --external
 * --psbt-out F` writes the unsigned PSBT (base64, 0600), `chand signer sign-psbt F --out G`
 * signs it, `channel submit-psbt <channel_id> G` submits it (a base64 or binary PSBT, or a hex
 * raw transaction from another wallet).
 */
import { Option, type Command } from 'commander';
import { resolveDatadir } from '../node/config.js';
import type { ChannelResult, ClosedChannelResult, ExternalFundingResult, InvoiceResult, OpenExternalResult, PaymentResult, PeerResult } from '../rpc/api.js';
import { RpcClient } from '../rpc/client.js';
import { decodeFundingFile, readInput, writePsbtFile } from './psbt-file.js';

/** `--datadir`, resolved as `chand node start` resolves it (flag, then $CHAND_DATADIR, then ~/.chand). */
function datadirOption(): Option {
  return new Option('--datadir <dir>', "the node's data directory (default: $CHAND_DATADIR, else ~/.chand)");
}

interface ClientFlags {
  readonly datadir?: string;
  readonly json?: boolean;
}

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** Adds --datadir and --json to a command that calls the node. */
function clientCommand(cmd: Command): Command {
  return cmd.addOption(datadirOption()).option('--json', 'print the JSON-RPC result exactly');
}

/** Calls `method` on the node of `flags.datadir`. */
async function callNode<T>(flags: ClientFlags, method: string, params?: Record<string, unknown>): Promise<T> {
  const client = await RpcClient.forDatadir(resolveDatadir(flags.datadir, process.env));
  return client.call<T>(method, params);
}

/** Prints `result` as JSON (--json) or through `human`. */
function output<T>(flags: ClientFlags, result: T, human: (value: T) => string): void {
  print(flags.json === true ? JSON.stringify(result, null, 2) : human(result));
}

/** One `key: value` line per field; lists joined by ", " ("-" when empty), absent fields left out. */
export function formatKeyValues(value: unknown): string {
  if (typeof value !== 'object' || value === null) return String(value);
  const lines: string[] = [];
  for (const [key, v] of Object.entries(value)) {
    if (v === undefined) continue;
    const text = Array.isArray(v) ? (v.length === 0 ? '-' : v.map(String).join(', ')) : typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
    lines.push(`${key}: ${text}`);
  }
  return lines.join('\n');
}

/** A column of `formatTable`. */
export interface Column<R> {
  readonly header: string;
  readonly value: (row: R) => string;
  /** Right-align (numbers). */
  readonly right?: boolean;
}

/** An aligned table with a header row, two spaces between columns, no trailing spaces. */
export function formatTable<R>(columns: readonly Column<R>[], rows: readonly R[]): string {
  const cells = rows.map((row) => columns.map((c) => c.value(row)));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i]!.length)));
  const line = (values: readonly string[]): string =>
    values
      .map((v, i) => (columns[i]!.right === true ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join('\n');
}

const PEER_COLUMNS: readonly Column<PeerResult>[] = [
  { header: 'PEER_ID', value: (p) => p.peer_id },
  { header: 'ADDRESS', value: (p) => p.address },
  { header: 'DIRECTION', value: (p) => (p.inbound ? 'inbound' : 'outbound') },
  { header: 'ONLINE_SINCE', value: (p) => new Date(p.online_since_ms).toISOString() },
];

const CHANNEL_COLUMNS: readonly Column<ChannelResult>[] = [
  { header: 'CHANNEL_ID', value: (c) => c.channel_id },
  { header: 'STATE', value: (c) => c.state },
  { header: 'CAPACITY_SAT', value: (c) => String(c.capacity_sat), right: true },
  { header: 'LOCAL_MSAT', value: (c) => c.local_balance_msat, right: true },
  { header: 'REMOTE_MSAT', value: (c) => c.remote_balance_msat, right: true },
  { header: 'CONF', value: (c) => `${c.confirmations}/${c.confirmations_required}`, right: true },
  { header: 'PEER_ID', value: (c) => c.peer_id },
  { header: 'NOTE', value: (c) => c.pending_reason ?? '' },
];

const CLOSED_COLUMNS: readonly Column<ClosedChannelResult>[] = [
  { header: 'CHANNEL_ID', value: (c) => c.channel_id },
  { header: 'CLOSE_TYPE', value: (c) => c.close_type },
  { header: 'CAPACITY_SAT', value: (c) => String(c.capacity_sat), right: true },
  { header: 'SETTLED_SAT', value: (c) => String(c.settled_sat), right: true },
  { header: 'HEIGHT', value: (c) => String(c.close_height), right: true },
  { header: 'CLOSING_TXID', value: (c) => c.closing_txid },
  { header: 'PEER_ID', value: (c) => c.peer_id },
];

/** `--fee-rate` as a JSON number of sat/vB (the node checks the range). */
function parseFeeRate(value: string): number {
  if (!/^\d+(\.\d+)?$/.test(value)) throw new RangeError(`expected --fee-rate as a positive number of sat/vB, got "${value}"`);
  return Number(value);
}

/** `--utxo TXID:VOUT` as an outpoint param (the node checks the txid); repeated flags collect. */
function collectUtxo(value: string, previous: Array<{ txid: string; vout: number }> = []): Array<{ txid: string; vout: number }> {
  const colon = value.lastIndexOf(':');
  const vout = value.slice(colon + 1);
  if (colon <= 0 || !/^\d{1,10}$/.test(vout)) throw new RangeError(`expected --utxo as TXID:VOUT, got "${value}"`);
  return [...previous, { txid: value.slice(0, colon), vout: Number(vout) }];
}

/** `--timeout-secs` as a JSON integer (the node checks the range). */
function parseTimeoutSecs(value: string): number {
  if (!/^\d{1,9}$/.test(value)) throw new RangeError(`expected --timeout-secs as a whole number of seconds, got "${value}"`);
  return Number(value);
}

interface OpenFlags extends ClientFlags {
  readonly pushMsat?: string;
  readonly feeRate?: string;
  readonly external?: boolean;
  readonly utxo?: Array<{ txid: string; vout: number }>;
  readonly fromAddress?: string;
  readonly changeAddress?: string;
  readonly timeoutSecs?: string;
  readonly psbtOut?: string;
}

/** The open_channel_with_external_funding params of `channel open --external`; RangeError for a flag combination that cannot be one. */
function externalOpenParams(peerId: string, amountSat: string, flags: OpenFlags): Record<string, unknown> {
  const hasUtxos = flags.utxo !== undefined && flags.utxo.length > 0;
  if (hasUtxos === (flags.fromAddress !== undefined)) {
    throw new RangeError(`expected either --utxo TXID:VOUT (repeatable) or --from-address ADDR with --external, got ${hasUtxos ? 'both' : 'neither'}`);
  }
  const params: Record<string, unknown> = {
    peer_id: peerId,
    funding_amount_sat: amountSat,
    funding_source: hasUtxos ? { utxos: flags.utxo } : { address: flags.fromAddress },
  };
  // Absent required values go to the node as absent: its INVALID_PARAMS names them.
  if (flags.changeAddress !== undefined) params['change_address'] = flags.changeAddress;
  if (flags.feeRate !== undefined) params['fee_rate_sat_per_vb'] = parseFeeRate(flags.feeRate);
  if (flags.timeoutSecs !== undefined) params['timeout_secs'] = parseTimeoutSecs(flags.timeoutSecs);
  if (flags.pushMsat !== undefined) params['push_amount_msat'] = flags.pushMsat;
  return params;
}

/** Adds `chand info`, `chand peer ...`, `chand channel ...` and `chand wallet ...` to `program`. */
export function registerNodeClientCommands(program: Command): void {
  clientCommand(program.command('info'))
    .description('show the running node: id, network, chain tip, listen addresses, peer and channel counts')
    .action(async (flags: ClientFlags) => {
      output(flags, await callNode(flags, 'node_info'), formatKeyValues);
    });

  const peer = program.command('peer').description("the running node's peers");
  clientCommand(peer.command('connect'))
    .description('connect to a peer (returns at once if already connected)')
    .argument('<address>', 'node_id@host:port')
    .action(async (address: string, flags: ClientFlags) => {
      output(flags, await callNode<PeerResult>(flags, 'connect_peer', { address }), formatKeyValues);
    });
  clientCommand(peer.command('disconnect'))
    .description('close the connection with a peer')
    .argument('<node_id>', "the peer's node id")
    .action(async (nodeId: string, flags: ClientFlags) => {
      output(flags, await callNode(flags, 'disconnect_peer', { peer_id: nodeId }), () => `disconnected ${nodeId.toLowerCase()}`);
    });
  clientCommand(peer.command('list'))
    .description('the peers online now')
    .action(async (flags: ClientFlags) => {
      const result = await callNode<{ peers: PeerResult[] }>(flags, 'list_peers');
      output(flags, result, (r) => (r.peers.length === 0 ? 'no peers online' : formatTable(PEER_COLUMNS, r.peers)));
    });

  const channel = program.command('channel').description("the running node's channels");
  clientCommand(channel.command('open'))
    .description("open a channel with an online peer, funded from the node's wallet, or with --external from coins another wallet signs for (prints the PSBT to sign)")
    .argument('<peer_id>', "the peer's node id")
    .argument('<amount_sat>', 'channel capacity in sat')
    .option('--push-msat <msat>', 'give the peer this much at open')
    .option('--fee-rate <sat_per_vb>', "fee rate of the funding transaction (default: the chain's 6-block estimate; required with --external)")
    .option('--external', 'fund from coins the node does not hold: the node returns an unsigned PSBT to sign elsewhere, then `chand channel submit-psbt`')
    .option('--utxo <txid:vout>', 'with --external: spend this coin (repeat for more)', collectUtxo)
    .option('--from-address <address>', 'with --external: spend every confirmed coin of this address')
    .option('--change-address <address>', 'with --external: where the change goes (required)')
    .option('--timeout-secs <secs>', "with --external: abort unless the signed transaction is submitted within this (default: the node's --external-funding-timeout)")
    .option('--psbt-out <file>', 'with --external: also write the unsigned PSBT (base64) to this file, mode 0600')
    .action(async (peerId: string, amountSat: string, flags: OpenFlags) => {
      if (flags.external !== true) {
        const externalOnly = (['utxo', 'fromAddress', 'changeAddress', 'timeoutSecs', 'psbtOut'] as const).filter((k) => flags[k] !== undefined);
        if (externalOnly.length > 0) {
          const names = externalOnly.map((k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ');
          throw new RangeError(`expected --external with ${names}, got a wallet-funded open`);
        }
        const params: Record<string, unknown> = { peer_id: peerId, funding_amount_sat: amountSat };
        if (flags.pushMsat !== undefined) params['push_amount_msat'] = flags.pushMsat;
        if (flags.feeRate !== undefined) params['fee_rate_sat_per_vb'] = parseFeeRate(flags.feeRate);
        output(flags, await callNode(flags, 'open_channel', params), formatKeyValues);
        return;
      }
      const result = await callNode<OpenExternalResult>(flags, 'open_channel_with_external_funding', externalOpenParams(peerId, amountSat, flags));
      if (flags.psbtOut !== undefined) {
        try {
          await writePsbtFile(flags.psbtOut, result.psbt);
        } catch (err) {
          // The open took effect: show its result (the PSBT included) before the failure.
          output(flags, result, formatKeyValues);
          throw err;
        }
      }
      output(flags, result, (r) => formatKeyValues(flags.psbtOut === undefined ? r : { ...r, psbt_file: flags.psbtOut }));
    });
  clientCommand(channel.command('submit-psbt'))
    .description('submit the signed funding of an externally funded open: FILE holds a signed PSBT (base64 or binary) or a hex raw transaction; - reads stdin')
    .argument('<channel_id>', 'the channel_id printed by `chand channel open --external`')
    .argument('<file>', 'the signed PSBT or transaction, or - for stdin')
    .action(async (channelId: string, file: string, flags: ClientFlags) => {
      const content = decodeFundingFile(await readInput(file), file === '-' ? 'stdin' : file, true);
      const result = await callNode<ExternalFundingResult>(flags, 'submit_signed_funding_tx', { channel_id: channelId, ...content });
      output(flags, result, formatKeyValues);
    });
  clientCommand(channel.command('funding'))
    .description('where an externally funded open stands (with the unsigned PSBT again while it awaits a signature)')
    .argument('<channel_id>', 'the channel_id printed by `chand channel open --external`')
    .action(async (channelId: string, flags: ClientFlags) => {
      output(flags, await callNode<ExternalFundingResult>(flags, 'get_external_funding', { channel_id: channelId }), formatKeyValues);
    });
  clientCommand(channel.command('list'))
    .description('pending and open channels (and closed ones with --include-closed)')
    .option('--peer <node_id>', "only this peer's channels")
    .option('--include-closed', 'also list closed channels')
    .action(async (flags: ClientFlags & { peer?: string; includeClosed?: boolean }) => {
      const params: Record<string, unknown> = {};
      if (flags.peer !== undefined) params['peer_id'] = flags.peer;
      if (flags.includeClosed === true) params['include_closed'] = true;
      const result = await callNode<{ channels: ChannelResult[] }>(flags, 'list_channels', params);
      output(flags, result, (r) => (r.channels.length === 0 ? 'no channels' : formatTable(CHANNEL_COLUMNS, r.channels)));
    });

  clientCommand(channel.command('close'))
    .description('close a channel cooperatively (shutdown; HTLCs in flight resolve first; then the closing fee is negotiated), or with --force by broadcasting our commitment (our coins come back after the to_self_delay)')
    .argument('<channel_id>', 'the channel to close')
    .option('--address <address>', 'where our coins go (default: a new wallet address)')
    .option('--script <hex>', 'our output scriptpubkey instead of --address')
    .option('--fee-rate <sat_per_vb>', "target fee rate of the closing transaction (default: the chain's 6-block estimate)")
    .option('--force', 'broadcast our latest commitment now instead of negotiating with the peer')
    .action(async (channelId: string, flags: ClientFlags & { address?: string; script?: string; feeRate?: string; force?: boolean }) => {
      const params: Record<string, unknown> = { channel_id: channelId };
      if (flags.address !== undefined) params['close_address'] = flags.address;
      if (flags.script !== undefined) params['close_script'] = flags.script;
      if (flags.feeRate !== undefined) params['fee_rate_sat_per_vb'] = parseFeeRate(flags.feeRate);
      if (flags.force === true) params['force'] = true;
      output(flags, await callNode(flags, 'shutdown_channel', params), formatKeyValues);
    });
  clientCommand(channel.command('closed'))
    .description('channels closed and resolved on chain')
    .option('--peer <node_id>', "only this peer's channels")
    .action(async (flags: ClientFlags & { peer?: string }) => {
      const result = await callNode<{ channels: ClosedChannelResult[] }>(flags, 'list_closed_channels', flags.peer === undefined ? {} : { peer_id: flags.peer });
      output(flags, result, (r) => (r.channels.length === 0 ? 'no closed channels' : formatTable(CLOSED_COLUMNS, r.channels)));
    });

  const wallet = program.command('wallet').description("the running node's wallet (for the standalone test wallet see `chand signer`)");
  clientCommand(wallet.command('address'))
    .description('a fresh receive address')
    .action(async (flags: ClientFlags) => {
      output(flags, await callNode<{ address: string }>(flags, 'new_address'), (r) => r.address);
    });
  clientCommand(wallet.command('balance'))
    .description('confirmed, unconfirmed and reserved balance in sat')
    .action(async (flags: ClientFlags) => {
      output(flags, await callNode(flags, 'wallet_balance'), formatKeyValues);
    });

  registerPaymentCommands(program);
}

/** A whole number for a CLI flag (the node checks the range). */
function parseWhole(flag: string) {
  return (value: string): number => {
    if (!/^\d{1,15}$/.test(value)) throw new RangeError(`expected ${flag} as a whole number, got "${value}"`);
    return Number(value);
  };
}

/** An msat amount for a CLI argument, passed to the node as a decimal string. */
function parseMsat(what: string, value: string): string {
  if (!/^\d{1,25}$/.test(value)) throw new RangeError(`expected ${what} as a whole number of msat, got "${value}"`);
  return value;
}

const INVOICE_COLUMNS: readonly Column<InvoiceResult>[] = [
  { header: 'INDEX', value: (i) => String(i.add_index) },
  { header: 'PAYMENT_HASH', value: (i) => i.payment_hash },
  { header: 'STATE', value: (i) => i.state },
  { header: 'AMOUNT_MSAT', value: (i) => i.amount_msat ?? 'any' },
  { header: 'PAID_MSAT', value: (i) => i.amount_paid_msat ?? '' },
  { header: 'DESCRIPTION', value: (i) => (i.keysend ? '(keysend)' : (i.description ?? '')) },
];

const PAYMENT_COLUMNS: readonly Column<PaymentResult>[] = [
  { header: 'INDEX', value: (p) => String(p.payment_index) },
  { header: 'PAYMENT_HASH', value: (p) => p.payment_hash },
  { header: 'STATUS', value: (p) => p.status },
  { header: 'AMOUNT_MSAT', value: (p) => p.amount_msat },
  { header: 'FEE_MSAT', value: (p) => p.fee_msat },
  { header: 'DESTINATION', value: (p) => p.destination },
  { header: 'NOTE', value: (p) => p.failure_reason ?? (p.keysend ? 'keysend' : '') },
];

function paymentSummary(p: PaymentResult): string {
  const { attempts, ...rest } = p;
  return `${formatKeyValues(rest)}\nattempts: ${attempts.length}`;
}

function registerPaymentCommands(program: Command): void {
  const invoice = program.command('invoice').description("the running node's invoices (payments to it)");
  clientCommand(invoice.command('new'))
    .description('create a BOLT 11 invoice; prints it and its payment hash')
    .argument('[amount_msat]', 'the amount to ask for, in msat (leave out for an any-amount invoice)')
    .option('--description <text>', 'what the payment is for (shown to the payer)')
    .option('--description-hash <hex>', 'SHA256 of a longer description, instead of --description')
    .option('--expiry-secs <n>', 'seconds until the invoice expires (default 3600)', parseWhole('--expiry-secs'))
    .option('--min-final-cltv-expiry-delta <n>', 'blocks the last HTLC must leave us (default 18)', parseWhole('--min-final-cltv-expiry-delta'))
    .action(async (amount: string | undefined, flags: ClientFlags & { description?: string; descriptionHash?: string; expirySecs?: number; minFinalCltvExpiryDelta?: number }) => {
      const params: Record<string, unknown> = {};
      if (amount !== undefined) params['amount_msat'] = parseMsat('amount_msat', amount);
      if (flags.description !== undefined) params['description'] = flags.description;
      if (flags.descriptionHash !== undefined) params['description_hash'] = flags.descriptionHash;
      if (flags.expirySecs !== undefined) params['expiry_secs'] = flags.expirySecs;
      if (flags.minFinalCltvExpiryDelta !== undefined) params['min_final_cltv_expiry_delta'] = flags.minFinalCltvExpiryDelta;
      output(flags, await callNode<InvoiceResult>(flags, 'new_invoice', params), (r) => `${r.invoice}\npayment_hash: ${r.payment_hash}`);
    });
  clientCommand(invoice.command('get'))
    .description('one invoice by payment hash')
    .argument('<payment_hash>')
    .action(async (hash: string, flags: ClientFlags) => {
      output(flags, await callNode<InvoiceResult>(flags, 'get_invoice', { payment_hash: hash }), formatKeyValues);
    });
  clientCommand(invoice.command('cancel'))
    .description('cancel an open invoice')
    .argument('<payment_hash>')
    .action(async (hash: string, flags: ClientFlags) => {
      output(flags, await callNode<InvoiceResult>(flags, 'cancel_invoice', { payment_hash: hash }), formatKeyValues);
    });
  clientCommand(invoice.command('list'))
    .description('invoices in creation order')
    .option('--state <state>', 'only open, accepted, settled or canceled ones')
    .option('--after <index>', 'start after this add index', parseWhole('--after'))
    .option('--limit <n>', 'at most this many (default 100)', parseWhole('--limit'))
    .action(async (flags: ClientFlags & { state?: string; after?: number; limit?: number }) => {
      const params: Record<string, unknown> = {};
      if (flags.state !== undefined) params['state'] = flags.state;
      if (flags.after !== undefined) params['after_index'] = flags.after;
      if (flags.limit !== undefined) params['limit'] = flags.limit;
      const result = await callNode<{ invoices: InvoiceResult[] }>(flags, 'list_invoices', params);
      output(flags, result, (r) => (r.invoices.length === 0 ? 'no invoices' : formatTable(INVOICE_COLUMNS, r.invoices)));
    });
  clientCommand(invoice.command('parse'))
    .description('decode and check a BOLT 11 invoice without paying it')
    .argument('<invoice>')
    .action(async (text: string, flags: ClientFlags) => {
      output(flags, await callNode(flags, 'parse_invoice', { invoice: text }), formatKeyValues);
    });

  clientCommand(program.command('pay'))
    .description('pay a BOLT 11 invoice, or (with --keysend) a node directly; waits for the outcome')
    .argument('<invoice_or_node_id>', 'the invoice, or with --keysend the node id to pay')
    .argument('[amount_msat]', 'the amount in msat: required with --keysend or for an any-amount invoice')
    .option('--keysend', 'pay the node id given without an invoice (the preimage travels in the onion)')
    .option('--amount-msat <n>', 'the amount for an invoice that names none')
    .option('--no-wait', 'return once the HTLC is sent instead of waiting for the outcome')
    .option('--timeout-secs <n>', 'how long to wait for the outcome (default 60)', parseWhole('--timeout-secs'))
    .action(async (target: string, amount: string | undefined, flags: ClientFlags & { keysend?: boolean; amountMsat?: string; wait?: boolean; timeoutSecs?: number }) => {
      const params: Record<string, unknown> = {};
      const amountMsat = amount ?? flags.amountMsat;
      if (flags.keysend === true) {
        if (amountMsat === undefined) throw new RangeError('expected an amount in msat after the node id for --keysend');
        params['keysend'] = true;
        params['target_pubkey'] = target;
      } else {
        params['invoice'] = target;
      }
      if (amountMsat !== undefined) params['amount_msat'] = parseMsat('amount_msat', amountMsat);
      if (flags.wait === false) params['no_wait'] = true;
      if (flags.timeoutSecs !== undefined) params['timeout_secs'] = flags.timeoutSecs;
      output(flags, await callNode<PaymentResult>(flags, 'send_payment', params), paymentSummary);
    });

  const payment = program.command('payment').description("the running node's outgoing payments");
  clientCommand(payment.command('get'))
    .description('one payment by payment hash, with the preimage once paid')
    .argument('<payment_hash>')
    .action(async (hash: string, flags: ClientFlags) => {
      output(flags, await callNode<PaymentResult>(flags, 'get_payment', { payment_hash: hash }), paymentSummary);
    });
  clientCommand(payment.command('list'))
    .description('payments in creation order')
    .option('--after <index>', 'start after this payment index', parseWhole('--after'))
    .option('--limit <n>', 'at most this many (default 100)', parseWhole('--limit'))
    .action(async (flags: ClientFlags & { after?: number; limit?: number }) => {
      const params: Record<string, unknown> = {};
      if (flags.after !== undefined) params['after_index'] = flags.after;
      if (flags.limit !== undefined) params['limit'] = flags.limit;
      const result = await callNode<{ payments: PaymentResult[] }>(flags, 'list_payments', params);
      output(flags, result, (r) => (r.payments.length === 0 ? 'no payments' : formatTable(PAYMENT_COLUMNS, r.payments)));
    });
}
