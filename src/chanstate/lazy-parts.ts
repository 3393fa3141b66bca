/**
 * Channels with parts decoded on first access, for scans that return thousands of channels at
 * start (fetchAllChannels and the other listings): the scan reads every stored part inside
 * its transaction — so what it returns is one consistent snapshot, and damaged bytes are
 * found then (the backends verify checksums as they read) — but turns the bulky parts
 * (commitments with their HTLCs, the revealed secrets, channel configs) into objects only
 * when a caller touches them. A listing that looks at a channel's identity and status never
 * pays for its commitments.
 *
 * To a caller the result is an ordinary object: each lazy part is an enumerable own
 * property whose getter decodes it once and then becomes a plain data property, so reads,
 * spreads, Object.keys, JSON and deep equality all see the decoded values. A part that fails
 * to decode throws (a DecodeError, DECODE_FAILED) from the access.
 */

import type { ChannelCommitment, ChannelConfig, ExternalFundingState, OpenChannel, RemoteRevocationState } from './types.js';

/**
 * How a backend decodes the bulky parts of a listed channel from what its scan read
 * (`source`): one table per backend, so that listing a channel makes no closure per part.
 */
export interface ChannelPartDecoders<S> {
  localConfig(source: S): ChannelConfig;
  remoteConfig(source: S): ChannelConfig;
  localCommitment(source: S): ChannelCommitment;
  remoteCommitment(source: S): ChannelCommitment;
  remoteRevocation(source: S): RemoteRevocationState;
  externalFunding(source: S): ExternalFundingState;
}

/** The fields of an OpenChannel a listing decodes at once. */
export type EagerChannelFields = Omit<OpenChannel, 'localConfig' | 'remoteConfig' | 'localCommitment' | 'remoteCommitment' | 'remoteRevocation' | 'externalFunding'>;

function settle<T>(self: object, name: string, value: T): T {
  Object.defineProperty(self, name, { value, enumerable: true, configurable: true, writable: true });
  return value;
}

/**
 * An OpenChannel from a listing scan: `eager` as given; configs, commitments, revocation
 * state and (with `hasExternalFunding`) external funding decoded from `source` on first
 * access (literal accessors: a listing of thousands of channels pays a fraction of what
 * defining each property would cost).
 */
export function listedChannel<S>(eager: EagerChannelFields, source: S, decode: ChannelPartDecoders<S>, hasExternalFunding: boolean): OpenChannel {
  const channel = {
    ...eager,
    get localConfig() {
      return settle(this, 'localConfig', decode.localConfig(source));
    },
    set localConfig(value: ChannelConfig) {
      settle(this, 'localConfig', value);
    },
    get remoteConfig() {
      return settle(this, 'remoteConfig', decode.remoteConfig(source));
    },
    set remoteConfig(value: ChannelConfig) {
      settle(this, 'remoteConfig', value);
    },
    get localCommitment() {
      return settle(this, 'localCommitment', decode.localCommitment(source));
    },
    set localCommitment(value: ChannelCommitment) {
      settle(this, 'localCommitment', value);
    },
    get remoteCommitment() {
      return settle(this, 'remoteCommitment', decode.remoteCommitment(source));
    },
    set remoteCommitment(value: ChannelCommitment) {
      settle(this, 'remoteCommitment', value);
    },
    get remoteRevocation() {
      return settle(this, 'remoteRevocation', decode.remoteRevocation(source));
    },
    set remoteRevocation(value: RemoteRevocationState) {
      settle(this, 'remoteRevocation', value);
    },
  };
  if (!hasExternalFunding) return channel;
  return Object.defineProperty(channel, 'externalFunding', {
    enumerable: true,
    configurable: true,
    get() {
      return settle(channel, 'externalFunding', decode.externalFunding(source));
    },
    set(value: ExternalFundingState) {
      settle(channel, 'externalFunding', value);
    },
  }) as OpenChannel;
}
