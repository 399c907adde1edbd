// Accessibility of the pages raters and admins use, checked by axe-core against WCAG 2 A and
// AA (contrast, labelled controls, names for buttons and choices, document structure): the
// labelling page of each text kind, the sign-in page, the home page, the history, and the
// admin's project and report pages. The image kinds are checked in kinds.test.mjs.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTally, launchBrowser, login, accessibilityViolations as violations } from './lib/harness.mjs';

const KINDS = {
  single_choice: { labels: ['positive', 'negative', 'neutral'] },
  multi_choice: { labels: ['red', 'green', 'blue'], min: 1 },
  rating: { scale: { min: 1, max: 5, anchors: { 1: 'awful', 5: 'great' } } },
  numeric: { range: { min: 0, max: 100, step: 0.5 } },
  text: { max_length: 200, comment: true },
  spans: { labels: ['PER', 'ORG'], field: 'text' },
};

describe('accessibility (WCAG 2.1 A and AA, by axe-core)', { timeout: 120_000 }, () => {
  let tally;
  let browser;
  let context;
  let page;
  const projects = {};

  before(async () => {
    tally = await startTally();
    browser = await launchBrowser();
    for (const [kind, settings] of Object.entries(KINDS)) {
      const project = await tally.api('POST', '/api/v1/projects', {
        name: `Kind ${kind}`,
        kind,
        overlap: 1,
        instructions: '**Read** the item, then answer.',
        ...settings,
      });
      await tally.api('POST', `/api/v1/projects/${project.id}/items`, [
        { external_id: 'a1', data: { text: 'Ada Lovelace met Acme Corp in London.', source: 'web' } },
        { external_id: 'a2', data: { text: 'A second item to label.', source: 'app' } },
      ]);
      projects[kind] = project.id;
    }
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
  });

  after(async () => {
    await context?.close();
    await browser?.close();
    await tally?.stop();
  });

  it('the sign-in page', async () => {
    await page.goto(tally.baseUrl + '/login');
    assert.deepEqual(await violations(page), []);
  });

  for (const kind of Object.keys(KINDS)) {
    it(`the labelling page of ${kind}`, async () => {
      if (!page.url().includes('/rate/') && !(await page.locator('text=Sign out').count())) {
        await login(page, tally.baseUrl, tally.rater);
      }
      await page.goto(`${tally.baseUrl}/rate/${projects[kind]}`);
      await page.waitForSelector('#label-form');
      assert.deepEqual(await violations(page), []);
    });
  }

  it('the home page and the history after an answer', async () => {
    await page.goto(`${tally.baseUrl}/rate/${projects.single_choice}`);
    await page.click('#label-form button[value="positive"]');
    await page.waitForSelector('#flash');
    assert.deepEqual(await violations(page), [], 'the labelling page with its confirmation line');
    await page.goto(`${tally.baseUrl}/rate/${projects.single_choice}/history`);
    assert.deepEqual(await violations(page), [], 'the history');
    await page.goto(tally.baseUrl + '/');
    assert.deepEqual(await violations(page), [], 'the home page');
  });

  it("the admin's project and report pages", async () => {
    const admin = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    try {
      const view = await admin.newPage();
      await login(view, tally.baseUrl, tally.admin);
      for (const path of ['/admin', `/admin/projects/${projects.single_choice}`, `/admin/projects/${projects.single_choice}/report`]) {
        await view.goto(tally.baseUrl + path);
        assert.deepEqual(await violations(view), [], path);
      }
    } finally {
      await admin.close();
    }
  });
});
