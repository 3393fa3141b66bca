/**
 * The deterministic operation sequence of the crash test, shared by the writer process and
 * the verifying test: op 3r+1 appends round r+1's remote commitment, op 3r+2 advances the
 * tail, op 3r+3 updates our local commitment. `expectedAfter(k)` is what the store must
 * hold after exactly k operations.
 */
import { makeChannel, modelOf, planRound, type ChannelModel, type RoundPlan } from '../../src/testing/fixtures.js';
import type { ChannelCommitment, CommitDiff, LogUpdate, OpenChannel, RemoteRevocationState } from '../../src/chanstate/types.js';

export const CHANNEL: OpenChannel = makeChannel(7, { lastWasRevoke: true });

/** Round specs vary HTLC counts and updates so records change shape from round to round. */
const specOf = (round: number) => ({ ourAdds: round % 2, remoteAdds: 1, settle: [], htlcs: 1 + (round % 4), dust: round % 2 });

/** Incrementally extended list of models and plans (models[r] = state after r rounds). */
export class CrashModel {
  private readonly models: ChannelModel[] = [modelOf(CHANNEL)];
  private readonly plans: RoundPlan[] = [];

  private ensure(round: number): void {
    while (this.plans.length <= round) {
      const r = this.plans.length;
      const plan = planRound(this.models[r]!, specOf(r + 1));
      this.plans.push(plan);
      this.models.push(plan.next);
    }
  }

  /** The model after `rounds` complete rounds, and the plan of the next round. */
  at(rounds: number): { model: ChannelModel; plan: RoundPlan } {
    this.ensure(rounds);
    return { model: this.models[rounds]!, plan: this.plans[rounds]! };
  }

  /** What the store holds after exactly `ops` operations. */
  expectedAfter(ops: number): Snapshot {
    const { model, plan } = this.at(Math.floor(ops / 3));
    const base: Snapshot = {
      local: model.local,
      remote: model.remote,
      tip: null,
      lastWasRevoke: model.lastWasRevoke,
      tail: model.revocationLog.at(-1)?.commitHeight ?? null,
      revocation: model.revocation,
      unsignedAcked: [...model.unsignedAcked],
      remoteUnsignedLocal: [...model.remoteUnsignedLocal],
      fwdPkgs: model.fwdPkgs.length,
    };
    switch (ops % 3) {
      case 0:
        return base;
      case 1:
        return { ...base, tip: plan.tip, lastWasRevoke: false };
      default:
        return {
          ...base,
          remote: plan.next.remote,
          lastWasRevoke: false,
          tail: plan.revokedHeight,
          revocation: plan.advance.revocation,
          unsignedAcked: [...plan.unsignedAckedAfterAdvance],
          remoteUnsignedLocal: [...plan.advance.remoteUnsignedLocalUpdates],
          fwdPkgs: model.fwdPkgs.length + 1,
        };
    }
  }
}

/** Everything the commitment lifecycle changes, as read back from a store. */
export interface Snapshot {
  readonly local: ChannelCommitment;
  readonly remote: ChannelCommitment;
  readonly tip: CommitDiff | null;
  readonly lastWasRevoke: boolean;
  readonly tail: number | null;
  readonly revocation: RemoteRevocationState;
  readonly unsignedAcked: LogUpdate[];
  readonly remoteUnsignedLocal: LogUpdate[];
  readonly fwdPkgs: number;
}
