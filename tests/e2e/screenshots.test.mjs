// Screenshots of the labelling page and the admin project page, for a person to look at
// (tests/e2e/screenshots/). The checks here are the few a screenshot makes obvious.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startTally,
  launchBrowser,
  newContext,
  watch,
  login,
  text,
  nextItemText,
  screenshotPath,
} from './lib/harness.mjs';

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

/** How far the page is wider than its window (0 when nothing sticks out sideways). */
const sidewaysOverflow = (page) =>
  page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);

describe('screenshots', { timeout: 90_000 }, () => {
  let tally;
  let browser;
  let project;

  before(async () => {
    tally = await startTally();
    browser = await launchBrowser();
    project = await tally.createProject({
      name: 'Product reviews',
      labels: ['positive', 'negative', 'neutral'],
      overlap: 2,
      instructions:
        'Read the review and pick the sentiment of the whole text.\n' +
        'Mixed reviews: pick the side the reviewer ends on.\n' +
        'Skip reviews in a language you do not read.',
      items: [
        'Arrived quickly and works as described.',
        'Stopped working after two days. Support never answered.',
        {
          text:
            'The blender is powerful and easy to clean, but it is louder than my old one and the lid ' +
            'does not sit tight unless you press it down hard. For the price it does the job; I would ' +
            'buy it again, though not with great enthusiasm. Details were on ' +
            'https://example.invalid/products/blender-3000/reviews?sort=newest&page=12&utm_source=newsletter_campaign_2026',
          product: 'Blender 3000',
          stars: 3,
        },
        'Fine.',
      ],
    });
  });

  after(async () => {
    await browser?.close();
    await tally?.stop();
  });

  it('the labelling page, on a desktop and a phone', async (t) => {
    const context = await newContext(browser, { viewport: DESKTOP });
    try {
      const page = await context.newPage();
      const seen = watch(page);
      await login(page, tally.baseUrl, tally.rater);
      await page.goto(`${tally.baseUrl}/rate/${project.id}`);
      // Two labels first, so the progress line and the admin page show some work.
      await page.keyboard.press('1');
      let shown = await nextItemText(page, 'Arrived quickly and works as described.');
      await page.keyboard.press('2');
      shown = await nextItemText(page, shown);
      assert.match(shown, /^The blender is powerful/);
      assert.equal(await text(page, '#progress'), 'item 3 of 4 for you · 2 labelled today');

      await page.screenshot({ path: screenshotPath('rate-desktop.png'), fullPage: true });
      const desktopOverflow = await sidewaysOverflow(page);

      await page.setViewportSize(PHONE);
      await page.screenshot({ path: screenshotPath('rate-phone.png'), fullPage: true });
      const phoneOverflow = await sidewaysOverflow(page);

      assert.equal(desktopOverflow, 0, 'nothing sticks out sideways on a desktop');
      assert.deepEqual(seen.pageErrors, []);
      assert.deepEqual(seen.consoleErrors, [], 'no console errors (e.g. Content-Security-Policy refusals)');
      assert.deepEqual(seen.failedLoads, [], 'every stylesheet and script loads');
      if (phoneOverflow > 0) {
        // Reported, not failed: the screenshot review decides.
        t.diagnostic(`note: the labelling page is ${phoneOverflow}px wider than a ${PHONE.width}px phone`);
      }
    } finally {
      await context.close();
    }
  });

  it('the admin project page', async (t) => {
    const context = await newContext(browser, { viewport: DESKTOP });
    try {
      const page = await context.newPage();
      const seen = watch(page);
      await login(page, tally.baseUrl, tally.admin);
      assert.equal(new URL(page.url()).pathname, '/admin', 'an admin lands on the console');
      await page.goto(`${tally.baseUrl}/admin/projects/${project.id}`);
      assert.equal(await text(page, 'h1'), 'Product reviews');
      assert.equal(await text(page, '#stat-items'), '4');
      assert.equal(await text(page, '#stat-labels'), '2');

      await page.screenshot({ path: screenshotPath('admin-project-desktop.png'), fullPage: true });
      const desktopOverflow = await sidewaysOverflow(page);
      await page.setViewportSize(PHONE);
      await page.screenshot({ path: screenshotPath('admin-project-phone.png'), fullPage: true });
      const phoneOverflow = await sidewaysOverflow(page);

      assert.equal(desktopOverflow, 0, 'nothing sticks out sideways on a desktop');
      assert.deepEqual(seen.pageErrors, []);
      assert.deepEqual(seen.consoleErrors, [], 'no console errors (e.g. Content-Security-Policy refusals)');
      assert.deepEqual(seen.failedLoads, [], 'every stylesheet and script loads');
      if (phoneOverflow > 0) {
        t.diagnostic(`note: the admin project page is ${phoneOverflow}px wider than a ${PHONE.width}px phone`);
      }
    } finally {
      await context.close();
    }
  });
});
