/**
 * The node's answers to the invoice and payment methods (src/rpc/api.ts PaymentsApi), in
 * docs/rpc.md's formats: msat amounts as decimal strings, times in UNIX ms, hex ids.
 */
import type { Network } from '../bitcoin/network.js';
import { bytesToHex } from '../codec/bytes.js';
import { ChandError, ErrorCode } from '../errors.js';
import { decodeInvoice, invoiceExpiresAt } from '../invoice/index.js';
import type { InvoiceRegistry } from '../htlcswitch/invoice-registry.js';
import type { PaymentSender } from '../htlcswitch/payment-sender.js';
import type { InvoiceStore, PaymentStore } from '../payments/store.js';
import type { Invoice, Payment } from '../payments/types.js';
import type {
  InvoiceResult,
  NewInvoiceParams,
  ParsedInvoiceResult,
  PaymentResult,
  PaymentsApi,
  SendPaymentParams,
} from '../rpc/api.js';

/** Default wait of send_payment for the outcome. */
const DEFAULT_PAYMENT_WAIT_MS = 60_000;
/** Default page of the list methods. */
const DEFAULT_PAGE = 100;

export interface PaymentsApiDeps {
  readonly network: Network;
  readonly registry: InvoiceRegistry;
  readonly sender: PaymentSender;
  readonly invoices: InvoiceStore;
  readonly payments: PaymentStore;
  readonly now: () => number;
}

export function invoiceResult(inv: Invoice): InvoiceResult {
  return {
    payment_hash: inv.paymentHash,
    invoice: inv.encoded,
    state: inv.state,
    ...(inv.amountMsat !== undefined ? { amount_msat: inv.amountMsat.toString() } : {}),
    ...(inv.description !== undefined ? { description: inv.description } : {}),
    ...(inv.descriptionHash !== undefined ? { description_hash: inv.descriptionHash } : {}),
    created_at_ms: inv.createdAtMs,
    expires_at_ms: inv.expiresAtMs,
    keysend: inv.keysend,
    add_index: inv.addIndex,
    settle_index: inv.settleIndex,
    ...(inv.state === 'settled'
      ? { settled_at_ms: inv.settledAtMs, amount_paid_msat: inv.amountPaidMsat.toString(), preimage: bytesToHex(inv.preimage) }
      : {}),
  };
}

export function paymentResult(p: Payment): PaymentResult {
  return {
    payment_hash: p.paymentHash,
    status: p.status,
    amount_msat: p.amountMsat.toString(),
    fee_msat: p.feeMsat.toString(),
    destination: p.destination,
    ...(p.invoice !== '' ? { invoice: p.invoice } : {}),
    keysend: p.keysend,
    created_at_ms: p.createdAtMs,
    payment_index: p.paymentIndex,
    ...(p.resolvedAtMs > 0 ? { resolved_at_ms: p.resolvedAtMs } : {}),
    ...(p.preimage !== undefined ? { preimage: bytesToHex(p.preimage) } : {}),
    ...(p.failureReason !== undefined ? { failure_reason: p.failureReason } : {}),
    attempts: p.attempts.map((a) => ({
      attempt_id: a.attemptId,
      channel_id: a.channelId,
      htlc_id: a.htlcId,
      amount_msat: a.amountMsat.toString(),
      status: a.status,
      started_at_ms: a.startedAtMs,
      ...(a.resolvedAtMs > 0 ? { resolved_at_ms: a.resolvedAtMs } : {}),
      ...(a.failure !== undefined ? { failure: a.failure } : {}),
    })),
  };
}

export class NodePaymentsApi implements PaymentsApi {
  readonly #d: PaymentsApiDeps;

  constructor(deps: PaymentsApiDeps) {
    this.#d = deps;
  }

  async newInvoice(params: NewInvoiceParams): Promise<InvoiceResult> {
    const invoice = await this.#d.registry.newInvoice({
      ...(params.amount_msat !== undefined ? { amountMsat: params.amount_msat } : {}),
      ...(params.description !== undefined ? { description: params.description } : {}),
      ...(params.description_hash !== undefined ? { descriptionHash: params.description_hash } : {}),
      ...(params.expiry_secs !== undefined ? { expirySecs: params.expiry_secs } : {}),
      ...(params.min_final_cltv_expiry_delta !== undefined ? { minFinalCltvExpiryDelta: params.min_final_cltv_expiry_delta } : {}),
    });
    return invoiceResult(invoice);
  }

  async parseInvoice(params: { readonly invoice: string }): Promise<ParsedInvoiceResult> {
    const inv = decodeInvoice(params.invoice.trim(), { network: this.#d.network });
    const expiresAtMs = invoiceExpiresAt(inv) * 1000;
    const bits: number[] = [];
    for (let bit = 0; bit < 256; bit++) if (inv.features.has(bit)) bits.push(bit);
    return {
      network: inv.network,
      payment_hash: inv.paymentHash,
      payment_secret: inv.paymentSecret,
      payee: inv.payeeNodeId,
      ...(inv.amountMsat !== undefined ? { amount_msat: inv.amountMsat.toString() } : {}),
      ...(inv.description !== undefined ? { description: inv.description } : {}),
      ...(inv.descriptionHash !== undefined ? { description_hash: inv.descriptionHash } : {}),
      created_at_ms: inv.timestamp * 1000,
      expires_at_ms: expiresAtMs,
      expired: this.#d.now() > expiresAtMs,
      min_final_cltv_expiry_delta: inv.minFinalCltvExpiry,
      features: bits,
      route_hints: inv.routeHints.length,
    };
  }

  async getInvoice(params: { readonly payment_hash: string }): Promise<InvoiceResult> {
    return invoiceResult(await this.#d.invoices.fetchInvoice(params.payment_hash));
  }

  async cancelInvoice(params: { readonly payment_hash: string }): Promise<InvoiceResult> {
    return invoiceResult(await this.#d.invoices.cancelInvoice(params.payment_hash));
  }

  async listInvoices(params: { readonly after_index?: number; readonly limit?: number; readonly state?: InvoiceResult['state'] }): Promise<readonly InvoiceResult[]> {
    const list = await this.#d.invoices.listInvoices({
      afterIndex: params.after_index ?? 0,
      limit: params.limit ?? DEFAULT_PAGE,
      ...(params.state !== undefined ? { state: params.state } : {}),
    });
    return list.map(invoiceResult);
  }

  async sendPayment(params: SendPaymentParams): Promise<PaymentResult> {
    const route = params.route?.map((h) => ({ pubkey: h.pubkey, shortChannelId: h.short_channel_id, feeMsat: h.fee_msat, cltvExpiryDelta: h.cltv_expiry_delta }));
    const withRoute = route !== undefined ? { route } : {};
    const started =
      params.invoice !== undefined
        ? await this.#d.sender.pay({ invoice: params.invoice.trim(), ...(params.amount_msat !== undefined ? { amountMsat: params.amount_msat } : {}), ...withRoute })
        : await this.#d.sender.pay({ keysend: true, destination: params.target_pubkey!, amountMsat: params.amount_msat!, ...withRoute });
    if (params.no_wait === true) return paymentResult(started.payment);
    const waitMs = params.timeout_secs !== undefined ? params.timeout_secs * 1000 : DEFAULT_PAYMENT_WAIT_MS;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), waitMs);
    });
    const done = await Promise.race([started.done, timeout]);
    clearTimeout(timer);
    const payment = done ?? (await this.#d.payments.fetchPayment(started.payment.paymentHash));
    if (payment.status === 'failed') {
      const reason = payment.failureReason ?? 'no reason recorded';
      // data carries the reason and the hash (a ChandError's plain fields go to the RPC data).
      throw Object.assign(new ChandError(ErrorCode.PAYMENT_FAILED, `the payment failed: ${reason}`), { reason, payment_hash: payment.paymentHash });
    }
    return paymentResult(payment);
  }

  async getPayment(params: { readonly payment_hash: string }): Promise<PaymentResult> {
    return paymentResult(await this.#d.payments.fetchPayment(params.payment_hash));
  }

  async listPayments(params: { readonly after_index?: number; readonly limit?: number }): Promise<readonly PaymentResult[]> {
    const list = await this.#d.payments.listPayments({ afterIndex: params.after_index ?? 0, limit: params.limit ?? DEFAULT_PAGE });
    return list.map(paymentResult);
  }
}
