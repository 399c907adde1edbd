// Every label kind in the browser: a rater labels 20 items by keyboard alone and the export
// holds what the keys meant; a span and a box drawn with the mouse come back identical;
// a phone with touch taps a choice and drags a box; hostile image names and item texts
// show as text. Images come from a tiny HTTP server on loopback, listed in the projects'
// media_origins, which the labelling pages add to their img-src.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { deflateSync } from 'node:zlib';
import {
  startTally,
  launchBrowser,
  newContext,
  watch,
  watchForScript,
  assertNothingRan,
  login,
  until,
  text,
  screenshotPath,
  accessibilityViolations,
} from './lib/harness.mjs';

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 360, height: 740 };
const N = 20;
const ref = (i) => `R${String(i).padStart(2, '0')}`;

// --- a PNG of any size, drawn here (no files, no libraries) ---------------------------------

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}
/** A width x height RGB PNG: sky above, grass below, a red square in the middle. */
function png(width, height) {
  const rows = [];
  for (let y = 0; y < height; y++) {
    const row = Buffer.alloc(1 + width * 3);
    for (let x = 0; x < width; x++) {
      const square = Math.abs(x - width / 2) < width / 8 && Math.abs(y - height / 2) < height / 8;
      const rgb = square ? [200, 40, 40] : y < height * 0.6 ? [150, 190, 230] : [90, 160, 80];
      rgb.forEach((v, k) => (row[1 + x * 3 + k] = v));
    }
    rows.push(row);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Serves `/{w}x{h}/anything.png` as a PNG of that size on 127.0.0.1. */
async function startImageServer() {
  const cache = new Map();
  const server = createServer((req, res) => {
    const m = /^\/(\d{1,4})x(\d{1,4})\//.exec(req.url);
    if (!m) {
      res.writeHead(404).end();
      return;
    }
    const key = `${m[1]}x${m[2]}`;
    if (!cache.has(key)) cache.set(key, png(Number(m[1]), Number(m[2])));
    res.writeHead(200, { 'Content-Type': 'image/png', 'Cache-Control': 'max-age=600' }).end(cache.get(key));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { origin: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((r) => server.close(r)) };
}

// --- the kinds, what the keys do on item i, and what the export must then hold -----------

const SPAN_TEXT = (i) => `🎉 Ada Lovelace met Acme Corp. ${ref(i)}`;

function kinds(origin) {
  const image = (i, size = '200x100') => ({ image: `${origin}/${size}/${ref(i)}.png`, ref: ref(i) });
  return {
    single_choice: {
      body: { labels: ['positive', 'negative', 'neutral'] },
      data: (i) => ({ text: `Review ${ref(i)}: it works.` }),
      keys: (i) => [String(1 + (i % 3))],
      value: (i) => ['positive', 'negative', 'neutral'][i % 3],
    },
    multi_choice: {
      body: { labels: ['red', 'green', 'blue', 'grey'], min: 1 },
      data: (i) => ({ text: `Photo caption ${ref(i)}` }),
      keys: (i) => (i % 2 ? [String(1 + (i % 4))] : [String(1 + (i % 4)), String(1 + ((i + 1) % 4))]).concat('Enter'),
      value: (i) => (i % 2 ? [i % 4] : [i % 4, (i + 1) % 4]).map((k) => ['red', 'green', 'blue', 'grey'][k]).sort(),
      sortValue: true,
    },
    rating: {
      body: { scale: { min: 1, max: 5, anchors: { 1: 'awful', 5: 'great' } } },
      data: (i) => ({ text: `Answer ${ref(i)} to rate` }),
      keys: (i) => [String(1 + (i % 5)), 'Enter'],
      value: (i) => 1 + (i % 5),
    },
    numeric: {
      body: { range: { min: 0, max: 100, step: 0.5 } },
      data: (i) => ({ text: `How old is the house in ${ref(i)}?` }),
      type: (i) => String(i * 2.5),
      keys: () => ['Enter'],
      value: (i) => i * 2.5,
    },
    text: {
      body: { max_length: 200 },
      data: (i) => ({ text: `Transcribe sign ${ref(i)}` }),
      type: (i) => `Straße ${i} «ok»`,
      keys: () => ['Enter'],
      value: (i) => `Straße ${i} «ok»`,
    },
    spans: {
      body: { labels: ['PER', 'ORG'], field: 'text' },
      data: (i) => ({ text: SPAN_TEXT(i) }),
      // Past the emoji (one code point, two UTF-16 units) and the space, select "Ada";
      // on odd items also "Acme", word by word.
      keys: (i) =>
        ['ArrowRight', 'ArrowRight', 'Control+Shift+ArrowRight', '1']
          .concat(i % 2 ? ['Control+ArrowRight', 'Control+ArrowRight', 'ArrowRight', 'Control+Shift+ArrowRight', '2'] : [])
          .concat('Enter'),
      value: (i) => [{ start: 2, end: 5, label: 'PER' }].concat(i % 2 ? [{ start: 19, end: 23, label: 'ORG' }] : []),
    },
    boxes: {
      body: { labels: ['car', 'tree'], field: 'image', media_origins: [origin] },
      data: (i) => image(i),
      // n adds a box a quarter of the image in the middle (200x100: 50x25 at 75,38).
      keys: (i) => ['n', String(1 + (i % 2))].concat(Array(i % 3).fill('Shift+ArrowRight'), 'Enter'),
      value: (i) => [{ x: 75 + 10 * (i % 3), y: 38, w: 50, h: 25, label: ['car', 'tree'][i % 2] }],
    },
    image_choice: {
      body: { labels: ['cat', 'dog'], field: 'image', media_origins: [origin] },
      data: (i) => image(i),
      keys: (i) => [String(1 + (i % 2))],
      value: (i) => ['cat', 'dog'][i % 2],
    },
  };
}

describe('label kinds in the browser', { timeout: 150_000 }, () => {
  let tally;
  let browser;
  let images;
  let KINDS;

  // The rater signs in once; every test's context starts from those cookies, so the
  // sign-in rate limit never slows the suite.
  let signedIn;

  before(async () => {
    [tally, browser, images] = await Promise.all([startTally(), launchBrowser(), startImageServer()]);
    KINDS = kinds(images.origin);
    const context = await newContext(browser);
    await login(await context.newPage(), tally.baseUrl, tally.rater);
    signedIn = await context.storageState();
    await context.close();
  });

  after(async () => {
    await browser?.close();
    await tally?.stop();
    await images?.close();
  });

  let count = 0;
  /** A project of `kind` with `rows` (item data objects), through the API. */
  async function project(kind, body, rows, extra = {}) {
    count += 1;
    const created = await tally.api('POST', '/api/v1/projects', {
      name: `${kind} ${count}`,
      kind,
      overlap: 1,
      ...body,
      ...extra,
    });
    const items = rows.map((data, i) => ({ external_id: `e${i}`, data }));
    const imported = await tally.api('POST', `/api/v1/projects/${created.id}/items`, items);
    assert.equal(imported.imported, items.length);
    return created;
  }

  async function raterPage(pid, options = {}) {
    const context = await newContext(browser, { viewport: DESKTOP, storageState: signedIn, ...options });
    const page = await context.newPage();
    const seen = watch(page);
    await page.goto(`${tally.baseUrl}/rate/${pid}`);
    return { context, page, seen };
  }

  /** Waits for the next item's page (a new URL) or the done page; true when done. */
  async function nextPage(page, previous) {
    await page.waitForURL((url) => url.href !== previous, { waitUntil: 'domcontentloaded' });
    const shown = await page.waitForSelector('#label-form, #done');
    return (await shown.getAttribute('id')) === 'done';
  }

  /** Waits until the kind's script (if any) has set the page up. */
  async function ready(page, kind) {
    await page.waitForLoadState('domcontentloaded');
    if (kind === 'spans') await page.waitForSelector('#item-text.markable');
    if (kind === 'boxes') await page.waitForSelector('#zoom-tools:not([hidden])');
    if (kind === 'image_choice') {
      await page.waitForSelector('#zoom-tools');
      await page.waitForFunction(() => document.getElementById('item-image').complete);
    }
  }

  /** Which item the page shows, from the reference in its text or fields. */
  async function shownRef(page) {
    const m = /R(\d\d)/.exec(await text(page, 'section.item'));
    assert.ok(m, 'the item shows its reference');
    return Number(m[1]);
  }

  for (const kind of ['single_choice', 'multi_choice', 'rating', 'numeric', 'text', 'spans', 'boxes', 'image_choice']) {
    it(`${kind}: 20 items by keyboard alone, and the export holds what the keys meant`, async () => {
      const spec = KINDS[kind];
      const { id: pid } = await project(kind, spec.body, Array.from({ length: N }, (_, i) => spec.data(i)));
      const { context, page, seen } = await raterPage(pid);
      try {
        const done = new Set();
        for (let step = 0; step < N; step++) {
          await ready(page, kind);
          const i = await shownRef(page);
          assert.ok(!done.has(i), `item ${i} is shown once`);
          done.add(i);
          if (spec.type) await page.keyboard.type(spec.type(i));
          const keys = spec.keys(i);
          for (const key of keys.slice(0, -1)) await page.keyboard.press(key);
          if (step === 0) {
            if (kind === 'boxes' || kind === 'image_choice') {
              assert.ok(await page.evaluate(() => document.getElementById('item-image').naturalWidth > 0), 'the image loads');
            }
            await page.screenshot({ path: screenshotPath(`kind-${kind}.png`), fullPage: true });
            assert.deepEqual(await accessibilityViolations(page), [], `${kind}: WCAG 2.1 A and AA`);
          }
          const url = page.url();
          await page.keyboard.press(keys.at(-1));
          const finished = await nextPage(page, url);
          assert.equal(finished, step === N - 1, `the done page comes after the 20th item, not before (step ${step})`);
        }
        assert.equal(done.size, N);
        const rows = await tally.exportRows(pid);
        for (let i = 0; i < N; i++) {
          const labels = rows[`e${i}`].labels;
          assert.equal(labels.length, 1, `item ${i} has one label`);
          const got = spec.sortValue ? [...labels[0].value].sort() : labels[0].value;
          assert.deepEqual(got, spec.value(i), `item ${i}: the stored value is what the keys meant`);
        }
        assert.deepEqual(seen.pageErrors, []);
        assert.deepEqual(seen.consoleErrors, [], 'no console errors (e.g. Content-Security-Policy refusals)');
        assert.deepEqual(seen.failedLoads, [], 'every script, stylesheet and image loads');
      } finally {
        await context.close();
      }
    });
  }

  /** The code-point offsets of `word` in the item text, and where it is on the screen. */
  async function wordOnScreen(page, word) {
    return page.evaluate((word) => {
      const el = document.getElementById('item-text');
      const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const at = node.data.indexOf(word);
        if (at < 0) continue;
        const range = document.createRange();
        range.setStart(node, at);
        range.setEnd(node, at + word.length);
        const r = range.getBoundingClientRect();
        return { left: r.left, right: r.right, y: r.top + r.height / 2 };
      }
      return null;
    }, word);
  }

  async function dragMouse(page, from, to) {
    await page.mouse.move(from.x, from.y);
    await page.mouse.down();
    await page.mouse.move((from.x + to.x) / 2, (from.y + to.y) / 2, { steps: 4 });
    await page.mouse.move(to.x, to.y, { steps: 4 });
    await page.mouse.up();
  }

  it('a span selected with the mouse, saved, comes back identical; a click on a mark removes it', async () => {
    // Two emoji (one code point each, two UTF-16 units) and a Windows line end (two code
    // points the HTML parser would fold into one) before the end.
    const words = '😀😀 Grace Hopper wrote code\r\nand more';
    const { id: pid } = await project('spans', { labels: ['PER', 'ORG'], field: 'text' }, [{ text: words }]);
    const { context, page, seen } = await raterPage(pid);
    try {
      await ready(page, 'spans');
      const select = async (word) => {
        const at = await wordOnScreen(page, word);
        assert.ok(at, `${word} is on the page`);
        await dragMouse(page, { x: at.left + 1, y: at.y }, { x: at.right - 1, y: at.y });
      };
      await select('Hopper');
      await page.keyboard.press('1');
      await select('Grace');
      await page.click('.label-chip[data-label="ORG"]');
      assert.deepEqual(JSON.parse(await page.inputValue('#answer')), [
        { start: 3, end: 8, label: 'ORG' },
        { start: 9, end: 15, label: 'PER' },
      ], 'offsets count code points: each emoji is one');
      assert.deepEqual(await page.locator('#item-text mark').allTextContents(), ['Grace', 'Hopper']);
      assert.equal(
        await page.locator('#item-text mark', { hasText: 'Hopper' }).evaluate((m) => getComputedStyle(m).borderBottomColor),
        await page.locator('.label-chip[data-label="PER"]').evaluate((c) => getComputedStyle(c).borderTopColor),
        "a mark has its label's colour",
      );
      await page.locator('#item-text mark', { hasText: 'Grace' }).click();
      assert.deepEqual(await page.locator('#item-text mark').allTextContents(), ['Hopper'], 'a click removed the mark');
      assert.equal(await page.locator('#item-text').textContent(), words, 'the text itself is unchanged, CR and all');
      // The last word by keyboard, after the line end.
      await page.keyboard.press('End');
      await page.keyboard.press('Control+Shift+ArrowLeft');
      await page.keyboard.press('2');
      const length = Array.from(words).length;
      const answer = JSON.parse(await page.inputValue('#answer'));
      assert.deepEqual(answer, [
        { start: 9, end: 15, label: 'PER' },
        { start: length - 4, end: length, label: 'ORG' },
      ]);
      const url = page.url();
      await page.keyboard.press('Enter');
      assert.equal(await nextPage(page, url), true);
      assert.deepEqual((await tally.exportRows(pid)).e0.labels[0].value, answer);
      assert.deepEqual(seen.pageErrors, []);
      assert.deepEqual(seen.consoleErrors, []);
    } finally {
      await context.close();
    }
  });

  it('a box drawn with the mouse on a scaled image, adjusted, zoomed, saved, comes back identical', async () => {
    const { id: pid } = await project('boxes', { labels: ['car', 'tree'], field: 'image', media_origins: [images.origin] }, [
      { image: `${images.origin}/1000x500/street.png` },
    ]);
    const { context, page, seen } = await raterPage(pid);
    try {
      await ready(page, 'boxes');
      const canvas = async () => page.locator('.canvas').boundingBox();
      let c = await canvas();
      assert.ok(c.width < 1000, `the 1000-pixel image is scaled down to fit (${c.width})`);
      const scale = 1000 / c.width;
      const p = (fx, fy) => ({ x: c.x + fx * c.width, y: c.y + fy * c.height });
      await page.keyboard.press('2');
      await dragMouse(page, p(0.2, 0.2), p(0.6, 0.7));
      let [box] = JSON.parse(await page.inputValue('#answer'));
      assert.equal(box.label, 'tree', 'the box takes the label picked before');
      const near = (got, want, what) => assert.ok(Math.abs(got - want) <= 2, `${what}: ${got} is near ${want}`);
      near(box.x, 200, 'x');
      near(box.y, 100, 'y');
      near(box.w, 400, 'w');
      near(box.h, 250, 'h');

      // The corner handle makes it 50 screen pixels wider, in image pixels.
      const handle = await page.locator('.box.selected .handle.se').boundingBox();
      const from = { x: handle.x + handle.width / 2, y: handle.y + handle.height / 2 };
      await dragMouse(page, from, { x: from.x + 50, y: from.y });
      const [resized] = JSON.parse(await page.inputValue('#answer'));
      near(resized.w, box.w + 50 * scale, 'w after the handle');
      assert.equal(resized.x, box.x, 'the left edge stays');
      box = resized;

      // Zoom in: the image grows, the box stays where it is on the image.
      await page.keyboard.press('+');
      const zoomed = await canvas();
      near(zoomed.width, c.width * 1.5, 'canvas width after +');
      assert.deepEqual(JSON.parse(await page.inputValue('#answer')), [box]);
      await page.click('#zoom-fit');
      c = await canvas();

      // A second box, relabelled by key, then deleted with Delete.
      await dragMouse(page, p(0.7, 0.1), p(0.9, 0.3));
      await page.keyboard.press('1');
      assert.deepEqual(JSON.parse(await page.inputValue('#answer')).map((b) => b.label), ['tree', 'car']);
      await page.keyboard.press('Delete');
      assert.deepEqual(JSON.parse(await page.inputValue('#answer')), [box], 'Delete removed the selected box');
      assert.equal(await page.locator('.box').count(), 1);
      assert.equal(
        await page.locator('.box').evaluate((b) => getComputedStyle(b).borderTopColor),
        await page.locator('.label-chip[data-label="tree"]').evaluate((c) => getComputedStyle(c).borderTopColor),
        "a box has its label's colour",
      );

      const url = page.url();
      await page.keyboard.press('Enter');
      assert.equal(await nextPage(page, url), true);
      assert.deepEqual((await tally.exportRows(pid)).e0.labels[0].value, [box]);
      assert.deepEqual(seen.pageErrors, []);
      assert.deepEqual(seen.consoleErrors, []);
      assert.deepEqual(seen.failedLoads, []);
    } finally {
      await context.close();
    }
  });

  /** The open link's page on a 360-pixel phone with touch. */
  async function phonePage(pid) {
    const context = await newContext(browser, { viewport: PHONE, hasTouch: true, isMobile: true });
    const page = await context.newPage();
    const seen = watch(page);
    const { open_link_url: link } = await tally.api('GET', `/api/v1/projects/${pid}`);
    await page.goto(new URL(link, tally.baseUrl).href);
    await page.waitForSelector('#label-form');
    return { context, page, seen };
  }

  const overflow = (page) =>
    page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);

  const USERS = { pools: { generalist: 1, expert: 0, user: 1 }, open_link: true };

  it("the product's users on a 360-pixel phone: tap an image choice, drag a box with a finger", async () => {
    const choice = await project('image_choice', { ...KINDS.image_choice.body, ...USERS }, [
      { image: `${images.origin}/800x600/pet.png`, ref: ref(0) },
    ]);
    let view = await phonePage(choice.id);
    try {
      const { page, seen } = view;
      assert.ok(await page.evaluate(() => document.getElementById('item-image').naturalWidth > 0), 'the image loads');
      assert.equal(await overflow(page), 0, 'nothing sticks out sideways at 360 pixels');
      await page.screenshot({ path: screenshotPath('kind-image_choice-phone.png') });
      const url = page.url();
      await page.tap('#label-form button[value="dog"]');
      await until(async () => page.url() !== url, { what: 'the page after the tap' });
      assert.deepEqual((await tally.exportRows(choice.id)).e0.labels[0].value, 'dog');
      assert.deepEqual(seen.pageErrors, []);
      assert.deepEqual(seen.consoleErrors, []);
    } finally {
      await view.context.close();
    }

    const drawn = await project('boxes', { ...KINDS.boxes.body, ...USERS }, [{ image: `${images.origin}/800x600/road.png` }]);
    view = await phonePage(drawn.id);
    try {
      const { page, seen, context } = view;
      await ready(page, 'boxes');
      assert.equal(await overflow(page), 0, 'nothing sticks out sideways at 360 pixels');
      const c = await page.locator('.canvas').boundingBox();
      const cdp = await context.newCDPSession(page);
      const touch = (type, points) => cdp.send('Input.dispatchTouchEvent', { type, touchPoints: points });
      const pt = (fx, fy) => ({ x: Math.round(c.x + fx * c.width), y: Math.round(c.y + fy * c.height) });
      await touch('touchStart', [pt(0.25, 0.25)]);
      // A finger that rests at the corner before lifting: a quick flick would start a fling,
      // and a tap that stops a fling is not a click.
      for (const f of [0.3, 0.4, 0.5, 0.6, 0.75, 0.75, 0.75]) {
        await touch('touchMove', [pt(f, f)]);
        await page.waitForTimeout(40);
      }
      await touch('touchEnd', []);
      const [box] = JSON.parse(await page.inputValue('#answer'));
      assert.ok(box, 'a finger drag drew a box');
      const near = (got, want, what) => assert.ok(Math.abs(got - want) <= 800 / c.width + 1, `${what}: ${got} is near ${want}`);
      near(box.x, 200, 'x');
      near(box.y, 150, 'y');
      near(box.w, 400, 'w');
      near(box.h, 300, 'h');
      await page.screenshot({ path: screenshotPath('kind-boxes-phone.png') });
      const url = page.url();
      await page.tap('#save');
      await until(async () => page.url() !== url, { what: 'the page after saving' });
      assert.deepEqual((await tally.exportRows(drawn.id)).e0.labels[0].value, [box]);
      assert.deepEqual(seen.pageErrors, []);
      assert.deepEqual(seen.consoleErrors, []);
    } finally {
      await view.context.close();
    }
  });

  it('with JavaScript off, spans and boxes say what they need and take typed JSON', async () => {
    const marked = await project('spans', KINDS.spans.body, [{ text: SPAN_TEXT(0) }]);
    const drawn = await project('boxes', KINDS.boxes.body, [KINDS.boxes.data(0)]);
    const context = await newContext(browser, { javaScriptEnabled: false, storageState: signedIn });
    try {
      const page = await context.newPage();
      for (const [pid, needs, value] of [
        [marked.id, /Marking text with the mouse needs JavaScript.*type the marks as JSON/s, [{ start: 2, end: 5, label: 'ORG' }]],
        [drawn.id, /Drawing boxes needs JavaScript.*type the boxes as JSON/s, [{ x: 1, y: 2, w: 30, h: 40, label: 'tree' }]],
      ]) {
        await page.goto(`${tally.baseUrl}/rate/${pid}`);
        assert.match(await text(page, '#needs-js'), needs);
        assert.ok(await page.locator('#answer').isVisible(), 'the JSON box shows');
        assert.equal(await page.inputValue('#answer'), '[]');
        await page.fill('#answer', JSON.stringify(value));
        await Promise.all([page.waitForSelector('#done'), page.click('#save')]);
        assert.deepEqual((await tally.exportRows(pid)).e0.labels[0].value, value);
      }
    } finally {
      await context.close();
    }
  });

  it('a large image to choose about zooms with + and pans by dragging; a digit still answers', async () => {
    const { id: pid } = await project('image_choice', KINDS.image_choice.body, [
      { image: `${images.origin}/1600x1200/big.png`, ref: 'R90' },
    ]);
    const { context, page, seen } = await raterPage(pid);
    try {
      await ready(page, 'image_choice');
      const stage = () =>
        page.evaluate(() => {
          const s = document.getElementById('image-stage');
          const img = document.getElementById('item-image');
          return { width: img.getBoundingClientRect().width, client: s.clientWidth, scroll: s.scrollWidth, left: s.scrollLeft };
        });
      const fitted = await stage();
      assert.ok(fitted.width <= fitted.client + 1, `the image fits the page at first (${fitted.width} in ${fitted.client})`);
      await page.keyboard.press('+');
      await page.keyboard.press('+');
      const zoomed = await stage();
      assert.ok(zoomed.width > fitted.width * 2, `+ twice zooms in (${fitted.width} to ${zoomed.width})`);
      assert.ok(zoomed.scroll > zoomed.client, 'the zoomed image can be panned');
      assert.equal(await text(page, '#zoom-level'), '225%');
      // Drag from the middle of what the stage shows, leftwards: the view moves right.
      const view = await page.locator('#image-stage').boundingBox();
      const start = { x: view.x + view.width / 2, y: view.y + Math.min(view.height, 500) / 2 };
      await dragMouse(page, start, { x: start.x - 150, y: start.y });
      const panned = await stage();
      assert.ok(panned.left > zoomed.left + 100, `dragging pans the image (${zoomed.left} to ${panned.left})`);
      await page.click('#zoom-tools button:has-text("Fit")');
      assert.ok(Math.abs((await stage()).width - fitted.width) < 2, 'Fit shows the whole image again');
      const url = page.url();
      await page.keyboard.press('2');
      await nextPage(page, url);
      assert.deepEqual((await tally.exportRows(pid)).e0.labels.map((l) => l.value), ['dog']);
      assert.deepEqual(seen.pageErrors, []);
      assert.deepEqual(seen.consoleErrors, []);
    } finally {
      await context.close();
    }
  });

  it('a hostile image name and item text show as text and run nothing', async () => {
    const HOSTILE_TEXT = '<img src=x onerror=alert(1)>';
    const hostileName = `"><img src=x onerror="window.__xss='imgname'">.png`;
    const imageUrl = `${images.origin}/300x200/${hostileName}`;
    const choice = await project('image_choice', KINDS.image_choice.body, [{ image: imageUrl, text: HOSTILE_TEXT }]);
    const marked = await project('spans', KINDS.spans.body, [{ text: HOSTILE_TEXT }]);
    const context = await newContext(browser, { viewport: DESKTOP, storageState: signedIn });
    try {
      const page = await context.newPage();
      const seen = watchForScript(page);
      const markers = [HOSTILE_TEXT, `onerror="window.__xss`];
      const origins = { imageOrigins: [images.origin] };

      await page.goto(`${tally.baseUrl}/rate/${choice.id}`);
      await page.waitForSelector('#item-image');
      assert.ok(await page.evaluate(() => document.getElementById('item-image').naturalWidth > 0), 'the image loads');
      assert.equal(await text(page, '#item-text'), HOSTILE_TEXT);
      assert.equal(await text(page, '#image-name'), hostileName);
      assert.equal(await page.getAttribute('#image-full', 'href'), imageUrl, 'the full-size link is the URL as given');
      assert.equal(await page.getAttribute('#item-image', 'alt'), `the image to label: ${hostileName}`);
      await page.waitForTimeout(200);
      assert.ok((await assertNothingRan(page, seen, 'the image choice page', markers, origins)) >= 1);
      const csp = (await page.request.get(page.url())).headers()['content-security-policy'];
      assert.match(csp, new RegExp(`img-src 'self' data: ${images.origin.replace(/\./g, '\\.')};`), 'the page allows its media origin');
      const home = (await page.request.get(`${tally.baseUrl}/`)).headers()['content-security-policy'];
      assert.match(home, /img-src 'self' data:;/, 'other pages keep the default');
      await page.keyboard.press('1');
      await page.waitForSelector('#done');
      await assertNothingRan(page, seen, 'the done page', markers);

      await page.goto(`${tally.baseUrl}/rate/${marked.id}`);
      await ready(page, 'spans');
      assert.equal(await text(page, '#item-text'), HOSTILE_TEXT);
      await page.keyboard.press('Control+Shift+ArrowRight');
      await page.keyboard.press('1');
      assert.deepEqual(await page.locator('#item-text mark').allTextContents(), ['<img'], 'a mark over hostile text is text');
      await page.waitForTimeout(200);
      assert.ok((await assertNothingRan(page, seen, 'the spans page', markers, origins)) >= 1);
      await page.keyboard.press('Enter');
      await page.waitForSelector('#done');
      assert.deepEqual((await tally.exportRows(marked.id)).e0.labels[0].value, [{ start: 0, end: 4, label: 'PER' }]);
    } finally {
      await context.close();
    }
  });
});
