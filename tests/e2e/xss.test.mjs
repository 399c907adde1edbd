// Stored and reflected XSS: hostile text planted in every place that shows text from outside
// (project name, instructions, choices, item text, field names and values, external ids,
// gold answers and explanations, pause reasons, feedback sources, values and context, report
// slices and chart labels, link users, completion codes and URLs, form echoes) shows as text
// on every page an admin, a rater and the product's users see, and runs nothing.
//
// The browser ignores tally's Content-Security-Policy here (bypassCSP): the policy would stop
// an inline script even if escaping failed, so this tests the escaping itself; that every
// document sends the policy is checked separately.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import {
  startTally,
  launchBrowser,
  newContext,
  login,
  nextItemText,
  watchForScript,
  activeContent,
  assertNothingRan,
  screenshotPath,
} from './lib/harness.mjs';

/** Every HTML vector in one string, tagged with where it was planted so a failure says where. */
const hostile = (tag) =>
  `</textarea></title><script>window.__xss='${tag}'</script>` +
  `<img src=x onerror="window.__xss='${tag}'">` +
  `"><svg onload="window.__xss='${tag}'">'-alert('${tag}')-'`;
const jsUrl = (tag) => `javascript:window.__xss='${tag}'`;
/**
 * Markup from the payloads that must never reach a page unescaped. A bare `onerror="` may sit
 * in a text node whose `<` is escaped (the Markdown instructions keep quotes as typed); an
 * attribute that breaks out is caught by the DOM check (`activeContent`) instead.
 */
const RAW_MARKERS = ['<script>', '<img src=x', '<svg onload', '<svg/onload', '</textarea></title>'];

// Choices hold at most 100 characters: one vector each.
const LABELS = [
  `<script>window.__xss='label1'</script>`,
  `<img src=x onerror="window.__xss='label2'">`,
  `"><svg onload="window.__xss='label3'">'-alert('label3')-'`,
  `</textarea></title><script>alert('label4')</script>`,
  jsUrl('label5'),
];
const NAME = hostile('name');
const INSTRUCTIONS = `${hostile('instructions')}\nSecond line &lt;i&gt;as typed&lt;/i&gt; ${jsUrl('instructions')}`;
const FIELD = `"><img src=x onerror="window.__xss='field'">`; // a data field whose name is hostile
const SLICE = [hostile('sliceA'), hostile('sliceB')];
const EXT = [1, 2, 3, 4, 5].map((n) => hostile(`ext${n}`));
const TEXT = [`${hostile('text1')} &amp;lt;b&amp;gt;`, hostile('text2'), null, hostile('text4'), hostile('text5')];
const DATA = [
  { text: TEXT[0], [FIELD]: SLICE[0], note: hostile('note1'), link: jsUrl('link1') },
  { text: TEXT[1], [FIELD]: SLICE[1] },
  { [FIELD]: SLICE[0], body: hostile('json3') }, // no text: pages show the data as JSON
  { text: TEXT[3], [FIELD]: SLICE[1] },
  { text: TEXT[4], [FIELD]: SLICE[0] },
];
const GOLD = LABELS[2]; // the second item's known answer
const SOURCE = `<img src=x onerror="window.__xss='source'">"><svg onload=alert('source')>`; // 100 bytes at most
const RAW_VALUE = hostile('raw');
const CONTEXT = { [hostile('ctxkey')]: hostile('ctxvalue') };
const PAUSE = hostile('pause');
const TAG = `"><img src=x onerror="window.__xss='tag'">`; // expertise tags hold 50 characters
// A link user's name is `link:{pid}:app:{uid}`, and names hold at most 100 characters.
const UID = `</title><img src=x onerror="window.__xss='uid'">"><svg onload=alert('uid')>'-'`;
const COMPLETION_CODE = hostile('code');
const COMPLETION_URL = `https://example.invalid/done?c="><svg/onload=window.__xss='curl'>'-alert('curl')-'</title>`;
const Q_NAME = hostile('qname');
const EXPLANATION = `${hostile('explanation')}\nand why`;
const XAVIER = { name: 'xavier', password: 'xavier-password-123' };

const escapeRegExp = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const textOf = (page, selector) => page.locator(selector).textContent();
const textsOf = (page, selector) => page.locator(selector).allTextContents();
/** Clicks a submit button and waits for the page the form's answer loads. */
const submit = (page, selector) => Promise.all([page.waitForNavigation(), page.click(selector)]);

describe('hostile text runs nothing anywhere', { timeout: 120_000 }, () => {
  let tally;
  let browser;
  let pid; // the project with hostile text everywhere
  let qid; // a project with a qualification question
  let items; // the project's item ids in import order
  const contexts = [];

  /** A page in a fresh context that ignores the CSP, watched for anything that runs. */
  async function openPage(user) {
    const context = await newContext(browser, { bypassCSP: true });
    contexts.push(context);
    const page = await context.newPage();
    const seen = watchForScript(page);
    if (user) await login(page, tally.baseUrl, user);
    seen.documents.length = 0; // the sign-in pages hold nothing planted
    return { page, seen };
  }

  const check = (view, where) => assertNothingRan(view.page, view.seen, where, RAW_MARKERS);

  /** Opens a path, checks the page and returns its status. */
  async function visit(view, path, where = path) {
    const res = await view.page.goto(tally.baseUrl + path);
    assert.ok((await check(view, where)) >= 1, `${where}: the page itself was read`);
    return res.status();
  }

  /** A signed link for the product's user `uid` to the hostile project. */
  async function signedLink(uid) {
    const secret = (await tally.api('GET', `/api/v1/projects/${pid}`)).link_secret;
    const exp = Math.floor(Date.now() / 1000) + 3600;
    const sig = createHmac('sha256', secret).update(`${uid}|${exp}`).digest('hex');
    return `/u/${pid}?uid=${encodeURIComponent(uid)}&exp=${exp}&sig=${sig}`;
  }

  async function plantProject() {
    const project = await tally.api('POST', '/api/v1/projects', {
      name: NAME,
      kind: 'single_choice',
      labels: LABELS,
      pools: { generalist: 2, expert: 0, user: 1 },
      instructions: INSTRUCTIONS,
      report_threshold: 1,
      open_link: true,
      completion_url: COMPLETION_URL,
      completion_after: 1,
      completion_code: COMPLETION_CODE,
    });
    pid = project.id;
    const rows = DATA.map((data, i) => ({ external_id: EXT[i], data, ...(i === 1 ? { gold: GOLD } : {}) }));
    assert.equal((await tally.api('POST', `/api/v1/projects/${pid}/items`, rows)).imported, rows.length);
    items = Object.values(await tally.exportRows(pid)).map((r) => r.id).sort((a, b) => a - b);
  }

  /**
   * Xavier labels the first three items, reports the fourth with a hostile note (one report
   * holds it back) and skips the fifth with a hostile reason; then he is paused, with one.
   */
  async function plantXaviersWork() {
    const add = tally.cli(
      ['users', 'add', XAVIER.name, '--role', 'rater', '--expertise', TAG, '--password-stdin'],
      XAVIER.password + '\n',
    );
    assert.equal(add.status, 0, `xavier is added: ${add.stderr}`);
    const asXavier = { bearer: tally.cli(['tokens', 'issue', XAVIER.name]).stdout.trim() };
    const next = async () => (await tally.api('GET', `/api/v1/projects/${pid}/next`, undefined, asXavier)).item.id;
    const post = (path, body) => tally.api('POST', `/api/v1/projects/${pid}/items/${path}`, body, asXavier);
    for (const value of [LABELS[0], LABELS[2], LABELS[1]]) await post(`${await next()}/labels`, { value });
    const fourth = await next();
    assert.equal(fourth, items[3]);
    await post(`${fourth}/report`, { reason: 'offensive', note: hostile('note') });
    await post(`${await next()}/skip`, { reason: hostile('skip') });

    const xavier = (await tally.api('GET', `/api/v1/projects/${pid}/raters`)).find((r) => r.name === XAVIER.name);
    await tally.api('POST', `/api/v1/projects/${pid}/raters/${xavier.rater_id}/pause`, { reason: PAUSE });
  }

  /** Process feedback on the first item: hostile source, raw value (mapped) and context. */
  async function plantFeedback() {
    const { key } = await tally.api('POST', `/api/v1/projects/${pid}/feedback-keys`);
    await tally.api('POST', `/api/v1/projects/${pid}/sources`, { source: SOURCE, mapping: { [RAW_VALUE]: LABELS[0] } });
    const event = { event_id: hostile('event'), external_id: EXT[0], value: RAW_VALUE, source: SOURCE, context: CONTEXT };
    const sent = await tally.request('POST', `/api/v1/projects/${pid}/feedback`, event, { bearer: key });
    assert.equal(sent.status, 201, `the feedback event is accepted: ${sent.text}`);
  }

  /** A project whose qualification question explains itself with hostile text. */
  async function plantQualification() {
    const project = await tally.api('POST', '/api/v1/projects', {
      name: Q_NAME,
      kind: 'single_choice',
      labels: LABELS.slice(0, 2),
      overlap: 1,
      qualify_accuracy: 0.5,
    });
    qid = project.id;
    await tally.api('POST', `/api/v1/projects/${qid}/items`, [
      { external_id: 'q1', data: { text: hostile('qtext') }, gold: LABELS[0], qualification: true, explanation: EXPLANATION },
      { external_id: 'r1', data: { text: 'a real item' } },
    ]);
  }

  before(async () => {
    tally = await startTally();
    browser = await launchBrowser();
    await plantProject();
    await plantXaviersWork();
    await plantFeedback();
    await plantQualification();
  });

  after(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close();
    await tally?.stop();
  });

  it('the checks notice a payload that does run, on a page that sends the CSP', async () => {
    // The sign-in page as served, with one payload put in unescaped on the way.
    const view = await openPage();
    await view.page.route('**/login', async (route) => {
      const response = await route.fetch();
      const body = (await response.text()).replace('<main>', `<main><p>${LABELS[1]}</p>`);
      await route.fulfill({ response, body });
    });
    const res = await view.page.goto(tally.baseUrl + '/login');
    assert.match(res.headers()['content-security-policy'], /script-src 'self'/, 'the CSP header is kept');
    await view.page.waitForFunction(() => window.__xss !== undefined);
    assert.ok((await activeContent(view.page)).some((found) => found.includes('onerror')));
    await assert.rejects(check(view, 'a page made to fail'), /the payload planted as label2 ran/);
  });

  it('hostile user names and non-http completion URLs are refused', async () => {
    for (const name of ['<script>alert(1)</script>', '"><svg onload=alert(1)>', "x'-alert(1)-'", 'javascript:alert(1)']) {
      const result = tally.cli(['users', 'add', name, '--role', 'rater', '--password-stdin'], 'long-enough-password\n');
      assert.notEqual(result.status, 0, `the CLI refuses the name ${name}`);
      assert.match(result.stderr, /letters, digits/);
    }
    const urls = [jsUrl('api'), 'JavaScript:alert(1)', ' javascript:alert(1)', 'data:text/html,<script>alert(1)</script>', 'https://x.example/ "><svg>'];
    for (const url of urls) {
      const spec = { name: 'p', kind: 'single_choice', labels: ['a', 'b'], overlap: 1, completion_url: url };
      const res = await tally.request('POST', '/api/v1/projects', spec);
      assert.equal(res.status, 422, `completion_url ${url} is refused`);
      assert.equal(JSON.parse(res.text).field, 'completion_url');
    }

    // The same on the admin pages: a refused form keeps what was typed, as text.
    const admin = await openPage(tally.admin);
    const { page } = admin;
    await visit(admin, '/admin/users');
    await page.fill('input[aria-label="name"]', `"><svg onload="window.__xss='username'">`);
    await submit(page, 'form[action="/admin/users"] button[type="submit"]');
    await check(admin, 'the people page refusing a hostile name');
    assert.match(await textOf(page, '[role="alert"]'), /letters, digits/);
    // Only the name column: the status column names projects, and a planted project name
    // holds the same payload, as text.
    assert.equal(await page.locator('#users tbody td:first-child', { hasText: 'svg' }).count(), 0, 'nobody was added');

    await visit(admin, '/admin/projects/new');
    const typed = {
      'input[name="name"]': hostile('formname'),
      'textarea[name="labels"]': LABELS.join('\n'),
      'textarea[name="instructions"]': hostile('forminstr'),
      'input[name="completion_url"]': jsUrl('formurl'),
      'input[name="completion_code"]': hostile('formcode'),
    };
    for (const summary of await page.locator('details.policy summary').all()) await summary.click();
    for (const [selector, value] of Object.entries(typed)) await page.fill(selector, value);
    await submit(page, 'form[action="/admin/projects"] button[type="submit"]');
    await check(admin, 'the new-project form refusing a javascript: URL');
    assert.match(await textOf(page, '[role="alert"]'), /http\(s\) URL/);
    for (const [selector, value] of Object.entries(typed)) assert.equal(await page.inputValue(selector), value, selector);
    const names = (await tally.api('GET', '/api/v1/projects')).map((p) => p.name);
    assert.deepEqual(names.sort(), [NAME, Q_NAME].sort(), 'no project was made');
  });

  it('a rater sees the project, items, field names, choices and explanations as text', async () => {
    const rita = await openPage(tally.rater);
    const { page } = rita;
    await visit(rita, '/');
    assert.deepEqual(await textsOf(page, 'ul.projects h2'), [NAME, Q_NAME]);

    await visit(rita, `/rate/${pid}`);
    assert.equal(await page.title(), `${NAME} · tally`);
    assert.equal(await textOf(page, '.bar h1'), NAME);
    assert.ok(
      (await textOf(page, '#instructions .markdown')).includes(hostile('instructions')),
      'raw HTML in the Markdown instructions shows as the text it is',
    );
    assert.equal(await textOf(page, '#item-text'), TEXT[0]);
    assert.equal(await page.locator('#item-text *, .bar h1 *').count(), 0);
    assert.equal(await page.locator('#instructions .markdown :not(p, br)').count(), 0, 'only paragraphs come of the instructions');
    const fields = await page.locator('table.fields tr').evaluateAll((rows) =>
      rows.map((r) => [r.querySelector('th').textContent, r.querySelector('td').textContent]),
    );
    const { text: _, ...extra } = DATA[0];
    assert.deepEqual(fields.sort(), Object.entries(extra).sort(), 'field names and values, as text');
    const buttons = page.locator('#label-form button[type="submit"]');
    assert.deepEqual(await buttons.evaluateAll((bs) => bs.map((b) => b.value)), LABELS);
    assert.deepEqual(await buttons.allTextContents(), LABELS.map((l, i) => `${i + 1} ${l}`));
    await page.screenshot({ path: screenshotPath('xss-rate.png'), fullPage: true });

    // Keys with no choice do nothing; then 1 labels, 2 labels and s skips.
    for (const key of ['9', '8', '7', '6']) await page.keyboard.press(key);
    await page.waitForTimeout(300);
    await check(rita, 'the labelling page after keys 6-9');
    assert.equal(await textOf(page, '#item-text'), TEXT[0], 'keys without a choice do nothing');
    await page.keyboard.press('1');
    assert.equal(await nextItemText(page, TEXT[0]), TEXT[1]);
    await check(rita, 'the labelling page after key 1');
    await page.keyboard.press('2');
    const json = await nextItemText(page, TEXT[1]);
    assert.deepEqual(JSON.parse(json), DATA[2], 'an item without text shows its data as JSON, as text');
    await check(rita, 'the labelling page after key 2');
    await page.keyboard.press('s');
    await page.keyboard.press('0');
    assert.equal(await nextItemText(page, json), TEXT[4], 'the held-back fourth item is not offered');
    await check(rita, 'the labelling page after key s');
    const rows = await tally.exportRows(pid);
    assert.deepEqual(rows[EXT[0]].labels.map((l) => l.value), [LABELS[0], LABELS[0]], 'the hostile choice is stored as sent');
    assert.deepEqual(rows[EXT[1]].labels.map((l) => l.value).sort(), [LABELS[2], LABELS[1]].sort());

    // A qualification question answered wrong shows the right answer and the explanation.
    await visit(rita, `/rate/${qid}`);
    assert.equal(await textOf(page, '#item-text'), hostile('qtext'));
    await Promise.all([page.waitForURL('**/explained'), page.keyboard.press('2')]);
    await check(rita, 'the qualification explanation');
    assert.equal(await page.title(), `${Q_NAME}: qualification · tally`);
    assert.equal(await textOf(page, '#given'), LABELS[1]);
    assert.equal(await textOf(page, '#answer'), LABELS[0]);
    assert.equal(await textOf(page, '#explanation'), EXPLANATION);
    for (const key of ['1', '2', 's']) await page.keyboard.press(key);
    await page.waitForTimeout(200);
    await check(rita, 'the qualification explanation after keys');

    // A signed link with a hostile uid, followed while signed in, asks first, as text.
    await visit(rita, await signedLink(UID), 'the switch page');
    assert.equal(await page.inputValue('#switch input[name="uid"]'), UID);
    assert.deepEqual(await textsOf(page, '#switch p strong'), [tally.rater.name, NAME]);
  });

  /** The light labelling page, keys, and the finished page with the code and URL. */
  async function labelOnceAndFinish(view, where, expectedText) {
    const { page } = view;
    assert.match(new URL(page.url()).pathname, new RegExp(`^/rate/${pid}/items/\\d+$`));
    assert.ok((await check(view, where)) >= 1);
    assert.equal(await textOf(page, 'h1'), NAME);
    assert.ok((await textOf(page, '#question')).includes('<script>'), 'raw HTML in the instructions shows as text');
    assert.equal(await textOf(page, '#item-text'), expectedText);
    for (const key of ['9', '6']) await page.keyboard.press(key);
    await page.waitForTimeout(200);
    await check(view, `${where} after keys 9 and 6`);
    await Promise.all([page.waitForSelector('#finished'), page.keyboard.press('1')]);
    await check(view, `${where}: the finished page`);
    assert.equal(await page.title(), `${NAME} · tally`);
    assert.equal(await textOf(page, '#completion-code'), COMPLETION_CODE);
    assert.equal(await page.getAttribute('#completion-link', 'href'), COMPLETION_URL);
    assert.equal(await page.getAttribute('meta[http-equiv="refresh"]', 'content'), `5;url=${COMPLETION_URL}`);
  }

  it("the product's users: open link, and signed link with a hostile uid", async () => {
    const { open_link_url: openUrl } = await tally.api('GET', `/api/v1/projects/${pid}`);
    const visitor = await openPage();
    await visitor.page.goto(new URL(openUrl, tally.baseUrl).href);
    await labelOnceAndFinish(visitor, 'the open link', TEXT[0]);
    await visitor.page.screenshot({ path: screenshotPath('xss-finished.png'), fullPage: true });

    const signed = await openPage();
    await signed.page.goto(tally.baseUrl + (await signedLink(UID)));
    await labelOnceAndFinish(signed, 'the signed link', TEXT[1]);
  });

  it('a signed link with a long uid works, not a server error', async () => {
    const uid = hostile('long-uid');
    const res = await fetch(tally.baseUrl + (await signedLink(uid)), { redirect: 'manual' });
    assert.equal(res.status, 303, `a ${uid.length}-character uid gets ${res.status}`);
  });

  it('a paused rater sees the hostile reason as text', async () => {
    const xavier = await openPage(XAVIER);
    assert.equal(await visit(xavier, `/rate/${pid}`, 'the paused rater'), 403);
    assert.equal(await textOf(xavier.page, '[role="alert"]'), `paused by an admin: ${PAUSE}`);
  });

  it('the sign-in page echoes a hostile name and next path as text', async () => {
    const view = await openPage();
    const next = `/"><svg onload="window.__xss='next'">`;
    const kept = next.replace(/ /g, '%20'); // percent-encoded for the Location header
    await visit(view, `/login?next=${encodeURIComponent(next)}`, 'the sign-in page');
    assert.equal(await view.page.inputValue('input[name="next"]'), kept);
    await view.page.fill('input[name="name"]', hostile('login'));
    await view.page.fill('input[name="password"]', 'wrong-password-here');
    await submit(view.page, 'form[action="/login"] button[type="submit"]');
    await check(view, 'the sign-in page after a failed login');
    assert.equal(await view.page.inputValue('input[name="name"]'), hostile('login'));
    assert.equal(await view.page.inputValue('input[name="next"]'), kept);
  });

  it('an admin sees every planted string as text on every page', async () => {
    const admin = await openPage(tally.admin);
    const { page } = admin;
    await visit(admin, '/admin');
    assert.equal(await textOf(page, `a[href="/admin/projects/${pid}"]`), NAME);
    assert.equal(await textOf(page, `a[href="/admin/projects/${qid}"]`), Q_NAME);
    assert.ok((await textsOf(page, 'table.list td')).includes(`${LABELS.join(', ')} · overlap 2`));

    await visit(admin, `/admin/projects/${pid}`);
    assert.equal(await page.title(), `${NAME} · tally`);
    assert.equal(await textOf(page, '.bar h1'), NAME);
    assert.match(await textOf(page, '.bar .muted'), new RegExp(escapeRegExp(LABELS.join(' / '))));
    const paused = await page.locator('#raters tr', { hasText: XAVIER.name }).locator('td').last().textContent();
    assert.match(paused, new RegExp(`paused\\s+${escapeRegExp(`paused by an admin: ${PAUSE}`)}`));
    const raters = await textsOf(page, '#raters tbody tr td:first-child');
    assert.ok(raters.includes(`link:${pid}:app:${UID}`), `the signed link's user is listed as text: ${raters}`);
    assert.equal(await textOf(page, '#held li strong'), EXT[3]);
    assert.ok((await textOf(page, '#held li')).includes(`: ${TEXT[3]}`));
    assert.equal(await textOf(page, '#sources tbody td:first-child'), SOURCE);
    assert.equal(await textOf(page, '#instructions p.prewrap'), INSTRUCTIONS);

    // Uploads refused for a hostile file name and a hostile field name name them as text.
    const upload = async (name, content) => {
      await page.setInputFiles('input[name="file"]', { name, mimeType: 'text/plain', buffer: Buffer.from(content) });
      await submit(page, 'form[action$="/import"] button[type="submit"]');
      await check(admin, `an upload named ${name}`);
      return textOf(page, '[role="alert"]');
    };
    assert.match(await upload(`"><img src=x onerror="window.__xss='file'">.txt`, 'x'), /<img src=x onerror=.*is not a \.csv/);
    const line = JSON.stringify({ data: { text: 'x' }, [hostile('badfield')]: 1 });
    assert.match(await upload('items.jsonl', line), /unknown field .*<script>window.__xss='badfield'<\/script>/);

    await visit(admin, `/admin/projects/${pid}/items`);
    assert.equal(await textOf(page, 'h1'), `${NAME}: items`);
    assert.deepEqual(await textsOf(page, '#items tbody td:first-child a'), EXT);
    assert.deepEqual(await textsOf(page, '#items tbody td.clip'), TEXT.map((t) => t ?? ''));
    assert.equal(await textOf(page, '#items tbody tr:first-child td:nth-child(4)'), LABELS[0]);

    await visit(admin, `/admin/projects/${pid}/items/${items[0]}`);
    assert.equal(await textOf(page, '.bar h1'), EXT[0]);
    assert.equal(await textOf(page, '#item-text'), TEXT[0]);
    // Xavier, Rita and the open-link visitor all pressed the first choice.
    assert.deepEqual(await textsOf(page, '#labels tbody td:nth-child(3)'), [LABELS[0], LABELS[0], LABELS[0]]);
    const feedback = page.locator('#feedback tbody tr td');
    assert.equal(await feedback.nth(0).textContent(), SOURCE);
    assert.equal(await feedback.nth(1).textContent(), `${LABELS[0]} (${RAW_VALUE})`);
    assert.deepEqual(JSON.parse(await feedback.nth(3).textContent()), CONTEXT);
    await visit(admin, `/admin/projects/${pid}/items/${items[1]}`);
    assert.equal(await textOf(page, '#gold'), GOLD);
    await visit(admin, `/admin/projects/${pid}/items/${items[2]}`);
    assert.deepEqual(JSON.parse(await textOf(page, '#item-text')), DATA[2]);

    const report = `/admin/projects/${pid}/report`;
    await visit(admin, report);
    assert.equal(await textOf(page, 'h1'), `${NAME}: quality report`);
    const chartTexts = await textsOf(page, 'svg.chart text');
    for (const label of LABELS) assert.ok(chartTexts.includes(label), `the charts name ${label} as text`);
    assert.equal(await textOf(page, '#feedback h3'), SOURCE);
    const [[key, value]] = Object.entries(CONTEXT);
    assert.equal((await textOf(page, '#feedback p.muted')).trim(), `By ${key}: ${value} 100.0% (n=1)`);
    await page.screenshot({ path: screenshotPath('xss-report.png'), fullPage: true });

    await visit(admin, `${report}?slice=${encodeURIComponent(FIELD)}&level=ordinal`);
    assert.equal(await page.inputValue('input[name="slice"]'), FIELD);
    assert.equal(await textOf(page, '#slices h2'), `Slices by ${FIELD}`);
    assert.deepEqual((await textsOf(page, '#slices tbody td:first-child')).sort(), [...SLICE].sort());
    const missing = hostile('noslice');
    await visit(admin, `${report}?slice=${encodeURIComponent(missing)}`);
    assert.equal(await page.inputValue('input[name="slice"]'), missing);
    assert.match(await textOf(page, '#slices p.muted'), /no item has the metadata field .*<script>window.__xss='noslice'/);
    assert.equal(await visit(admin, `${report}?level=${encodeURIComponent(hostile('level'))}`), 422);
    assert.match(await textOf(page, '[role="alert"]'), /unknown level .*<script>window.__xss='level'/);

    await visit(admin, '/admin/users');
    assert.equal(await page.inputValue(`input[aria-label="expertise of ${XAVIER.name}"]`), TAG);
  });
});
