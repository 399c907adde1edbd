// The reviewer's screens in a real browser: the queue opens with Enter, a digit picks the
// final answer, Ctrl+Enter saves it with its reason and opens the next item; the final label
// wins in the export. Screenshots at desktop and phone width.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTally, launchBrowser, newContext, watch, login, text, screenshotPath } from './lib/harness.mjs';

const PHONE = { width: 360, height: 780 };

/** How far the page is wider than its window (0 when nothing sticks out sideways). */
const sidewaysOverflow = (page) =>
  page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);

describe('review', { timeout: 90_000 }, () => {
  let tally;
  let browser;
  let project;
  const reviewer = { name: 'rev', password: 'reviewer-password-1' };

  before(async () => {
    tally = await startTally();
    browser = await launchBrowser();
    project = await tally.createProject({
      name: 'Disputed reviews',
      labels: ['positive', 'negative', 'neutral'],
      overlap: 2,
      instructions: 'Pick the sentiment of the **whole** review.',
      items: ['Great screen, awful battery.', 'It is a phone.'],
    });
    // Two raters who disagree on both items: two settled ties.
    for (const [name, answers] of [['ann', ['positive', 'neutral']], ['ben', ['negative', 'positive']]]) {
      tally.cli(['users', 'add', name, '--role', 'rater', '--password-stdin'], 'rater-password-1\n');
      const token = tally.cli(['tokens', 'issue', name]).stdout.trim();
      for (const value of answers) {
        const next = await tally.api('GET', `/api/v1/projects/${project.id}/next`, undefined, { bearer: token });
        await tally.api('POST', `/api/v1/projects/${project.id}/items/${next.item.id}/labels`, { value }, { bearer: token });
      }
    }
    const added = tally.cli(['users', 'add', reviewer.name, '--role', 'reviewer', '--password-stdin'], reviewer.password + '\n');
    assert.equal(added.status, 0, added.stderr);
  });

  after(async () => {
    await browser?.close();
    await tally?.stop();
  });

  it('settles the queue by keyboard', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    const seen = watch(page);
    await login(page, tally.baseUrl, reviewer);
    assert.equal(new URL(page.url()).pathname, '/review');
    await page.click(`a[href="/review/projects/${project.id}"]`);
    assert.equal(await page.locator('#review-queue tbody tr').count(), 2);
    await page.screenshot({ path: screenshotPath('review-queue.png'), fullPage: true });

    await Promise.all([page.waitForURL(/\/items\/\d+/), page.keyboard.press('Enter')]);
    assert.match(await text(page, '#majority'), /a tie between positive and negative/);
    assert.match(await text(page, '#review-reasons'), /no majority/);
    await page.keyboard.press('2');
    assert.equal(await page.locator('input[name="value"][value="negative"]').isChecked(), true);
    await page.click('#final-reason');
    await page.keyboard.type('the battery complaint decides it');
    await page.screenshot({ path: screenshotPath('review-item.png'), fullPage: true });
    const first = page.url();
    await Promise.all([page.waitForURL((url) => url.href !== first), page.keyboard.press('Control+Enter')]);
    assert.match(await text(page, '#flash'), /Final label of item \d+: negative/);
    assert.match(page.url(), /\/items\/\d+/, 'the next item of the queue opens');

    const rows = await tally.exportRows(project.id);
    assert.equal(rows.e1.consensus, 'negative');
    assert.equal(rows.e1.consensus_source, 'adjudicated');
    assert.equal(rows.e1.adjudication_reason, 'the battery complaint decides it');
    assert.deepEqual(seen.pageErrors, []);
    assert.deepEqual(seen.consoleErrors, []);
    await context.close();
  });

  it('fits a phone', async () => {
    const context = await newContext(browser, { viewport: PHONE });
    const page = await context.newPage();
    await login(page, tally.baseUrl, reviewer);
    await page.goto(`${tally.baseUrl}/review/projects/${project.id}`);
    const link = await page.locator('#continue').getAttribute('href');
    await page.goto(tally.baseUrl + link);
    await page.screenshot({ path: screenshotPath('review-item-phone.png'), fullPage: true });
    const wide = await page.evaluate(() =>
      [...document.querySelectorAll('body *')]
        .filter((el) => el.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
        .slice(0, 5)
        .map((el) => `${el.tagName}#${el.id}.${el.className}`),
    );
    assert.equal(await sidewaysOverflow(page), 0, `sticking out: ${wide.join(', ')}`);
    await context.close();
  });
});
