// Loads freshen serve's status page in Debian's headless chromium and
// reports, as one JSON object on stdout, what a person would see: the rows
// shown before and after ticking "Updates only", the same page without
// JavaScript, on a phone-sized screen, every request the page made, and,
// given an apply token, what clicking a tag's Upgrade button answered.
// tests/serve.rs runs it and asserts on the report.
//
// node page.mjs URL SCREENSHOT.png [UPGRADE_NAME APPLY_TOKEN]
import { chromium } from 'playwright-core';

const [url, screenshot, upgradeName, applyToken] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run'],
});
const report = { requests: [] };
try {
  const visibleRows = (page) => page.$$eval('tr.tag', (rows) =>
    rows.filter((r) => r.offsetParent !== null).map((r) => r.querySelector('td').innerText.trim()));

  const desktop = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await desktop.newPage();
  page.on('request', (r) => report.requests.push(r.url()));
  await page.goto(url, { waitUntil: 'load' });
  report.title = await page.title();
  report.heading = await page.innerText('h1');
  report.summary = await page.innerText('p.sum');
  report.all = await visibleRows(page);
  report.buttons = await page.$$eval('button[data-action]', (bs) =>
    bs.filter((b) => b.offsetParent !== null).map((b) => `${b.dataset.name} ${b.textContent}`));
  await page.check('#only');
  report.updatesOnly = await visibleRows(page);
  report.shown = await page.innerText('#shown');
  await page.uncheck('#only');
  report.allAgain = await visibleRows(page);
  await page.screenshot({ path: screenshot, fullPage: true });
  // Without JavaScript: the rows are there and the filter is a form.
  const plain = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1280, height: 800 } });
  const noScript = await plain.newPage();
  await noScript.goto(url, { waitUntil: 'load' });
  report.noScriptAll = await visibleRows(noScript);
  report.noScriptButtons = await noScript.$$eval('button[data-action]', (bs) =>
    bs.filter((b) => b.offsetParent !== null).length);
  await noScript.check('#only');
  await Promise.all([noScript.waitForNavigation(), noScript.click('#only-go')]);
  report.noScriptUpdatesOnly = await visibleRows(noScript);
  report.noScriptUrl = noScript.url();

  // A phone: nothing wider than the screen.
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true });
  const small = await phone.newPage();
  await small.goto(url, { waitUntil: 'load' });
  report.phone = await small.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    fontSize: parseFloat(getComputedStyle(document.body).fontSize),
  }));

  // Last, as it changes what the page shows.
  if (upgradeName) {
    const dialogs = [];
    page.on('dialog', async (d) => {
      dialogs.push(`${d.type()}: ${d.message()}`);
      if (d.type() === 'prompt') await d.accept(applyToken); else await d.accept();
    });
    await page.click(`button[data-action="upgrades"][data-name="${upgradeName}"]`);
    await page.waitForFunction(() => /^\d{3}:/.test(document.getElementById('msg').textContent), null,
      { timeout: 60000 });
    report.dialogs = dialogs;
    report.upgradeMessage = await page.innerText('#msg');
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(report));
