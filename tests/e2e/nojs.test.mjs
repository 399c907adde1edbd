// The labelling pages with JavaScript off: plain forms and buttons must do everything.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTally, launchBrowser, newContext, watch, login, text, nextItemText } from './lib/harness.mjs';

const LABELS = ['cat', 'dog', 'bird'];

describe('labelling with JavaScript off', { timeout: 90_000 }, () => {
  let tally;
  let browser;

  before(async () => {
    tally = await startTally();
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await tally?.stop();
  });

  it('sign in, click a choice, click skip, report: each advances to the next item', async () => {
    const project = await tally.createProject({
      name: 'No script',
      labels: LABELS,
      instructions: 'Which animal is it?',
      items: ['a purring one', 'a barking one', 'a singing one', 'a hissing one'],
    });
    const context = await newContext(browser, { javaScriptEnabled: false });
    try {
      const page = await context.newPage();
      const seen = watch(page);
      await login(page, tally.baseUrl, tally.rater);
      assert.equal(new URL(page.url()).pathname, '/');
      const start = page.locator('ul.projects li', { hasText: 'No script' }).locator('a', { hasText: 'Start labelling' });
      await Promise.all([page.waitForURL(`**/rate/${project.id}/items/*`), start.click()]);

      assert.equal(await text(page, '#item-text'), 'a purring one');
      assert.equal(await text(page, '#progress'), 'item 1 of 4 for you · 0 labelled today');

      // Without the script, the number keys are only keys.
      await page.keyboard.press('1');
      await page.waitForTimeout(300);
      assert.deepEqual(seen.posts, ['/login'], 'a key press sends nothing with JavaScript off');
      assert.equal(await text(page, '#item-text'), 'a purring one');

      // Clicking a choice labels the item and shows the next one.
      await page.click('#label-form button[value="cat"]');
      assert.equal(await nextItemText(page, 'a purring one'), 'a barking one');
      assert.equal(await text(page, '#progress'), 'item 2 of 4 for you · 1 labelled today');

      // "Skip" is a plain <details>: open it and pick a reason.
      await page.click('details.skip summary');
      await page.click('#skip-form button[value="needs_context"]');
      assert.equal(await nextItemText(page, 'a barking one'), 'a singing one');
      assert.equal(await text(page, '#progress'), 'item 2 of 3 for you · 1 labelled today');

      // "Report a problem" is a plain <details>: open it, pick a reason, report and skip.
      await page.click('details.report summary');
      await page.selectOption('#report-form select[name="reason"]', 'ambiguous');
      await page.click('#report-form button[type="submit"]');
      assert.equal(await nextItemText(page, 'a singing one'), 'a hissing one');

      await page.click('#label-form button[value="bird"]');
      assert.equal(await nextItemText(page, 'a hissing one'), null, 'the done page follows the last item');
      assert.match(await text(page, '#done'), /Nothing is left for you here/);

      assert.deepEqual(
        seen.posts.filter((p) => p !== '/login').map((p) => p.replace(/\/items\/\d+\//, '/items/N/')),
        ['label', 'skip', 'report', 'label'].map((action) => `/rate/${project.id}/items/N/${action}`),
        'plain form posts, one per click',
      );
      assert.deepEqual(seen.pageErrors, []);
      assert.deepEqual(seen.dialogs, []);
      assert.deepEqual(seen.failedLoads, [], 'every stylesheet loads');

      const rows = await tally.exportRows(project.id);
      assert.deepEqual(
        Object.fromEntries(Object.entries(rows).map(([id, r]) => [id, r.labels.map((l) => l.value)])),
        { e1: ['cat'], e2: [], e3: [], e4: ['bird'] },
        'the clicked choices are stored, item by item; skipped and reported items have none',
      );
      for (const row of [rows.e1, rows.e4]) {
        assert.equal(typeof row.labels[0].duration_ms, 'number', 'a label from a plain form still has a duration_ms');
      }
    } finally {
      await context.close();
    }
  });
});
