// The user's view of the extension in a real VS Code (code-server), driven through Debian's Chromium.
// Started by run.sh, which provides code-server, the fake Messages API and a copy of the fixture
// workspace. Every wait is on something the workbench shows (or on the fake API's request log); a step
// that times out fails with what was on screen and the path of its screenshot.

import { chromium } from 'playwright-core';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const CODE_SERVER_URL = requireEnv('E2E_URL');
const WORKSPACE = requireEnv('E2E_WORKSPACE');
const FAKE_URL = requireEnv('E2E_FAKE_URL');
const ARTIFACTS = requireEnv('E2E_ARTIFACTS');
const CHROMIUM = requireEnv('E2E_CHROMIUM');

const FAST = 'claude-sonnet-4-6'; // completions are pinned to it
const DEEP = 'claude-opus-4-7'; // run.sh's complexity_threshold sends the refactor jobs here
const STATUS_ITEM = '[id="ai-coding-router.ai-coding-router.aiCodingRouter.status"]';
const PROGRESS_ITEM = '[id="status.progress"]';
const MATH_TS = path.join(WORKSPACE, 'src', 'math.ts');

const COMPLETION = 'return values.reduce((acc, value) => acc * value, 1);';
const SUM_BODY = '  let total = 0;\n  for (const value of values) {\n    total += value;\n  }\n  return total;';
const SUM_REDUCE = '  return values.reduce((total, value) => total + value, 0);';
const CLAMP_BODY = '  return Math.min(range.max, Math.max(range.min, value));';
const CLAMP_TERNARY = '  return value < range.min ? range.min : value > range.max ? range.max : value;';

const started = Date.now();
let page;
let shotCount = 0;
let lastShot = '(no screenshot yet)';

function requireEnv(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`scenarios.mjs: ${name} is not set; run tests/e2e-vscode/run.sh`);
    process.exit(2);
  }
  return value;
}

function log(message) {
  console.log(`[scenarios ${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${message}`);
}

/** A search/replace block as the job pipeline expects the model to answer. */
function block(file, search, replace) {
  return `${file}\n<<<<<<< SEARCH\n${search}\n=======\n${replace}\n>>>>>>> REPLACE\n`;
}

async function shot(name) {
  const file = path.join(ARTIFACTS, `${String(++shotCount).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file });
  lastShot = file;
  return file;
}

class Timeout extends Error {}

/** Poll `probe` until it returns something truthy; fail naming what was awaited. */
async function until(what, probe, timeoutMs = 20_000, intervalMs = 100) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  for (;;) {
    try {
      const value = await probe();
      if (value) {
        return value;
      }
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const why = lastError ? ` (last error: ${String(lastError.message ?? lastError).split('\n')[0]})` : '';
      throw new Timeout(`timed out after ${timeoutMs / 1000} s waiting for ${what}${why}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Wait for a locator to be visible, with a message that says what the user should have seen. */
async function visible(what, locator, timeoutMs = 20_000) {
  try {
    await locator.first().waitFor({ state: 'visible', timeout: timeoutMs });
  } catch {
    throw new Timeout(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
  }
  return locator.first();
}

async function hidden(what, locator, timeoutMs = 20_000) {
  try {
    await locator.first().waitFor({ state: 'hidden', timeout: timeoutMs });
  } catch {
    throw new Timeout(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
  }
}

// --- the fake Messages API ------------------------------------------------------------------------------

async function fake(method, route, body) {
  const response = await fetch(FAKE_URL + route, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) {
    throw new Error(`fake API ${method} ${route}: HTTP ${response.status} ${await response.text()}`);
  }
  return response.json();
}

let deepScripted = 0;

/** Queue the deep model's next answer; only when every earlier one was used, or it would go to this job. */
async function scriptDeep(reply) {
  const used = (await fakeRequests()).filter((r) => r.model === DEEP).length;
  if (used < deepScripted) {
    throw new Error(`${deepScripted - used} reply scripted for an earlier job was never asked for; ` +
      'this job would get it: an earlier scenario failed before its job reached the API');
  }
  await fake('POST', '/_fake/script', { model: DEEP, replies: [reply] });
  deepScripted += 1;
}

const fakeRequests = async () => (await fake('GET', '/_fake/requests')).filter((r) => r.path === '/v1/messages');
const isCompletion = (request) => JSON.stringify(request.body ?? '').includes('<|cursor|>');

// --- what the workbench shows -----------------------------------------------------------------------------

const toasts = () => page.locator('.notifications-toasts .notification-toast');
const toast = (pattern) => toasts().filter({ hasText: pattern });
const activeEditor = () => page.locator('.editor-group-container.active .editor-instance .monaco-editor').first();
const activeTab = () => page.locator('.editor-group-container.active .tab.active').first();

/** Runs in the page: remembers every notification shown, as toasts hide themselves after a while. */
function recordNotifications() {
  const seen = [];
  window.__e2eNotifications = seen;
  new MutationObserver(() => {
    for (const message of document.querySelectorAll('.notification-toast .notification-list-item-message')) {
      const text = (message.textContent ?? '').trim();
      if (text && !seen.includes(text)) seen.push(text);
    }
  }).observe(document, { childList: true, subtree: true, characterData: true });
}

const notificationsSeen = async () => page.evaluate(() => window.__e2eNotifications ?? []);

async function statusText() {
  const item = page.locator(STATUS_ITEM);
  if ((await item.count()) === 0) {
    return '(no AI Coding Router status item)';
  }
  const label = await item.first().getAttribute('aria-label');
  const text = (await item.first().innerText()).replace(/\s+/g, ' ').trim();
  return `"${text}" (aria-label: "${label}")`;
}

/** The buffer of the active editor as the user reads it: rendered lines in order, ghost text left out. */
async function editorText() {
  return activeEditor().evaluate((editor) => {
    const lines = [...editor.querySelectorAll('.view-lines .view-line')].map((line) => {
      const copy = line.cloneNode(true);
      copy.querySelectorAll('[class*="ghost-text"]').forEach((ghost) => ghost.remove());
      return { top: parseFloat(line.style.top || '0'), text: copy.textContent ?? '' };
    });
    lines.sort((a, b) => a.top - b.top);
    return lines.map((line) => line.text.replace(/\u00a0/g, ' ').trimEnd()).join('\n');
  });
}

/** Ghost text in the active editor: inline suggestions are rendered as token spans, so join them. */
async function ghostText() {
  return activeEditor().evaluate((editor) => {
    const parts = [...editor.querySelectorAll('[class*="ghost-text"]')]
      .filter((element) => !element.parentElement?.closest('[class*="ghost-text"]'))
      .map((element) => element.textContent ?? '');
    return parts.join('').replace(/\u00a0/g, ' ');
  });
}

async function dismissToasts() {
  for (const close of await page.locator('.notification-toast .codicon-notifications-clear').all()) {
    await close.click({ timeout: 2_000 }).catch(() => undefined);
  }
}

const quickInput = () => page.locator('.quick-input-widget input.input').first();

/** Open a quick input with `keys` and wait until its box holds `prefix` (typing before that would go
 *  to the editor). */
async function openQuickInput(keys, prefix, what) {
  await page.keyboard.press(keys);
  await until(`${what} to open`, async () =>
    (await quickInput().isVisible()) && (await quickInput().inputValue()) === prefix,
  );
}

async function command(title) {
  await openQuickInput('Control+Shift+P', '>', 'the command palette');
  await page.keyboard.type(title);
  const row = await visible(
    `"${title}" in the command palette`,
    page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: title }),
  );
  await row.click();
}

async function pick(what, text) {
  const row = await visible(
    `${what} ("${text}") in the quick pick`,
    page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: text }),
  );
  return row;
}

async function openFile(name) {
  await openQuickInput('Control+P', '', 'Quick Open');
  await page.keyboard.type(name);
  await (await pick('the file', name)).click();
  await visible(`${name} open in the editor`, page.locator('.editor-group-container.active .tab.active', { hasText: name }));
  await visible('the editor text', activeEditor().locator('.view-lines'));
}

/** Select whole lines first..last (1-based) with the keyboard, as a user would. */
async function selectLines(first, last) {
  await activeEditor().locator('.view-lines').click();
  await openQuickInput('Control+G', ':', 'Go to Line');
  await page.keyboard.type(String(first));
  await page.keyboard.press('Enter');
  await hidden('Go to Line to close', page.locator('.quick-input-widget'));
  await page.keyboard.press('Home');
  await page.keyboard.press('Home'); // twice: the first goes to the first non-blank character only
  for (let line = first; line < last; line++) {
    await page.keyboard.press('Shift+ArrowDown');
  }
  await page.keyboard.press('Shift+End');
  const selection = page.locator('[id="status.editor.selection"]');
  await until(`the status bar to show a selection ending on line ${last}`, async () =>
    new RegExp(`Ln ${last}, Col \\d+ \\(\\d+ selected\\)`).test(await selection.innerText()),
  );
}

async function save() {
  await page.keyboard.press('Control+S');
  await until('the editor tab to be saved (no dirty marker)', async () =>
    !/\bdirty\b/.test((await activeTab().getAttribute('class')) ?? ''),
  );
}

// --- scenarios ---------------------------------------------------------------------------------------------

async function activation() {
  await page.goto(`${CODE_SERVER_URL}/?folder=${encodeURIComponent(WORKSPACE)}`);
  await visible('the VS Code workbench', page.locator('.monaco-workbench'), 60_000);
  await visible('the explorer with the workspace', page.locator('.explorer-folders-view'), 30_000);
  await openFile('math.ts');
  await visible('the AI Coding Router status bar item', page.locator(STATUS_ITEM), 30_000);
  // Running, or failed: stop waiting as soon as the server's fate is known.
  const state = await until(
    'the AI Coding Router status item to leave "starting"',
    async () => {
      const label = (await page.locator(STATUS_ITEM).first().getAttribute('aria-label')) ?? '';
      if (/starting/.test(label)) return '';
      return /last model/.test(label) ? 'running' : 'failed';
    },
    60_000,
  );
  if (state !== 'running') {
    // The error toast follows the status change: wait for it, so the failure names its cause.
    await visible('the extension\'s error notification', toast(/AI Coding Router/), 15_000).catch(() => undefined);
    throw new Error('the language server did not start (see the status bar item and the notification below)');
  }
  log(`status bar item: ${await statusText()}`);
  await shot('extension-active');
}

async function ghostTextScenario() {
  // Every completion request gets this answer (switching answers while typing would race with requests
  // still in flight); what matters is the suggestion shown once the cursor is in the new function's body.
  await fake('POST', '/_fake/default', { text: `<insert>${COMPLETION}</insert>` });
  await activeEditor().locator('.view-lines').click();
  await page.keyboard.press('Control+End');
  await page.keyboard.type('\nexport function product(values: number[]): number {');
  await until('the typed function header in the editor', async () =>
    (await editorText()).includes('export function product(values: number[]): number {'),
  );
  const before = (await fakeRequests()).length;
  await page.keyboard.press('Enter'); // a new line in the body: VS Code asks for an inline completion
  const shown = await until('ghost text with the scripted completion', async () =>
    (await ghostText()).includes(COMPLETION) ? ghostText() : '',
  );
  log(`ghost text shown: "${shown.trim()}"`);
  // The request behind it: on the fast model, with the cursor on the new line of the body.
  const asked = (await fakeRequests())
    .slice(before)
    .filter((r) => r.model === FAST && isCompletion(r) && JSON.stringify(r.body).includes('number {\\n  <|cursor|>'));
  if (asked.length === 0) {
    throw new Error(`ghost text appeared but the fake API saw no ${FAST} completion request for the new line`);
  }
  await shot('ghost-text');
  if ((await editorText()).includes(COMPLETION)) {
    throw new Error('the completion is already in the buffer before Tab: it should be ghost text only');
  }
  await fake('POST', '/_fake/default', { text: '<insert></insert>' }); // no suggestion after this one
  await page.keyboard.press('Tab');
  await until('the ghost text to go after Tab', async () => !(await ghostText()).includes(COMPLETION));
  await until('the accepted completion in the buffer', async () =>
    (await editorText()).includes(`  ${COMPLETION}`),
  );
  await shot('completion-accepted');
  await save();
  if (!readFileSync(MATH_TS, 'utf8').includes(COMPLETION)) {
    throw new Error('math.ts on disk does not have the accepted completion after saving');
  }
}

async function runTaskFromPalette() {
  await dismissToasts();
  await scriptDeep({ text: block('src/math.ts', SUM_BODY, SUM_REDUCE), ttft_s: 1.0 });
  await selectLines(11, 17);
  await shot('sum-selected');
  await command('AI Coding Router: Run Task on Selection');
  await (await pick('the task kind', 'Refactor')).click();
  // The quick pick turns into the instruction box: wait for the box's own prompt before typing.
  await visible('the instruction box', page.locator('.quick-input-widget', { hasText: 'Optional instruction for the model' }));
  await until('the instruction box to be empty and focused', async () =>
    (await quickInput().inputValue()) === '' && (await quickInput().evaluate((input) => input === document.activeElement)),
  );
  await page.keyboard.type('Use reduce.');
  await page.keyboard.press('Enter');
  const startedToast = await visible(
    `"refactor job … started on ${DEEP}"`,
    toast(new RegExp(`refactor job \\S+ started on ${DEEP}`)),
  );
  log(`notification: ${(await startedToast.innerText()).replace(/\s+/g, ' ')}`);
  const progress = await visible('the job\'s progress in the status bar', page.locator(PROGRESS_ITEM, { hasText: 'AI refactor' }));
  log(`progress: ${(await progress.innerText()).trim()}`);
  await shot('job-running');
  await visible(
    '"applied the validated refactor result" (the job validated and its edit sent)',
    toast(/applied the validated refactor result to src\/math\.ts/),
    120_000,
  );
  await until('the refactored sum() in the editor', async () => {
    const text = await editorText();
    return text.includes(SUM_REDUCE) && !text.includes('total += value');
  });
  await hidden('the job\'s progress to end', page.locator(PROGRESS_ITEM, { hasText: 'AI refactor' }));
  await shot('job-applied');
  await save();
}

async function cancelRunningJob() {
  await dismissToasts();
  const textBefore = await editorText();
  const diskBefore = readFileSync(MATH_TS, 'utf8');
  // A slow answer that would rewrite clamp(): it must never land.
  await scriptDeep({ text: block('src/math.ts', CLAMP_BODY, CLAMP_TERNARY), ttft_s: 30 });
  const before = (await fakeRequests()).length;
  await selectLines(7, 9);
  await page.keyboard.press('Control+.'); // the lightbulb's menu
  const action = await visible(
    'the code action "AI: Refactor selection (background job)"',
    page.locator('.action-widget .monaco-list-row', { hasText: 'AI: Refactor selection (background job)' }),
  );
  await shot('code-action-menu');
  await action.click();
  await visible('the job\'s progress in the status bar', page.locator(PROGRESS_ITEM, { hasText: 'AI refactor' }));
  const request = await until(`the job's request to ${DEEP} at the fake API`, async () =>
    (await fakeRequests()).slice(before).find((r) => r.model === DEEP),
  );
  await command('AI Coding Router: Cancel Job');
  const row = await pick('the running job', 'refactor · math.ts');
  await shot('cancel-pick');
  await row.click();
  await visible('"job … cancelled." from the extension', toast(/job \S+ cancelled\./));
  await visible('the server\'s "refactor job cancelled"', toast(/refactor job cancelled/), 30_000);
  const closed = await until('the fake API to see the job\'s stream closed', async () => {
    const record = (await fakeRequests()).find((r) => r.index === request.index);
    return record && record.outcome !== 'pending' ? record : undefined;
  });
  if (closed.outcome !== 'client_disconnected') {
    throw new Error(`the cancelled job's request ended "${closed.outcome}", expected client_disconnected`);
  }
  await hidden('the job\'s progress to end', page.locator(PROGRESS_ITEM, { hasText: 'AI refactor' }));
  await shot('job-cancelled');
  const textAfter = await editorText();
  if (textAfter !== textBefore) {
    throw new Error(`the editor changed after the cancelled job:\n--- before\n${textBefore}\n--- after\n${textAfter}`);
  }
  if (/\bdirty\b/.test((await activeTab().getAttribute('class')) ?? '')) {
    throw new Error('math.ts has unsaved changes after the cancelled job');
  }
  if (readFileSync(MATH_TS, 'utf8') !== diskBefore) {
    throw new Error('math.ts on disk changed after the cancelled job');
  }
  await until('the status bar item to count no running job', async () =>
    /, 0 running jobs/.test((await page.locator(STATUS_ITEM).first().getAttribute('aria-label')) ?? ''),
    10_000,
  );
}

async function costReport() {
  // What the fake API answered, per model: the report must account for these calls (a call cancelled
  // mid-stream may or may not be counted; one that completed must be).
  const requests = await fakeRequests();
  const seen = {};
  for (const model of [FAST, DEEP]) {
    const mine = requests.filter((request) => request.model === model);
    seen[model] = { all: mine.length, completed: mine.filter((request) => request.outcome === 'completed').length };
  }
  log(`the fake API saw ${JSON.stringify(seen)}`);
  await command('AI Coding Router: Show Cost Report');
  await visible('the cost report editor', page.locator('.editor-group-container.active .tab.active', { hasText: 'Untitled' }));
  const report = await until('a cost report that names both models', async () => {
    const text = await editorText();
    return text.includes(FAST) && text.includes(DEEP) ? text : '';
  });
  await shot('cost-report');
  const calls = {};
  for (const match of report.matchAll(/^\s*[│|]\s*(claude-[\w.-]+)\s*[│|]\s*([\d,]+)\s*[│|]/gm)) {
    calls[match[1]] = Number(match[2].replace(/,/g, ''));
  }
  log(`calls per model in the report: ${JSON.stringify(calls)}`);
  for (const model of [FAST, DEEP]) {
    const { all, completed } = seen[model];
    if (completed === 0) {
      throw new Error(`the fake API answered no ${model} call in full: the earlier scenarios did not run`);
    }
    if (!(calls[model] >= completed && calls[model] <= all)) {
      throw new Error(
        `the cost report counts ${calls[model]} ${model} calls; the fake API answered ${completed} in full ` +
          `(${all} in all):\n${report}`,
      );
    }
  }
  const label = (await page.locator(STATUS_ITEM).first().getAttribute('aria-label')) ?? '';
  const today = /\$([\d.]+) today/.exec(label);
  if (!today || !(Number(today[1]) > 0)) {
    throw new Error(`the status bar item shows no cost for today's calls: "${label}"`);
  }
}

// --- runner -------------------------------------------------------------------------------------------------

const SCENARIOS = [
  { name: 'the extension activates and its status bar item shows the server running', run: activation, required: true },
  { name: 'typing shows ghost text from the fake completion and Tab accepts it', run: ghostTextScenario },
  { name: 'selection → palette "Run Task on Selection" → progress → validated edit in the editor', run: runTaskFromPalette },
  { name: 'a job started from the lightbulb, then cancelled, leaves the file unchanged and no job counted', run: cancelRunningJob },
  { name: 'the cost report shows the calls just made', run: costReport },
];

let browser;

// run.sh stops us with TERM (its own cleanup, or a test timeout): close the browser and go.
for (const [signal, code] of [['SIGTERM', 143], ['SIGINT', 130]]) {
  process.on(signal, () => {
    console.error(`scenarios.mjs: ${signal}: closing the browser`);
    const closing = browser ? browser.close().catch(() => undefined) : Promise.resolve();
    void closing.finally(() => process.exit(code));
    setTimeout(() => process.exit(code), 5_000).unref();
  });
}

async function main() {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    handleSIGTERM: false,
    handleSIGINT: false,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync',
    ],
  });
  const failures = [];
  let passed = 0;
  try {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    page = await context.newPage();
    await page.addInitScript(recordNotifications);
    const consoleLines = [];
    page.on('console', (message) => consoleLines.push(`[${message.type()}] ${message.text()}`));
    const only = (process.env.E2E_ONLY ?? '').split(',').filter(Boolean).map(Number);
    for (const [index, scenario] of SCENARIOS.entries()) {
      if (only.length > 0 && !only.includes(index + 1)) continue;
      const t0 = Date.now();
      const seenBefore = (await notificationsSeen().catch(() => [])).length;
      log(`START ${scenario.name}`);
      try {
        await scenario.run();
        passed += 1;
        log(`PASS  ${scenario.name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      } catch (error) {
        const failed = await shot('FAILED').catch(() => lastShot);
        const shown = (await notificationsSeen().catch(() => [])).slice(seenBefore);
        const message = [
          `FAIL  ${scenario.name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`,
          `  ${String(error.message ?? error).split('\n').join('\n  ')}`,
          `  AI Coding Router status bar item: ${await statusText().catch(() => '?')}`,
          ...(shown.length > 0 ? shown.map((text) => `  notification shown: ${text}`) : ['  notification shown: none']),
          `  last screenshot: ${failed}`,
        ].join('\n');
        console.error(message);
        failures.push(message);
        if (scenario.required) {
          break;
        }
        // Leave menus and pickers so the next scenario starts from the editor.
        for (let i = 0; i < 3; i++) await page.keyboard.press('Escape');
      }
    }
    writeFileSync(path.join(ARTIFACTS, 'browser-console.log'), consoleLines.join('\n') + '\n');
    // What the server sent to the fake API (prompts included): the first place to look when a job fails.
    const requests = await fakeRequests().catch(() => []);
    for (const request of requests) {
      for (const name of ['x-api-key', 'authorization']) if (request.headers?.[name]) request.headers[name] = '***';
    }
    writeFileSync(path.join(ARTIFACTS, 'fake-api-requests.json'), JSON.stringify(requests, null, 2));
  } finally {
    await browser.close();
  }
  const notRun = SCENARIOS.length - passed - failures.length;
  console.log(`\ne2e-vscode: ${passed} passed, ${failures.length} failed`);
  if (notRun > 0) {
    console.log(`e2e-vscode: ${notRun} scenario(s) not run (E2E_ONLY, or no running server)`);
  }
  if (failures.length > 0) {
    console.error(`\ne2e-vscode FAILED:\n${failures.join('\n')}`);
    process.exitCode = 1;
  }
}

await main();
