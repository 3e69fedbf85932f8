// The journey a person makes, in English and in Arabic, in Debian's
// Chromium against the real stack: sign up → log in with remember me →
// create a key and copy it → call the gateway with it → the call shows on
// the dashboard → quick top-up through the fake MyFatoorah → the balance
// grows → two tabs, both reloaded, still signed in → log out, in both.
// On the way: every page's screenshot at 1280×800 and 390×844 (into
// e2e-artifacts/, git-ignored), axe on every page (no serious or critical
// violation), no CSP violation or uncaught error, no token in web storage.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import ar from '../src/locales/ar.json';
import en from '../src/locales/en.json';
import { openBrowser } from './browser';
import { repoRoot, startStack, type Stack } from './stack';

type Lang = 'en' | 'ar';
const catalogs = { en, ar } as Record<Lang, Record<string, unknown>>;

/** tr reads a message of the app's own catalogs, so the test says what a person reads. */
function tr(lang: Lang, key: string, vars: Record<string, string> = {}): string {
  const v = key.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], catalogs[lang]);
  if (typeof v !== 'string') throw new Error(`no message ${key} in ${lang}`);
  return v.replace(/\{\{(\w+)\}\}/g, (_, n: string) => vars[n] ?? '');
}

const artifacts = join(repoRoot, 'frontend', 'e2e-artifacts');
const shots = join(artifacts, 'screenshots');
const viewports = [
  { width: 1280, height: 800 },
  { width: 390, height: 844 },
];
const axeSource = readFileSync(join(repoRoot, 'frontend', 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
const metrics: Record<string, number> = {};

let stack: Stack;
beforeAll(async () => {
  mkdirSync(shots, { recursive: true });
  mkdirSync(join(artifacts, 'logs'), { recursive: true });
  stack = await startStack(join(artifacts, 'logs'));
});
afterAll(async () => {
  await stack?.stop();
  writeFileSync(join(artifacts, 'metrics.json'), JSON.stringify(metrics, null, 2));
  console.log('browser measurements (reported, not asserted):', metrics);
});

/** Collects what must never happen on our pages: CSP violations and uncaught errors. */
function watch(page: Page, problems: string[]) {
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/.test(m.text())) problems.push(`CSP: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`uncaught: ${e.message}`));
}

/** The page is in lang: <html lang dir>, and its heading in that language's script. */
async function expectLanguage(page: Page, lang: Lang) {
  await page.locator('h1').first().waitFor();
  expect(await page.getAttribute('html', 'lang')).toBe(lang);
  expect(await page.getAttribute('html', 'dir')).toBe(lang === 'ar' ? 'rtl' : 'ltr');
  const h1 = await page.locator('h1').first().innerText();
  if (lang === 'ar') expect(h1, `heading of ${page.url()}`).toMatch(/[\u0600-\u06FF]/);
  else expect(h1, `heading of ${page.url()}`).not.toMatch(/[\u0600-\u06FF]/);
}

/** axe on the page as it is: no serious or critical violation. */
async function axe(page: Page, name: string) {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const w = window as unknown as { axe: { run(ctx: Document, o: object): Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }> } };
    const r = await w.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  });
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(bad, `axe on ${name}`).toEqual([]);
}

/** Screenshots of path at both sizes (full page), axe at the first. */
async function capture(page: Page, origin: string, lang: Lang, name: string, path: string, ready: (p: Page) => Promise<unknown>) {
  for (const [i, vp] of viewports.entries()) {
    await page.setViewportSize(vp);
    await page.goto(origin + path);
    await ready(page);
    await expectLanguage(page, lang);
    // Fonts loaded, no skeleton or spinner left.
    await page.evaluate(() => document.fonts.ready);
    await page.waitForFunction(() => !document.querySelector('.animate-pulse, .animate-spin'));
    await page.screenshot({ path: join(shots, `${lang}-${name}-${vp.width}x${vp.height}.png`), fullPage: true, animations: 'disabled' });
    if (i === 0) await axe(page, `${lang} ${name}`);
  }
  await page.setViewportSize(viewports[0]);
}

const credits = async (page: Page) => Number((await page.getByTestId('credits-available').innerText()).replace(/[^0-9]/g, ''));

async function journey(lang: Lang) {
  const T = (k: string, v?: Record<string, string>) => tr(lang, k, v);
  const origin = stack.portal;
  const browser = await openBrowser(origin);
  const problems: string[] = [];
  try {
    const page = await browser.context.newPage();
    watch(page, problems);

    // The landing page, and its Largest Contentful Paint.
    await page.goto(`${origin}/`);
    if (lang === 'ar') await page.getByRole('button', { name: 'العربية' }).click();
    await expectLanguage(page, lang);
    if (lang === 'en') {
      metrics.landingLcpMs = await page.evaluate(
        () =>
          new Promise<number>((done) => {
            new PerformanceObserver((l) => {
              const e = l.getEntries();
              done(Math.round(e[e.length - 1].startTime));
            }).observe({ type: 'largest-contentful-paint', buffered: true });
          }),
      );
    }
    await expect.poll(() => page.getByText(stack.gateway + '/v1/chat/completions').count()).toBeGreaterThan(0);

    // Every page a visitor sees, before signing up.
    const h1 = (p: Page) => p.locator('h1').first().waitFor();
    await capture(page, origin, lang, 'landing', '/', (p) => p.getByRole('heading', { exact: true, name: T('landing.pricingTitle') }).waitFor());
    await capture(page, origin, lang, 'register', '/register', h1);
    await capture(page, origin, lang, 'login', '/login', h1);
    await capture(page, origin, lang, 'forgot-password', '/forgot-password', h1);
    await capture(page, origin, lang, 'docs', '/docs', (p) => p.getByText('x-ratelimit-remaining-requests').first().waitFor());
    for (const doc of ['terms', 'privacy', 'refunds', 'contact']) await capture(page, origin, lang, doc, `/${doc}`, h1);
    await capture(page, origin, lang, 'not-found', '/no-such-page', h1);

    // Sign up.
    await page.goto(`${origin}/`);
    await page.getByRole('link', { exact: true, name: T('landing.cta') }).first().click();
    await page.waitForURL('**/register');
    await expectLanguage(page, lang);
    const email = `e2e-${lang}-${Date.now()}@example.com`;
    const password = 'correct-horse-battery-staple';
    await page.getByLabel(T('fields.nameLabel')).fill(lang === 'ar' ? 'فاطمة الصباح' : 'Fatima Al-Sabah');
    await page.getByLabel(T('fields.emailLabel')).fill(email);
    await page.getByLabel(T('register.localNumber')).fill(`5${String(Date.now()).slice(-7)}`);
    await page.getByLabel(T('fields.passwordLabel'), { exact: true }).fill(password);
    expect(await page.getByLabel(T('register.whatsapp')).isChecked()).toBe(false);
    await page.getByRole('button', { exact: true, name: T('register.submit') }).click();
    await page.waitForURL(/\/login\?registered=1/);
    await expectLanguage(page, lang);

    // Log in with remember me.
    await page.getByLabel(T('fields.passwordLabel'), { exact: true }).fill(password);
    await page.getByLabel(T('login.remember')).check();
    const loginAnswer = page.waitForResponse((r) => r.url().endsWith('/api/v1/auth/login'));
    const clicked = Date.now();
    await page.getByRole('button', { exact: true, name: T('login.submit') }).click();
    const token = ((await (await loginAnswer).json()) as { access_token: string }).access_token;
    await page.waitForURL('**/dashboard');
    await page.getByTestId('credits-available').waitFor();
    if (lang === 'en') metrics.dashboardTimeToDataMs = Date.now() - clicked;
    await expectLanguage(page, lang);
    const cookie = (await browser.context.cookies()).find((c) => c.name === 'resayil_refresh');
    expect(cookie?.httpOnly).toBe(true);
    expect(cookie!.expires).toBeGreaterThan(Date.now() / 1000 + 20 * 86400); // remembered: persistent
    const stored = await page.evaluate(() => JSON.stringify([{ ...localStorage }, { ...sessionStorage }]));
    expect(stored).not.toContain(token);

    // Create a key and copy it.
    await page.getByRole('button', { exact: true, name: T('keys.create') }).first().click();
    const create = page.getByRole('dialog', { exact: true, name: T('keys.createTitle') });
    await create.getByLabel(T('keys.name')).fill('e2e');
    await create.getByRole('button', { exact: true, name: T('keys.create') }).click();
    const shown = page.getByRole('dialog', { exact: true, name: T('keys.createdTitle', { name: 'e2e' }) });
    const key = await shown.getByTestId('new-api-key').inputValue();
    expect(key).toMatch(/^sk-[0-9A-Za-z]{43}$/);
    await shown.getByRole('button', { exact: true, name: T('common.copy') }).click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(key);
    await shown.getByRole('button', { exact: true, name: T('keys.done') }).click();
    await expect.poll(() => page.getByText(key).count()).toBe(0);

    // Credits from the operator, then a call to the gateway with the key.
    await stack.grant(email, 1000);
    const answer = await fetch(`${stack.gateway}/v1/chat/completions`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: 'llama3.2:3b', messages: [{ role: 'user', content: 'Hello' }] }),
    });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-resayil-backend')).toBe('local');

    // The call shows on the dashboard: totals, chart, receipts.
    await page.reload();
    await expect.poll(async () => (await page.getByTestId('usage-totals').innerText()).split(/\s+/)[1], { timeout: 15_000 }).toBe('1');
    await page.locator('canvas[role="img"]').waitFor();
    const receipts = page.getByRole('region', { exact: true, name: T('receipts.title') }).first();
    await receipts.getByText('llama3.2:3b').waitFor();
    const before = await credits(page);
    expect(before).toBeLessThan(1000);

    // Quick top-up through the fake MyFatoorah: the balance grows.
    await page.getByRole('button', { exact: true, name: T('topup.button') }).first().click();
    const topup = page.getByRole('dialog', { exact: true, name: T('topup.title') });
    await topup.getByRole('radio').first().check();
    await topup.getByRole('button', { exact: true, name: T('topup.pay') }).click();
    await page.waitForURL(`${stack.payments}/pay/**`);
    await page.getByRole('button', { name: 'Pay' }).click();
    await page.waitForURL('**/billing/result?**');
    const resultPath = new URL(page.url()).pathname + new URL(page.url()).search;
    await page.getByText(T('result.paidTitle')).waitFor();
    await expectLanguage(page, lang);
    await page.getByRole('link', { exact: true, name: T('result.toDashboard') }).click();
    await page.waitForURL('**/dashboard');
    await expect.poll(() => credits(page)).toBe(before + 5000);

    // Every signed-in page.
    await capture(page, origin, lang, 'dashboard', '/dashboard', (p) => p.locator('canvas[role="img"]').waitFor());
    await capture(page, origin, lang, 'billing', '/billing', (p) => p.getByRole('region', { exact: true, name: T('payments.title') }).first().waitFor());
    await capture(page, origin, lang, 'billing-result', resultPath, (p) => p.getByText(T('result.paidTitle')).waitFor());
    await capture(page, origin, lang, 'settings', '/settings', (p) => p.getByLabel(T('settings.language')).waitFor());

    // Two tabs, both reloaded at once: still signed in (one renews, the other is handed the token).
    const page2 = await browser.context.newPage();
    watch(page2, problems);
    await page2.goto(`${origin}/dashboard`);
    await page2.getByTestId('credits-available').waitFor();
    await page.goto(`${origin}/dashboard`);
    await Promise.all([page.reload(), page2.reload()]);
    for (const p of [page, page2]) {
      await p.getByTestId('credits-available').waitFor();
      expect(new URL(p.url()).pathname).toBe('/dashboard');
      expect(await credits(p)).toBe(before + 5000);
    }

    // Log out in one tab: both are signed out, and stay so.
    await page.getByRole('button', { exact: true, name: T('nav.logout') }).click();
    await page.waitForURL('**/login');
    await page2.waitForURL('**/login**');
    await page2.goto(`${origin}/dashboard`);
    await page2.waitForURL('**/login**');
    expect((await browser.context.cookies()).find((c) => c.name === 'resayil_refresh')).toBeUndefined();

    expect(problems).toEqual([]);
  } finally {
    await browser.close();
  }
}

describe('the journey in the browser', () => {
  it('in English', () => journey('en'));
  it('in Arabic, right to left', () => journey('ar'));

  it('an unknown API path stays a JSON 404; the app is served with its CSP and caching', async () => {
    const api = await fetch(`${stack.portal}/api/v1/nothing`);
    expect(api.status).toBe(404);
    expect(((await api.json()) as { error: { code: string } }).error.code).toBe('not_found');
    const page = await fetch(`${stack.portal}/dashboard`);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('cache-control')).toBe('no-cache');
    const html = await page.text();
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeTruthy();
    const asset = await fetch(stack.portal + script!);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
  });
});
