// The IndexedDB backend in a real browser: headless Debian Chromium (a real process with its
// own profile directory) runs the whole exported conformance suite on its IndexedDB, then the
// durability and tab tests that only a browser can show: a page reload, a browser killed and
// relaunched on the same profile, a page closed in the middle of a burst of commitment
// updates, a second tab, and a newer chand upgrading the schema from another tab.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendSelected, exclusionReason, registerBackendUnavailable } from '../../src/testing/index.js';
import { buildPageBundle } from './browser/bundle.js';
import { call, chromiumUnavailable, launchChromium, openTestPage, servePage, type PageServer, type RunningChromium } from './browser/chromium-harness.js';
import { IDB_SCHEMA_VERSION } from '../../src/idb/migrations.js';

// CHAND_BACKENDS narrows runs as for the other backends; CHAND_REQUIRE_BACKENDS=...,chromium
// turns a missing Chromium into a failure instead of a loud skip.
const unavailable = backendSelected('chromium') ? chromiumUnavailable() : exclusionReason('chromium');

/** The conformance suite had 177 tests when this was written; fewer in the browser means some did not register. */
const MIN_CONFORMANCE_TESTS = 177;
const BURST_ROUNDS = 200;
/** Steps acknowledged before the page is closed. */
const CLOSE_AFTER_STEPS = 30;
const POLL_MS = 20;
const POLL_LIMIT = 1_500;

if (unavailable !== undefined) {
  registerBackendUnavailable('chromium', 'IndexedDB tests in headless Chromium', unavailable);
} else {
  describe('IndexedDB in headless Chromium', () => {
    let server: PageServer | undefined;
    let browser: RunningChromium | undefined;
    let profile: string | undefined;

    beforeAll(async () => {
      server = await servePage(await buildPageBundle());
      profile = await mkdtemp(join(tmpdir(), 'chand-chromium-'));
      browser = await launchChromium(profile);
    });

    afterAll(async () => {
      await browser?.stop();
      await server?.close();
      if (profile !== undefined) await rm(profile, { recursive: true, force: true });
    });

    it('passes the whole channel-store conformance suite on the browser IndexedDB', async () => {
      const page = await openTestPage(browser!.context, server!.url);
      const results = await call(page, 'conformance');
      await page.close();
      const passed = results.filter((r) => r.state === 'pass').length;
      const skipped = results.filter((r) => r.state === 'skip');
      const failed = results.filter((r) => r.state === 'fail');
      const ms = results.reduce((sum, r) => sum + r.ms, 0);
      console.log(`Chromium IndexedDB conformance: ${passed}/${results.length} passed, ${skipped.length} skipped, ${failed.length} failed (${Math.round(ms)} ms in tests)`);
      expect(failed.map((r) => `${r.name}\n${r.error}`)).toEqual([]);
      expect(skipped.map((r) => r.name)).toEqual([]);
      expect(passed).toBeGreaterThanOrEqual(MIN_CONFORMANCE_TESTS);
    }, 300_000);

    it('a pending channel with external funding state survives a page reload, and its flow continues (submit)', async () => {
      const name = 'reload';
      const page = await openTestPage(browser!.context, server!.url);
      await call(page, 'writeExternal', name);
      await page.reload();
      await page.waitForFunction(() => (globalThis as { chandIdb?: { ready: boolean } }).chandIdb?.ready === true);
      expect(await call(page, 'readExternal', name)).toEqual({ channel: true, state: true, all: 1, linkNode: true, submitted: true });
      await page.close();
    });

    it('a pending channel with external funding state survives killing the browser (SIGKILL) and relaunching it on the same profile', async () => {
      const name = 'kill';
      const page = await openTestPage(browser!.context, server!.url);
      // Resolves after the strict-durability commit: the state is on disk before the kill.
      await call(page, 'writeExternal', name);
      const killed = browser!.pid;
      await browser!.kill();
      browser = await launchChromium(profile!);
      expect(browser.pid).not.toBe(killed);
      const again = await openTestPage(browser.context, server!.url);
      expect(await call(again, 'readExternal', name)).toEqual({ channel: true, state: true, all: 1, linkNode: true, submitted: true });
      await again.close();
    });

    it('closing the page in the middle of a burst of commitment updates leaves exactly a prefix of the burst, never a torn update', async () => {
      const name = 'burst';
      const page = await openTestPage(browser!.context, server!.url);
      await call(page, 'prepareBurst', name);
      await call(page, 'startBurst', name, BURST_ROUNDS);
      let acknowledged = 0;
      for (let i = 0; i < POLL_LIMIT && acknowledged < CLOSE_AFTER_STEPS; i++) {
        const p = await call(page, 'burstProgress');
        expect(p.error).toBe('');
        acknowledged = p.done;
        if (acknowledged < CLOSE_AFTER_STEPS) await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
      expect(acknowledged).toBeGreaterThanOrEqual(CLOSE_AFTER_STEPS);
      await page.close();

      const after = await openTestPage(browser!.context, server!.url);
      const { k, total } = await call(after, 'findPrefix', name, BURST_ROUNDS);
      await after.close();
      console.log(`burst: ${acknowledged} steps acknowledged before the page closed; the database holds the first ${k} of ${total}`);
      expect(k).toBeGreaterThanOrEqual(acknowledged); // nothing acknowledged is lost
      expect(k).toBeLessThan(total); // the close really interrupted the burst
    }, 120_000);

    it('a second tab gets DB_LOCKED while the first has the database open, and opens it once the first closed it', async () => {
      const name = 'tabs';
      const first = await openTestPage(browser!.context, server!.url);
      const second = await openTestPage(browser!.context, server!.url);
      expect(await call(first, 'openAndHold', name)).toBe('ok');
      expect(await call(second, 'openAndHold', name)).toBe('DB_LOCKED');
      expect(await call(first, 'heldCall')).toBe('ok');
      await call(first, 'closeHeld');
      expect(await call(second, 'openAndHold', name)).toBe('ok');
      await call(second, 'closeHeld');
      await first.close();
      await second.close();
    });

    it('a newer chand upgrading the schema from another tab closes this connection (STORE_CLOSED), and this chand then refuses the database (DB_REVERSION)', async () => {
      const name = 'versions';
      const old = await openTestPage(browser!.context, server!.url);
      const newer = await openTestPage(browser!.context, server!.url);
      expect(await call(old, 'openAndHold', name)).toBe('ok');
      // Would wait forever if the open connection did not step aside on versionchange.
      expect(await call(newer, 'upgradeRaw', name)).toBe(IDB_SCHEMA_VERSION + 1);
      expect(await call(old, 'heldCall')).toBe('STORE_CLOSED');
      await call(old, 'closeHeld');
      expect(await call(old, 'openAndHold', name)).toBe('DB_REVERSION');
      await old.close();
      await newer.close();
    });
  });
}
