// Opens each page given in PAGES (a JSON array of URLs) in Debian's chromium,
// headless, with a fresh profile, and prints one JSON line per page:
// {"url", "result"} where result is what the page shows in #result once it
// sets data-done. Driven by browser_test.go.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const pages = JSON.parse(process.env.PAGES);
const profile = mkdtempSync(join(tmpdir(), 'strongroom-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--disable-dev-shm-usage'],
});
try {
  for (const url of pages) {
    const page = await context.newPage();
    await page.goto(url);
    await page.waitForSelector('#result[data-done]', { timeout: 20000 });
    const result = await page.textContent('#result');
    console.log(JSON.stringify({ url, result }));
    await page.close();
  }
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
