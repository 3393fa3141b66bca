/**
 * BOLT 4's JSON test vectors (specs/bolts/bolt04/), read from the spec files, plus the
 * "Returning Errors" trace of 04-onion-routing.md's Test Vector section, parsed from the text.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hexToBytes } from '../../../src/codec/bytes.js';

const SPECS = join(import.meta.dirname, '..', '..', '..', '..', 'shared', 'specs', 'bolts');

interface OnionTestJson {
  generate: { session_key: string; associated_data: string; hops: { pubkey: string; payload: string }[] };
  onion: string;
  decode: string[];
}

interface OnionErrorTestJson {
  generate: {
    session_key: string;
    failure_message: string;
    hops: { pubkey: string; hop_shared_secret: string; ammag_key: string; um_key?: string; payload?: string }[];
  };
  errorpacket: string;
}

/** onion-test.json. */
export const onionTest = JSON.parse(readFileSync(join(SPECS, 'bolt04', 'onion-test.json'), 'utf8')) as OnionTestJson;
/** onion-error-test.json. */
export const onionErrorTest = JSON.parse(readFileSync(join(SPECS, 'bolt04', 'onion-error-test.json'), 'utf8')) as OnionErrorTestJson;

/** One "forwarding error packet" step of the markdown trace. */
export interface TraceStep {
  sharedSecret: string;
  ammagKey: string;
  stream: string;
  errorPacket: string;
}

/** The markdown "Returning Errors" trace: failure creation at node 4, then one step per hop back. */
export interface ErrorTrace {
  encodedFailureMessage: string;
  sharedSecret: string;
  payload: string;
  umKey: string;
  rawErrorPacket: string;
  steps: TraceStep[];
}

function field(block: string, name: string): string {
  const m = new RegExp(`^\\s*${name}\\s*[=:]\\s*([0-9a-f]+)\\s*$`, 'm').exec(block);
  if (m === null) throw new Error(`trace field ${name} not found`);
  return m[1]!;
}

/** Parses the trace from 04-onion-routing.md (fails loudly if the spec text changes shape). */
export function errorTrace(): ErrorTrace {
  const md = readFileSync(join(SPECS, '04-onion-routing.md'), 'utf8');
  const start = md.indexOf('# creating error message');
  const end = md.indexOf('## Returning success');
  if (start < 0 || end < start) throw new Error('Returning Errors trace not found in 04-onion-routing.md');
  const [create, ...forwards] = md.slice(start, end).split('# forwarding error packet');
  return {
    encodedFailureMessage: field(create!, 'encoded_failure_message'),
    sharedSecret: field(create!, 'shared_secret'),
    payload: field(create!, 'payload'),
    umKey: field(create!, 'um_key'),
    rawErrorPacket: field(create!, 'raw_error_packet'),
    steps: forwards.map((b) => ({
      sharedSecret: field(b, 'shared_secret'),
      ammagKey: field(b, 'ammag_key'),
      stream: field(b, 'stream'),
      errorPacket: field(b, 'error packet for node \\d'),
    })),
  };
}

/** Hex to bytes, for vector fields. */
export const h = hexToBytes;
