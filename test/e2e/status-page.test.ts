/**
 * The live status page (`--metrics`, /status) in Debian's headless Chromium (driven by
 * playwright-core): it shows the session a test client opens, the download's progress moves
 * without a reload, and a file name from a client is shown as text, never as markup.
 * TSFTPD_SCREENSHOT=FILE also saves a screenshot (docs/status-page.png is made so).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium, type Browser } from 'playwright-core';
import { connectWhenUp, freePort, killChild, spawnServer } from '../helpers/child-server.js';
import { RawFtp } from '../helpers/raw.js';
import { findTool, ftpUrl, toolSkip } from '../helpers/clients.js';
import { startServer, type TestServer } from '../helpers/server.js';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

function skipReason(): string | false {
  if (CHROMIUM === undefined) {
    if (process.env.CI === 'true')
      throw new Error('CI=true but Chromium is missing (apt-get install chromium)');
    return 'Chromium is not installed (apt-get install chromium)';
  }
  return toolSkip('curl');
}

describe('the /status page in Chromium', { skip: skipReason() }, () => {
  let files: TestServer;
  let browser: Browser;
  const NAME = '<img src=x onerror=alert(1)>.bin';
  before(async () => {
    files = await startServer();
    await writeFile(path.join(files.home('joe'), NAME), Buffer.alloc(96 * 1024 * 1024, 1));
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
  });
  after(async () => {
    await browser?.close();
    await files.close();
  });

  it('shows a new session and a download whose progress moves, without reloading', async () => {
    const port = await freePort();
    const mport = await freePort();
    const srv = spawnServer(port, [
      '--workers',
      '2',
      '--passwd-file',
      path.join(files.dir, 'pureftpd.passwd'),
      '--metrics',
      `127.0.0.1:${mport}`,
    ]);
    let download: ChildProcess | undefined;
    const clients: RawFtp[] = [];
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    try {
      (await connectWhenUp(port)).close();
      await page.goto(`http://127.0.0.1:${mport}/status`);
      await page.waitForFunction(() => Number(document.body.dataset.polls ?? 0) >= 1);
      const before = await page.locator('tr[data-session-id]').count();
      assert.equal(before, 0);

      // A session opened after the page loaded appears in it.
      clients.push((await RawFtp.connect(port)).ftp);
      assert.equal((await clients[0].login('joe', 'secret')).code, 230);
      await page.waitForFunction(
        () =>
          [...document.querySelectorAll('tr[data-session-id] .cell-account')].some(
            (c) => c.textContent === 'joe',
          ),
        undefined,
        { timeout: 10_000 },
      );

      // A slow download: its bytes grow on the page.
      download = spawn(
        findTool('curl')!,
        [
          '-s',
          '-o',
          '/dev/null',
          '--limit-rate',
          '4m',
          '-u',
          'joe:secret',
          ftpUrl(port, `/${encodeURIComponent(NAME)}`),
        ],
        { stdio: 'ignore' },
      );
      const progress = page
        .locator('tr[data-session-id] .cell-progress[data-bytes]')
        .filter({ hasNotText: /^$/ });
      const bytesNow = async (): Promise<number> => {
        const all = await page.$$eval('tr[data-session-id] .cell-progress', (cells) =>
          cells.map((c) => Number((c as HTMLElement).dataset.bytes ?? 0)),
        );
        return Math.max(0, ...all);
      };
      await page.waitForFunction(
        () =>
          [...document.querySelectorAll('tr[data-session-id] .cell-progress')].some(
            (c) => Number((c as HTMLElement).dataset.bytes ?? 0) > 0,
          ),
        undefined,
        { timeout: 10_000 },
      );
      void progress;
      // The count is what the kernel took (sendfile): it moves in steps as the client's socket
      // buffers drain, so wait for the next step (curl reads 4 MiB a second).
      const first = await bytesNow();
      let second = first;
      for (let i = 0; i < 60 && second <= first; i++) {
        await sleep(250);
        second = await bytesNow();
      }
      assert.ok(second > first, `progress moves on the page: ${first} then ${second}`);
      const polls = Number(await page.evaluate(() => document.body.dataset.polls));
      assert.ok(polls >= 3, `the page polled ${polls} times without reloading`);

      // The client's file name is text, not markup.
      const fileCells = await page.$$eval('tr[data-session-id] .cell-file', (cells) =>
        cells.map((c) => c.textContent),
      );
      assert.ok(fileCells.includes(`/${NAME}`), JSON.stringify(fileCells));
      assert.equal(await page.locator('tr[data-session-id] img').count(), 0);
      assert.deepEqual(dialogs, []);
      assert.deepEqual(errors, []);
      const shot = process.env.TSFTPD_SCREENSHOT;
      if (shot !== undefined && shot !== '') await page.screenshot({ path: shot, fullPage: true });
    } finally {
      download?.kill('SIGKILL');
      for (const c of clients) c.close();
      await page.close();
      await killChild(srv.child);
    }
  });
});
