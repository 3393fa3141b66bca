// `chand db migrate` does not carry invoices and outgoing payments yet (the bulk-transfer
// facets know only the channel stores): a source holding any is refused before the target
// is touched, instead of copied without its payment history. A source without them still
// migrates.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { migrateChannelDb } from '../../src/channeldb/migrate.js';
import { openChannelDb, type ChannelDbConfig } from '../../src/channeldb/open.js';
import { ErrorCode } from '../../src/errors.js';
import { exclusionReason, makeLinkNode, makeNewInvoice, makeNewPayment, registerBackendUnavailable } from '../../src/testing/index.js';
import { tempDir } from './support.js';

const excluded = ['lmdb', 'sqlite'].map((b) => [b, exclusionReason(b)] as const).filter(([, why]) => why !== undefined);
for (const [backend, why] of excluded) registerBackendUnavailable(backend, 'migration payment-record guard', why!);

describe.skipIf(excluded.length > 0)('chand db migrate: payment records', () => {
  it.each([
    ['lmdb', 'an invoice'],
    ['sqlite', 'an outgoing payment'],
  ] as const)('refuses a %s source holding %s (MIGRATION_UNSUPPORTED_RECORDS) and writes no target', async (backend, what) => {
    const dir = await tempDir(`payments-${backend}`);
    const source: ChannelDbConfig = { backend, path: join(dir, 'source') };
    const db = await openChannelDb(source);
    await db.linkNodes.createLinkNodes([makeLinkNode(1)]);
    if (what === 'an invoice') await db.invoices.addInvoice(makeNewInvoice('migrate'));
    else await db.payments.initPayment(makeNewPayment('migrate'));
    await db.close();
    const target: ChannelDbConfig = { backend: backend === 'lmdb' ? 'sqlite' : 'lmdb', path: join(dir, 'target') };
    await expect(migrateChannelDb({ from: source, to: target })).rejects.toMatchObject({ code: ErrorCode.MIGRATION_UNSUPPORTED_RECORDS });
    expect(existsSync(join(dir, 'target'))).toBe(false);
  });

  it('still migrates a source without payment records', async () => {
    const dir = await tempDir('payments-none');
    const source: ChannelDbConfig = { backend: 'lmdb', path: join(dir, 'source') };
    const db = await openChannelDb(source);
    await db.linkNodes.createLinkNodes([makeLinkNode(2)]);
    await db.close();
    const target: ChannelDbConfig = { backend: 'sqlite', path: join(dir, 'target') };
    await migrateChannelDb({ from: source, to: target });
    const copy = await openChannelDb(target);
    expect(await copy.linkNodes.fetchAllLinkNodes()).toEqual([makeLinkNode(2)]);
    await copy.close();
  });
});
