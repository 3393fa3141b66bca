/**
 * A Devnet over an LMDB chain in `<datadir>/chain`, as the CLI composes it: the devnet is
 * handed its engine and never picks one itself.
 */
import { join } from 'node:path';
import { Devnet, type DevnetOptions } from '../../../src/chain/devnet/devnet.js';
import { openLmdbEngine } from '../../../src/kv/lmdb-engine.js';

export async function devnetAt(datadir: string, options: Omit<DevnetOptions, 'engine'> & { noSync?: boolean } = {}): Promise<Devnet> {
  const { noSync, ...rest } = options;
  return new Devnet({ ...rest, engine: await openLmdbEngine({ path: join(datadir, 'chain'), ...(noSync === undefined ? {} : { noSync }) }) });
}
