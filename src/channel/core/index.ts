/**
 * The pure BOLT 2 normal-operation core of a channel: `step(state, event) -> { state, effects }`.
 * The actor (channel-actor.ts) runs the effects in order, awaiting each persist before the
 * next send. See step.ts for the design.
 */
export { BADONION, MAX_CLTV_EXPIRY, canSendUpdates, coreFromStore, coreSummary, nextHtlcId, nextReestablish, step } from './step.js';
export type {
  CoreEffect,
  CoreEvent,
  CoreOptions,
  CoreResult,
  CoreSigner,
  CoreState,
  CoreSummary,
  HtlcSummary,
  LogEntry,
  StoredChannelView,
  UpdateMessage,
} from './types.js';
