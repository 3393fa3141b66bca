/** On-chain resolution of a closed channel: classify the funding spend, then resolve it step by step (BOLT 5). */
export { assertSpendsFunding, classifySpend, revealedSecret, type CloseKind } from './classify.js';
export type { ClaimPlan, Contract, CourtKeys, HtlcRef, OutputKind } from './contracts.js';
export {
  DEFAULT_FINAL_DEPTH,
  resolveClose,
  type BroadcastTx,
  type PendingOutput,
  type ResolverDeps,
  type ResolverInput,
  type ResolverReport,
  type WaitingFor,
} from './resolver.js';
