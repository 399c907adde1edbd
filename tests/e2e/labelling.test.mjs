// The labelling pages with JavaScript on: login, keyboard shortcuts, progress line,
// the export afterwards, keys that must do nothing, and item HTML shown as text.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startTally,
  launchBrowser,
  newContext,
  watch,
  login,
  until,
  text,
  nextItemText,
} from './lib/harness.mjs';

const LABELS = ['positive', 'negative', 'neutral'];

describe('labelling with JavaScript on', { timeout: 90_000 }, () => {
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

  /** A signed-in rater page on /rate/{pid}, with its problems watched. */
  async function raterPage(pid) {
    const context = await newContext(browser);
    const page = await context.newPage();
    const seen = watch(page);
    await login(page, tally.baseUrl, tally.rater);
    await page.goto(`${tally.baseUrl}/rate/${pid}`);
    return { context, page, seen };
  }

  it('a rater signs in through the form and opens the project from the home page', async () => {
    const project = await tally.createProject({
      name: 'Login check',
      labels: LABELS,
      items: ['first login item', 'second login item'],
    });
    const context = await newContext(browser);
    try {
      const page = await context.newPage();
      const seen = watch(page);

      // A wrong password keeps the person on the form with a message.
      await page.goto(tally.baseUrl + '/');
      assert.equal(new URL(page.url()).pathname, '/login', 'an anonymous visitor is sent to /login');
      await page.fill('input[name="name"]', tally.rater.name);
      await page.fill('input[name="password"]', 'not-the-password');
      await page.click('form[action="/login"] button[type="submit"]');
      await until(async () => (await page.locator('[role="alert"]').count()) > 0, { what: 'the login error' });
      assert.match(await text(page, '[role="alert"]'), /wrong name or password/i);

      await login(page, tally.baseUrl, tally.rater);
      assert.equal(new URL(page.url()).pathname, '/', 'a rater lands on the home page');
      const card = page.locator('ul.projects li', { hasText: 'Login check' });
      assert.equal(await card.count(), 1, 'the home page lists the project');
      assert.match(await card.textContent(), /2 items left for you/);
      const start = card.locator('a', { hasText: 'Start labelling' });
      assert.equal(await start.getAttribute('href'), `/rate/${project.id}`);
      await Promise.all([page.waitForURL(`**/rate/${project.id}/items/*`), start.click()]);

      assert.equal(await text(page, '#item-text'), 'first login item');
      assert.equal(await text(page, '#progress'), 'item 1 of 2 for you · 0 labelled today');
      const buttons = await page.locator('#label-form button[type="submit"]').allTextContents();
      assert.deepEqual(
        buttons.map((b) => b.replace(/\s+/g, ' ').trim()),
        ['1 positive', '2 negative', '3 neutral'],
        'one button per choice, numbered by its key',
      );
      assert.deepEqual(seen.dialogs, []);
      assert.deepEqual(seen.pageErrors, []);
    } finally {
      await context.close();
    }
  });

  it('keys 2, s and 1 label, skip and advance; the export holds exactly those labels', async () => {
    const texts = ['Alpha item', 'Bravo item', 'Charlie item', 'Delta item', 'Echo item'];
    const project = await tally.createProject({ name: 'Keyboard run', labels: LABELS, items: texts });
    const { context, page, seen } = await raterPage(project.id);
    try {
      assert.equal(await text(page, '#item-text'), 'Alpha item');
      assert.equal(await text(page, '#progress'), 'item 1 of 5 for you · 0 labelled today');

      // Look at the item for a moment, so the stored time is measurable.
      await page.waitForTimeout(400);
      await page.keyboard.press('2');
      assert.equal(await nextItemText(page, 'Alpha item'), 'Bravo item', 'key 2 moves on to the next item');
      await until(async () => (await text(page, '#progress')) === 'item 2 of 5 for you · 1 labelled today', {
        what: 'progress after one label',
      });

      // s opens the skip reasons; a digit picks one and moves on.
      await page.keyboard.press('s');
      assert.equal(await page.locator('#skip-choice').getAttribute('open'), '', 'key s opens the reasons');
      await page.keyboard.press('1');
      assert.equal(await nextItemText(page, 'Bravo item'), 'Charlie item', 'key s then 1 skips to the next item');
      assert.equal(await text(page, '#progress'), 'item 2 of 4 for you · 1 labelled today');
      assert.match(await text(page, '#flash'), /Skipped/i, 'the skip is confirmed in one line');

      let shown = 'Charlie item';
      const seenTexts = [];
      for (let expectedToday = 2; ; expectedToday += 1) {
        await page.keyboard.press('1');
        const next = await nextItemText(page, shown);
        if (next === null) break;
        seenTexts.push(next);
        assert.equal(
          await text(page, '#progress'),
          `item ${expectedToday + 1} of 4 for you · ${expectedToday} labelled today`,
        );
        shown = next;
        assert.ok(seenTexts.length <= 3, 'the done page comes after the last item');
      }
      assert.deepEqual(seenTexts, ['Delta item', 'Echo item']);
      assert.match(await text(page, '#done'), /Nothing is left for you here/);
      assert.match(await text(page, 'main'), /4 labelled today · 4 in this project/);

      assert.deepEqual(seen.dialogs, []);
      assert.deepEqual(seen.pageErrors, []);
      assert.deepEqual(
        seen.consoleErrors,
        [],
        'no console errors (e.g. Content-Security-Policy violations)',
      );
      assert.deepEqual(seen.failedLoads, [], 'every stylesheet and script loads');
      const formPosts = seen.posts.filter((p) => p.startsWith('/rate/'));
      assert.equal(formPosts.length, 5, `one POST per key press, got ${JSON.stringify(formPosts)}`);

      const rows = await tally.exportRows(project.id);
      const values = (r) => r.labels.map((l) => l.value);
      assert.deepEqual(
        Object.fromEntries(Object.entries(rows).map(([id, r]) => [id, values(r)])),
        { e1: ['negative'], e2: [], e3: ['positive'], e4: ['positive'], e5: ['positive'] },
        'item by item, the stored labels are the choices the keys meant (the skipped item has none)',
      );
      for (const [id, row] of Object.entries(rows)) {
        assert.equal(row.data.text, texts[Number(id.slice(1)) - 1]);
        for (const label of row.labels) {
          assert.equal(typeof label.duration_ms, 'number', `${id} has a duration_ms`);
          assert.ok(label.duration_ms >= 0, `${id} duration_ms is not negative`);
          assert.match(label.rater, /^r-[0-9a-f]+$/, 'raters appear under a pseudonym');
          assert.ok(!label.rater.includes(tally.rater.name));
        }
      }
      assert.ok(rows.e1.labels[0].duration_ms >= 400, `the time spent looking is stored (${rows.e1.labels[0].duration_ms} ms)`);
      assert.equal(rows.e1.majority, 'negative');
    } finally {
      await context.close();
    }
  });

  it('keys typed in an input or textarea, and Ctrl/Alt/Meta combinations, do nothing', async () => {
    const project = await tally.createProject({
      name: 'Quiet keys',
      labels: LABELS,
      items: ['quiet one', 'quiet two'],
    });
    const { context, page, seen } = await raterPage(project.id);
    try {
      assert.equal(await text(page, '#item-text'), 'quiet one');
      // The page has no text field of its own; add one of each, as a comment box would be.
      await page.evaluate(() => {
        const input = document.createElement('input');
        input.id = 'e2e-input';
        const area = document.createElement('textarea');
        area.id = 'e2e-area';
        document.querySelector('main').append(input, area);
      });
      await page.click('#e2e-input');
      await page.keyboard.type('12s3');
      await page.click('#e2e-area');
      await page.keyboard.type('s21');
      assert.equal(await page.inputValue('#e2e-input'), '12s3', 'the keys are typed into the input');
      assert.equal(await page.inputValue('#e2e-area'), 's21', 'the keys are typed into the textarea');

      await page.locator('#e2e-area').blur();
      await page.click('#item-text');
      for (const combo of ['Control+1', 'Control+2', 'Alt+1', 'Meta+1', 'Control+s', 'Alt+s']) {
        await page.keyboard.press(combo);
      }
      await page.waitForTimeout(500);
      assert.deepEqual(seen.posts, ['/login'], 'no label or skip was sent');
      assert.equal(await text(page, '#item-text'), 'quiet one', 'the same item is still shown');
      assert.equal(await page.locator('button.pressed').count(), 0, 'no button shows as pressed');
      assert.equal(await text(page, '#progress'), 'item 1 of 2 for you · 0 labelled today');

      // The page was live all along: a plain key still works.
      await page.keyboard.press('3');
      assert.equal(await nextItemText(page, 'quiet one'), 'quiet two');
      const rows = await tally.exportRows(project.id);
      assert.deepEqual(rows.e1.labels.map((l) => l.value), ['neutral']);
      assert.deepEqual(rows.e2.labels, []);
    } finally {
      await context.close();
    }
  });

  it('keys pressed while the "Report a problem" reason list has focus do not label or skip', async () => {
    const project = await tally.createProject({
      name: 'Select keys',
      labels: LABELS,
      items: ['select one', 'select two'],
    });
    const { context, page, seen } = await raterPage(project.id);
    try {
      await page.click('details.report summary');
      await page.focus('#report-form select[name="reason"]');
      await page.keyboard.press('s');
      await page.keyboard.press('1');
      await page.waitForTimeout(500);
      assert.deepEqual(seen.posts, ['/login'], 'no label or skip was sent');
      assert.equal(await text(page, '#item-text'), 'select one');
    } finally {
      await context.close();
    }
  });

  it('HTML in an item is shown as text and runs nothing', async () => {
    const evil = '<img src=x onerror=alert(1)>';
    const note = '<script>alert(2)</script><b>bold?</b>';
    const name = '<i>Reviews</i> & "quotes"';
    const project = await tally.createProject({
      name,
      labels: LABELS,
      items: [{ text: evil, note }, 'after the evil one'],
    });
    const { context, page, seen } = await raterPage(project.id);
    try {
      assert.equal(await text(page, '#item-text'), evil, 'the markup is shown literally');
      assert.equal(await page.locator('#item-text *').count(), 0, 'no element was made from the text');
      assert.equal(await page.locator('img').count(), 0, 'no image on the page');
      const noteCell = page.locator('table.fields tr', { hasText: 'note' }).locator('td');
      assert.equal(await noteCell.textContent(), note, 'extra fields are shown literally too');
      assert.equal(await noteCell.locator('*').count(), 0);
      assert.equal(await text(page, 'h1'), name, 'the project name is shown literally');

      await page.waitForTimeout(300);
      assert.deepEqual(seen.dialogs, [], 'no dialog fired');
      assert.deepEqual(seen.pageErrors, []);

      // And the item can still be labelled like any other.
      await page.keyboard.press('2');
      assert.equal(await nextItemText(page, evil), 'after the evil one');
      assert.deepEqual(seen.dialogs, []);
      const rows = await tally.exportRows(project.id);
      assert.equal(rows.e1.data.text, evil);
      assert.deepEqual(rows.e1.labels.map((l) => l.value), ['negative']);
    } finally {
      await context.close();
    }
  });
});
