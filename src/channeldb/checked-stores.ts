/**
 * The three stores of a channel database behind the public edge that validates every
 * argument once (chanstate/checked-store.ts), so backends implement storage only. Shared by
 * both composition roots (open.ts for Node, open-browser.ts for browsers); imports no Node
 * module.
 */
import { CheckedChannelStateStore } from '../chanstate/checked-store.js';
import type { ChannelStateStore } from '../chanstate/store.js';
import { CheckedCoordinator } from '../channelcoord/checked-coordinator.js';
import type { Coordinator } from '../channelcoord/coordinator.js';
import { CheckedLinkNodeStore } from '../linknode/checked-store.js';
import type { LinkNodeStore } from '../linknode/store.js';
import { CheckedInvoiceStore, CheckedPaymentStore } from '../payments/checked-store.js';
import type { InvoiceStore, PaymentStore, PaymentStores } from '../payments/store.js';

/** The three stores every channel database hands out. */
export interface ChannelStores {
  readonly channelState: ChannelStateStore;
  readonly linkNodes: LinkNodeStore;
  readonly coordinator: Coordinator;
}

/** A backend's three stores, each wrapped in its checked public edge. */
export function checkedStores(channelState: ChannelStateStore, linkNodes: LinkNodeStore, coordinator: Coordinator): ChannelStores {
  return {
    channelState: new CheckedChannelStateStore(channelState),
    linkNodes: new CheckedLinkNodeStore(linkNodes),
    coordinator: new CheckedCoordinator(coordinator),
  };
}

/** A backend's payment stores (invoices, outgoing payments), each wrapped in its checked public edge. */
export function checkedPaymentStores(invoices: InvoiceStore, payments: PaymentStore): PaymentStores {
  return { invoices: new CheckedInvoiceStore(invoices), payments: new CheckedPaymentStore(payments) };
}
