/**
 * BOLT 11's human-readable part: `ln` + currency prefix + optional amount with an optional
 * multiplier (m, u, n, p of a bitcoin). Internal to src/invoice.
 */
import type { Network } from '../bitcoin/network.js';
import { MAX_U64 } from '../codec/bigsize.js';
import { InvoiceError } from './errors.js';

/** The invoice prefix of each network; testnet4 shares testnet's (as its addresses share `tb`). */
export const INVOICE_PREFIXES: Readonly<Record<Network, string>> = Object.freeze({
  mainnet: 'lnbc',
  testnet: 'lntb',
  testnet4: 'lntb',
  signet: 'lntbs',
  regtest: 'lnbcrt',
});

/** Known prefixes, longest first, so `lnbcrt` is not read as `lnbc` + amount. */
const PREFIX_NETWORKS: readonly (readonly [string, Network])[] = [
  ['lnbcrt', 'regtest'],
  ['lntbs', 'signet'],
  ['lnbc', 'mainnet'],
  ['lntb', 'testnet'],
];

/** Millisatoshis per amount unit of each multiplier ('' = one bitcoin); `p` is a tenth of a msat. */
const MSAT_PER_UNIT: readonly (readonly [string, bigint])[] = [
  ['', 100_000_000_000n],
  ['m', 100_000_000n],
  ['u', 100_000n],
  ['n', 100n],
];

/** More digits than this are above 2^64-1 msat with any multiplier (checked before BigInt work). */
const MAX_AMOUNT_DIGITS = 22;

/** The network and amount of a (lowercase) hrp. InvoiceError UNKNOWN_PREFIX / BAD_AMOUNT / SUB_MSAT_AMOUNT. */
export function parseHrp(hrp: string): { network: Network; amountMsat: bigint | undefined } {
  const match = PREFIX_NETWORKS.find(([prefix]) => hrp.startsWith(prefix) && /^(?:$|[0-9])/.test(hrp.slice(prefix.length)));
  if (match === undefined) throw new InvoiceError('UNKNOWN_PREFIX', `unknown invoice prefix in "${hrp.slice(0, 16)}"`);
  const [prefix, network] = match;
  const amount = hrp.slice(prefix.length);
  if (amount === '') return { network, amountMsat: undefined };
  const m = /^([0-9]+)([munp]?)$/.exec(amount);
  if (m === null) throw new InvoiceError('BAD_AMOUNT', `amount "${amount.slice(0, 32)}" is not digits followed by an optional multiplier m, u, n or p`);
  const digits = m[1]!;
  const multiplier = m[2]!;
  if (digits.startsWith('0')) throw new InvoiceError('BAD_AMOUNT', `amount "${amount.slice(0, 32)}" has a leading zero (or is zero)`);
  if (digits.length > MAX_AMOUNT_DIGITS) throw new InvoiceError('BAD_AMOUNT', `amount has ${digits.length} digits, above 2^64-1 msat`);
  let msat: bigint;
  if (multiplier === 'p') {
    if (!digits.endsWith('0')) throw new InvoiceError('SUB_MSAT_AMOUNT', `amount ${digits}p is not a whole number of millisatoshis`);
    msat = BigInt(digits) / 10n;
  } else {
    msat = BigInt(digits) * MSAT_PER_UNIT.find(([unit]) => unit === multiplier)![1];
  }
  if (msat > MAX_U64) throw new InvoiceError('BAD_AMOUNT', `amount ${amount} is above 2^64-1 msat`);
  return { network, amountMsat: msat };
}

/**
 * The hrp for `network` and `amountMsat` (none: any amount), with the shortest amount: the
 * largest multiplier that divides it, `p` only for amounts that are not whole nanobitcoins.
 */
export function formatHrp(network: Network, amountMsat: bigint | undefined): string {
  const prefix = INVOICE_PREFIXES[network];
  if (amountMsat === undefined) return prefix;
  for (const [unit, per] of MSAT_PER_UNIT) {
    if (amountMsat % per === 0n) return `${prefix}${amountMsat / per}${unit}`;
  }
  return `${prefix}${amountMsat * 10n}p`;
}
