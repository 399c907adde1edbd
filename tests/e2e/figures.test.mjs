// A large project's pages answer at once and fill their figures in as they are computed.
// The server keeps figures from the first row (TALLY_KEEP_FIGURES_FROM=0) and a page does
// not wait for a figure at all (TALLY_FIGURES_WAIT_MS=0), so a first view of a project with
// tens of thousands of labels shows its figures as being computed.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTally, launchBrowser, withPage, login, until, screenshotPath } from './lib/harness.mjs';

const TASKS = 10_000;
const ANNOTATORS = [1, 2, 3];

/** Label Studio tasks, each with three annotations: the import stores them as labels. */
function labelledTasks() {
  return Array.from({ length: TASKS }, (_, i) => ({
    id: i + 1,
    data: { text: `review ${i + 1}` },
    annotations: ANNOTATORS.map((who) => ({
      completed_by: who,
      lead_time: 2 + ((i + who) % 7),
      result: [
        {
          from_name: 'label',
          to_name: 'text',
          type: 'choices',
          // Annotator 3 disagrees on every fifth task.
          value: { choices: [who === 3 && i % 5 === 0 ? 'neg' : i % 2 ? 'pos' : 'neg'] },
        },
      ],
    })),
  }));
}

describe('figures of a large project', { timeout: 180_000 }, () => {
  let tally;
  let browser;
  let pid;

  before(async () => {
    tally = await startTally({ env: { TALLY_KEEP_FIGURES_FROM: '0', TALLY_FIGURES_WAIT_MS: '0' } });
    browser = await launchBrowser();
    const project = await tally.api('POST', '/api/v1/projects', {
      name: 'Big reviews',
      kind: 'single_choice',
      labels: ['pos', 'neg'],
      overlap: 3,
    });
    pid = project.id;
    const imported = await tally.api('POST', `/api/v1/projects/${pid}/items?format=label-studio`, labelledTasks());
    assert.equal(imported.imported, TASKS);
  });

  after(async () => {
    await browser?.close();
    await tally?.stop();
  });

  it('the overview answers with what it has, then puts each figure in without a reload', () =>
    withPage(browser, {}, async (page, seen) => {
      await login(page, tally.baseUrl, tally.admin);
      await page.goto(`${tally.baseUrl}/admin/projects/${pid}`);
      // A mark on this document: it survives only if the page is not loaded again.
      await page.evaluate(() => {
        window.sameDocument = true;
      });
      assert.ok((await page.locator('[data-computing]').count()) > 0, 'a figure is shown as being computed');
      assert.equal((await page.locator('#stat-labels').textContent()).trim(), String(TASKS * ANNOTATORS.length));
      await page.screenshot({ path: screenshotPath('figures-computing.png'), fullPage: true });

      await until(async () => (await page.locator('[data-computing]').count()) === 0, {
        timeout: 60_000,
        interval: 200,
        what: 'every figure to be filled in',
      });
      assert.equal(await page.evaluate(() => window.sameDocument), true, 'filled in, not reloaded');
      assert.equal(await page.locator('#queue table').count(), 1, 'the queue by pool is shown');
      assert.ok(await page.locator('#pace-per-hour').count(), 'the pace is shown');
      const agreement = await page.locator('#raters tbody tr').allTextContents();
      assert.equal(agreement.length, ANNOTATORS.length, agreement.join(' | '));
      for (const row of agreement) {
        assert.match(row, /\d+%/, `each rater's agreement is shown: ${row}`);
        assert.doesNotMatch(row, /…/);
      }
      await page.screenshot({ path: screenshotPath('figures-filled.png'), fullPage: true });
      assert.deepEqual(seen.pageErrors, []);
      assert.deepEqual(seen.consoleErrors, []);
      assert.deepEqual(seen.failedLoads, []);
    }));

  it('the report page loads the report once it is ready', () =>
    withPage(browser, {}, async (page, seen) => {
      await login(page, tally.baseUrl, tally.admin);
      // Settings no view asked for yet: a report computed for this view.
      await page.goto(`${tally.baseUrl}/admin/projects/${pid}/report?method=dawid-skene`);
      assert.equal(await page.locator('#report-computing').count(), 1, 'the report is shown as being computed');
      await until(async () => (await page.locator('#alpha').count()) === 1, {
        timeout: 60_000,
        interval: 200,
        what: 'the report',
      });
      assert.equal(new URL(page.url()).search, '?method=dawid-skene', 'with the settings asked for');
      assert.deepEqual(seen.pageErrors, []);
      assert.deepEqual(seen.failedLoads, []);
    }));
});
