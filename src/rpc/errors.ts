/**
 * JSON-RPC error codes of chand, in ONE table (`RPC_ERROR_CODES`), and the error shapes the
 * server sends and the client reads.
 *
 * Every error response carries `data.code`, a stable chand `ErrorCode` (docs/errors.md); the
 * numeric JSON-RPC `code` is grouped by family so a generic JSON-RPC client can still tell
 * classes of failures apart:
 *
 *   -32700, -32600..-32603  JSON-RPC 2.0's own (parse error, invalid request, method not
 *                           found, invalid params, internal error)
 *   -32000                  any ChandError without an entry of its own
 *   -32001..-32009          the RPC edge (authentication, body limit)
 *   -32010..-32029          peers and transport
 *   -32030..-32049          channels and their funding flows
 *   -32050..-32069          funds, PSBTs, transactions and chain access
 *   -32070..-32079          storage
 *   -32080..-32099          reserved: invoices and payments
 *
 * Numbers never change meaning once published; adding an entry is fine. docs/rpc.md repeats
 * the table and test/rpc/docs.test.ts keeps the two equal.
 */
import { ChandError, ErrorCode } from '../errors.js';

/** JSON-RPC 2.0's reserved codes, plus chand's default for a ChandError without its own entry. */
export const JsonRpcCode = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
  /** A ChandError whose code has no entry in RPC_ERROR_CODES. */
  SERVER_ERROR: -32000,
} as const;

/**
 * The JSON-RPC code of each chand error code that an RPC call can return. A ChandError whose
 * code is not here is sent as -32000 (its `data.code` still names it exactly).
 */
export const RPC_ERROR_CODES: { readonly [C in ErrorCode]?: number } = {
  // JSON-RPC 2.0's own (parse errors, -32700, also carry RPC_INVALID_REQUEST)
  [ErrorCode.RPC_INVALID_REQUEST]: JsonRpcCode.INVALID_REQUEST,
  [ErrorCode.RPC_METHOD_NOT_FOUND]: JsonRpcCode.METHOD_NOT_FOUND,
  [ErrorCode.INVALID_PARAMS]: JsonRpcCode.INVALID_PARAMS,
  [ErrorCode.RPC_INTERNAL_ERROR]: JsonRpcCode.INTERNAL_ERROR,
  // -32001..-32009: the RPC edge
  [ErrorCode.RPC_UNAUTHORIZED]: -32001,
  [ErrorCode.RPC_BODY_TOO_LARGE]: -32002,
  // -32010..-32029: peers and transport
  [ErrorCode.PEER_NOT_CONNECTED]: -32010,
  [ErrorCode.PEER_CONNECT_FAILED]: -32011,
  [ErrorCode.PEER_ADDRESS_INVALID]: -32012,
  [ErrorCode.PEER_HANDSHAKE_TIMEOUT]: -32013,
  [ErrorCode.PEER_INIT_TIMEOUT]: -32014,
  [ErrorCode.NOISE_HANDSHAKE_FAILED]: -32015,
  [ErrorCode.PEER_FEATURES_INCOMPATIBLE]: -32016,
  [ErrorCode.PEER_CHAIN_MISMATCH]: -32017,
  [ErrorCode.PEER_CONNECTION_CLOSED]: -32018,
  [ErrorCode.PEER_MANAGER_STOPPED]: -32019,
  [ErrorCode.PEER_REPLACED]: -32020,
  [ErrorCode.PEER_PING_TIMEOUT]: -32021,
  [ErrorCode.PEER_PROTOCOL_VIOLATION]: -32022,
  // -32030..-32049: channels and their funding flows
  [ErrorCode.CHANNEL_NOT_FOUND]: -32030,
  [ErrorCode.CHANNEL_ALREADY_EXISTS]: -32031,
  [ErrorCode.CHANNEL_BORKED]: -32032,
  [ErrorCode.CHANNEL_RESTORED]: -32033,
  [ErrorCode.CLOSED_CHANNEL_NOT_FOUND]: -32034,
  [ErrorCode.EXTERNAL_FUNDING_NOT_FOUND]: -32035,
  [ErrorCode.EXTERNAL_FUNDING_CONFLICT]: -32036,
  [ErrorCode.EXTERNAL_FUNDING_SUBMITTED]: -32037,
  [ErrorCode.EXTERNAL_FUNDING_NOT_EXPIRED]: -32038,
  [ErrorCode.CHANNEL_NO_SCID]: -32039,
  [ErrorCode.EXTERNAL_FUNDING_EXPIRED]: -32040,
  [ErrorCode.CHANNEL_OPEN_FAILED]: -32041,
  // -32050..-32069: funds, PSBTs, transactions and chain access
  [ErrorCode.INSUFFICIENT_FUNDS]: -32050,
  [ErrorCode.PSBT_INVALID]: -32051,
  [ErrorCode.PSBT_TXID_MISMATCH]: -32052,
  [ErrorCode.PSBT_OUTPUTS_MISMATCH]: -32053,
  [ErrorCode.PSBT_NOT_FINALIZED]: -32054,
  [ErrorCode.SIGNATURE_INVALID]: -32055,
  [ErrorCode.TX_REJECTED]: -32056,
  [ErrorCode.CHAIN_UNREACHABLE]: -32060,
  [ErrorCode.CHAIN_TIMEOUT]: -32061,
  [ErrorCode.CHAIN_BAD_RESPONSE]: -32062,
  // -32070..-32079: storage
  [ErrorCode.DB_UNAVAILABLE]: -32070,
  [ErrorCode.DB_COMMIT_UNKNOWN]: -32071,
  [ErrorCode.DISK_FULL]: -32072,
  [ErrorCode.STORE_CLOSED]: -32073,
  [ErrorCode.DB_CORRUPT]: -32074,
  [ErrorCode.DB_SERIALIZATION_RETRIES_EXHAUSTED]: -32075,
  [ErrorCode.INVOICE_NOT_FOUND]: -32080,
  [ErrorCode.INVOICE_EXISTS]: -32081,
  [ErrorCode.INVOICE_NOT_OPEN]: -32082,
  [ErrorCode.INVOICE_ALREADY_SETTLED]: -32083,
  [ErrorCode.INVOICE_EXPIRED]: -32084,
  [ErrorCode.INVOICE_AMOUNT_MISMATCH]: -32085,
  [ErrorCode.INVOICE_INVALID]: -32086,
  [ErrorCode.INVOICE_NETWORK_MISMATCH]: -32087,
  [ErrorCode.INVOICE_SIGNATURE_INVALID]: -32088,
  [ErrorCode.INVOICE_FEATURES_UNSUPPORTED]: -32089,
  [ErrorCode.PAYMENT_NOT_FOUND]: -32090,
  [ErrorCode.PAYMENT_IN_FLIGHT]: -32091,
  [ErrorCode.PAYMENT_ALREADY_SUCCEEDED]: -32092,
  [ErrorCode.PAYMENT_FAILED]: -32093,
  [ErrorCode.NO_ROUTE]: -32094,
  [ErrorCode.CHANNEL_NOT_ACTIVE]: -32095,
  [ErrorCode.HTLC_REFUSED]: -32096,
};

/** The `error` member of a JSON-RPC response. `data.code` is always a chand ErrorCode. */
export interface JsonRpcErrorObject {
  readonly code: number;
  readonly message: string;
  readonly data: { readonly code: string; readonly [detail: string]: unknown };
}

/** The JSON-RPC code for a chand error code (-32000 when the table has no entry). */
export function rpcCodeOf(code: ErrorCode): number {
  return RPC_ERROR_CODES[code] ?? JsonRpcCode.SERVER_ERROR;
}

/** Own fields of an error that are never copied into `data`, whatever their value. */
const NOT_DETAILS = new Set(['name', 'message', 'stack', 'cause', 'code']);
/** Field names that could hold a secret; never copied into `data` (defence in depth: errors should not hold secrets at all). */
const SECRET_LIKE = /secret|key|seed|mnemonic|preimage|token|password|passphrase/i;

/**
 * The JSON-RPC error for a ChandError: its table code, its message, and `data` = `{code}`
 * plus the error's own primitive fields (e.g. `reason`, `field`), camelCase names turned into
 * snake_case. Objects, arrays, the cause and the stack are never included.
 */
export function rpcErrorOf(err: ChandError): JsonRpcErrorObject {
  const data: Record<string, unknown> = { code: err.code };
  for (const [name, value] of Object.entries(err)) {
    if (NOT_DETAILS.has(name) || SECRET_LIKE.test(name)) continue;
    const snake = name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    if (typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) data[snake] = value;
    else if (typeof value === 'bigint') data[snake] = value.toString();
  }
  return { code: rpcCodeOf(err.code), message: err.message, data: data as JsonRpcErrorObject['data'] };
}

/**
 * Params that do not match a method's schema (code INVALID_PARAMS, JSON-RPC -32602). `field`
 * is the param's path below `params` (`funding_amount_sat`, `utxos[0].txid`), or `""` when the
 * params as a whole are wrong. The message starts with `params.<field>: `.
 */
export class InvalidParamsError extends ChandError {
  override readonly name = 'InvalidParamsError';
  /** Path of the offending param below `params`; empty for the params object itself. */
  readonly field: string;

  /** `where` is the path the message starts with (default `field`), e.g. the object holding unknown params. */
  constructor(field: string, problem: string, where: string = field) {
    super(ErrorCode.INVALID_PARAMS, `${where === '' ? 'params' : `params.${where}`}: ${problem}`);
    this.field = field;
  }
}

/**
 * An error the node answered a call with, as RpcClient throws it: `code` is the response's
 * `data.code` when it is a chand ErrorCode this build knows, else RPC_ERROR; `rpcCode`, the
 * message and `data` are the response's own.
 */
export class RpcCallError extends ChandError {
  override readonly name = 'RpcCallError';
  /** The numeric JSON-RPC error code. */
  readonly rpcCode: number;
  /** The error's `data` member as sent (undefined when absent). */
  readonly data: unknown;

  constructor(code: ErrorCode, rpcCode: number, message: string, data: unknown) {
    super(code, message);
    this.rpcCode = rpcCode;
    this.data = data;
  }
}

/** True if `value` is one of this build's ErrorCodes. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ErrorCode, value) && (ErrorCode as Record<string, string>)[value] === value;
}
