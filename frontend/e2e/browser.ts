// Debian's Chromium (scripts/browser.sh installs it), driven by
// playwright-core: nothing here downloads a browser.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const chromiumPath = process.env.RESAYIL_CHROMIUM ?? '/usr/bin/chromium';

// Without the background-networking flags Chromium tries the network at
// start, which this closed network refuses.
const flags = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

export type Browser = { context: BrowserContext; close(): Promise<void> };

/** A fresh browser profile (its own --user-data-dir), like a new person's browser. */
export async function openBrowser(origin: string): Promise<Browser> {
  const dir = mkdtempSync(join(tmpdir(), 'resayil-chromium-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: chromiumPath,
    headless: true,
    args: flags,
    viewport: { width: 1280, height: 800 },
    locale: 'en-GB',
    timezoneId: 'Asia/Kuwait',
    permissions: ['clipboard-read', 'clipboard-write'],
  });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
