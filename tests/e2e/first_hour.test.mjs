// The first hour, against `tally demo` as a new team starts it: the admin's report names the
// planted spammer and explains itself; a rater sees what was saved, undoes with a key, goes
// Back without being trapped, meets a second tab gracefully, skips with a reason by keyboard;
// a rater who failed the entry test gets a page that says why; the phone page fits 360 px.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startDemo,
  launchBrowser,
  newContext,
  watch,
  login,
  until,
  text,
  screenshotPath,
} from './lib/harness.mjs';

const sidewaysOverflow = (page) =>
  page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);

/** The item id in a labelling URL, /rate/{pid}/items/{iid}. */
const itemOf = (page) => {
  const m = /\/rate\/\d+\/items\/(\d+)$/.exec(new URL(page.url()).pathname);
  return m ? Number(m[1]) : null;
};

/** Waits for the page of an item other than `previous`. */
const nextItem = (page, previous) =>
  until(async () => {
    const now = itemOf(page);
    return now !== null && now !== previous ? now : null;
  }, { what: `an item other than ${previous}` });

describe('the first hour with the demo', { timeout: 150_000 }, () => {
  let demo;
  let browser;

  before(async () => {
    demo = await startDemo();
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await demo?.stop();
  });

  async function signedIn(name, options = {}) {
    const context = await newContext(browser, options);
    const page = await context.newPage();
    const seen = watch(page);
    await login(page, demo.baseUrl, demo.logins[name]);
    return { context, page, seen };
  }

  it('prints the logins and links in a box, after the build', () => {
    assert.match(demo.printed, /┌─+┐/);
    for (const name of ['admin', 'alice', 'eve', 'dr-ines']) {
      assert.ok(demo.printed.includes(`${name} `), `${name} is listed`);
      assert.ok(demo.printed.includes(demo.logins[name].password), `${name}'s password is printed`);
    }
    assert.match(demo.printed, /\/u\/\d+\/open\/[0-9a-f]+/, 'the open link');
    assert.match(demo.printed, /\/u\/\d+\?uid=demo-visitor&exp=\d+&sig=[0-9a-f]{64}/, 'the signed link');
    assert.match(demo.printed, /built in [\d.]+ s: 3 projects, \d{4} labels/);
  });

  it("the admin's report names the spammer and explains every column", async () => {
    const { context, page, seen } = await signedIn('admin');
    try {
      await page.goto(demo.baseUrl + '/admin');
      await page.click('a:text("Product review sentiment")');
      await Promise.all([page.waitForURL('**/report'), page.click('#report-tab')]);
      assert.equal(await page.getAttribute('#report-tab', 'aria-current'), 'page', 'the report is a tab');
      const rows = await page.locator('#raters tbody tr').evaluateAll((trs) =>
        trs.map((tr) => ({
          name: tr.querySelector('td a')?.textContent ?? tr.querySelector('td').textContent,
          flags: [...tr.querySelectorAll('.flag')].map((f) => f.textContent),
          agreement: parseFloat(tr.querySelectorAll('td')[4].textContent),
        })),
      );
      const byName = Object.fromEntries(rows.map((r) => [r.name.trim(), r]));
      assert.ok(byName.eve, `eve is listed by name: ${Object.keys(byName)}`);
      assert.ok(byName.eve.flags.includes('spammer'), `eve is flagged: ${byName.eve.flags}`);
      for (const careful of ['alice', 'bob', 'carol']) {
        for (const wolf of ['spammer', 'biased', 'too_fast', 'low_gold_accuracy']) {
          assert.ok(!byName[careful].flags.includes(wolf), `${careful} is not flagged ${wolf}: ${byName[careful].flags}`);
        }
        assert.ok(byName[careful].agreement > byName.eve.agreement, `${careful} agrees more than eve`);
      }
      assert.match(await text(page, '#columns-explained'), /leave-one-out/);
      assert.match(await text(page, '#columns-explained'), /spammer/);
      assert.match(await text(page, '#consensus-summary'), /have a tied consensus/);
      const href = await page.locator('#raters a', { hasText: 'eve' }).getAttribute('href');
      assert.match(href, /^\/admin\/projects\/\d+#rater-\d+$/, 'the name leads to the pause action');
      await page.screenshot({ path: screenshotPath('report-desktop.png'), fullPage: true });
      await page.setViewportSize({ width: 360, height: 780 });
      await page.screenshot({ path: screenshotPath('report-phone.png'), fullPage: true });
      assert.deepEqual(seen.consoleErrors, []);
      assert.deepEqual(seen.failedLoads, []);
    } finally {
      await context.close();
    }
  });

  it('a rater sees what was saved, undoes with u, and Back goes to the previous answer', async () => {
    const { context, page, seen } = await signedIn('alice');
    try {
      const card = page.locator('ul.projects li', { hasText: 'Product review sentiment' });
      await Promise.all([page.waitForURL('**/items/*'), card.locator('a', { hasText: 'Start labelling' }).click()]);
      const first = itemOf(page);
      assert.match(await text(page, '#progress'), /^item \d+ of \d+ for you/);
      assert.equal(await page.locator('progress.thin-bar').count(), 1);

      await page.keyboard.press('2');
      const second = await nextItem(page, first);
      assert.match(await text(page, '#flash'), /^✓ negative saved · Undo/);

      // u goes back to the answer just given, and a digit changes it.
      await Promise.all([page.waitForURL(`**/items/${first}`), page.keyboard.press('u')]);
      assert.match(await text(page, '#own-answer'), /Your answer: negative/);
      await page.keyboard.press('1');
      await until(async () => itemOf(page) !== first, { what: 'the next item after the change' });
      assert.match(await text(page, '#flash'), /changed to positive/);
      assert.equal(itemOf(page), second, 'the item that was next is still next');

      // Back shows the previous answer, never the current item as if new.
      await page.goBack();
      await until(async () => itemOf(page) !== second, { what: 'Back to leave the current item' });
      assert.equal(itemOf(page), first);
      assert.match(await text(page, '#own-answer'), /Your answer: positive/);

      await page.goto(`${demo.baseUrl}/rate/${new URL(page.url()).pathname.split('/')[2]}/history`);
      assert.match(await text(page, 'main'), /positive/);
      assert.deepEqual(seen.pageErrors, []);
      assert.deepEqual(seen.consoleErrors, []);
    } finally {
      await context.close();
    }
  });

  it('a second tab moves on with a notice; s then a digit skips with a reason', async () => {
    const { context, page } = await signedIn('bob');
    try {
      await page.goto(demo.baseUrl + '/');
      const card = page.locator('ul.projects li', { hasText: 'Product review sentiment' });
      const start = await card.locator('a', { hasText: 'Start labelling' }).getAttribute('href');
      await page.goto(demo.baseUrl + start);
      const shown = itemOf(page);
      const other = await context.newPage();
      await other.goto(page.url());
      assert.equal(itemOf(other), shown, 'both tabs show the item held for bob');

      await page.keyboard.press('3');
      await nextItem(page, shown);
      await other.keyboard.press('1');
      await until(async () => itemOf(other) !== shown, { what: 'the second tab to move on' });
      assert.match(await text(other, '#flash'), /already|not yours|answered/i, 'the second tab says why');

      const before = itemOf(page);
      await page.keyboard.press('s');
      await page.keyboard.press('2');
      await nextItem(page, before);
      assert.match(await text(page, '#flash'), /Skipped/);
      assert.equal(
        await page.evaluate(() => document.activeElement === document.body || document.activeElement === null),
        true,
        'focus is back on the page, so the next key works',
      );
    } finally {
      await context.close();
    }
  });

  it('a rater who failed the qualification set gets a page that says why', async () => {
    const { context, page } = await signedIn('gus');
    try {
      await page.goto(demo.baseUrl + '/');
      const paused = page.locator('#blocked-projects li', { hasText: 'Product review sentiment' });
      assert.match(await paused.textContent(), /qualification/i, 'the home page shows the reason, not work');
      assert.equal(await page.locator('ul.projects li', { hasText: 'Product review sentiment' }).count(), 0);
      const res = await page.goto(demo.baseUrl + '/rate/1');
      assert.equal(res.status(), 403);
      assert.match(await text(page, '#blocked [role="alert"]'), /qualification/i);
      assert.equal(await page.locator('header.top').count(), 1, 'in the normal layout');
    } finally {
      await context.close();
    }
  });

  it('the phone page fits 360 pixels with touch, keys hidden', async () => {
    const context = await browser.newContext({ viewport: { width: 360, height: 740 }, hasTouch: true, isMobile: true });
    try {
      const page = await context.newPage();
      await login(page, demo.baseUrl, demo.logins.frank);
      const card = page.locator('ul.projects li', { hasText: 'Search answer helpfulness' });
      await Promise.all([page.waitForURL('**/items/*'), card.locator('a', { hasText: 'Start labelling' }).tap()]);
      const first = itemOf(page);
      assert.ok((await sidewaysOverflow(page)) <= 0, 'no sideways scrolling at 360 px');
      assert.equal(await page.locator('kbd').first().isVisible(), false, 'key hints are hidden on touch screens');
      await page.screenshot({ path: screenshotPath('rate-phone-touch.png'), fullPage: true });
      await page.locator('#label-form label.option').nth(3).tap();
      await page.locator('#save').tap();
      await nextItem(page, first);
      assert.match(await text(page, '#flash'), /saved/);
    } finally {
      await context.close();
    }
  });
});
