/**
 * The public edge of the coordinator: validates every argument once and hands the call to
 * a backend (see src/chanstate/checked-store.ts for the pattern).
 */
import * as v from '../chanstate/validate.js';
import { checked } from '../chanstate/validate.js';
import type { ChannelShell, OpenChannel, OutPoint } from '../chanstate/types.js';
import { assertPeerAddress } from '../linknode/store.js';
import type { Coordinator } from './coordinator.js';


/** A Coordinator that validates arguments, then delegates to `backend`. */
export class CheckedCoordinator implements Coordinator {
  constructor(private readonly backend: Coordinator) {}

  syncPendingChannel(channel: OpenChannel, address: string | undefined, pendingHeight: number): Promise<void> {
    return checked(
      () => (v.openChannel(channel), address === undefined || assertPeerAddress(address), v.uint(pendingHeight, 32, 'pendingHeight')),
      () => this.backend.syncPendingChannel(channel, address, pendingHeight),
    );
  }
  restoreChannelShells(shells: readonly ChannelShell[]): Promise<void> {
    return checked(() => v.channelShells(shells), () => this.backend.restoreChannelShells(shells));
  }
  markChannelFullyClosed(chanPoint: OutPoint): Promise<void> {
    return checked(() => v.outPoint(chanPoint), () => this.backend.markChannelFullyClosed(chanPoint));
  }
  pruneLinkNodes(): Promise<number> {
    return this.backend.pruneLinkNodes();
  }
  repairLinkNodes(): Promise<number> {
    return this.backend.repairLinkNodes();
  }
}
