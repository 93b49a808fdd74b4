/**
 * The demo application in a real browser: headless Chromium (Debian's `chromium`) driven by playwright-core.
 * The cookie carries the configured attributes, the counter increments, login regenerates the id, logout clears
 * the session, a tampered cookie starts a fresh session, and the slow page is cached.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startDemo, type Demo } from '../../examples/demo/app.js';
import { describeWhenAvailable } from '../helpers/services.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// The flags that work on these machines (no sandbox as root, no network beyond loopback).
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

describeWhenAvailable(
  'the demo in headless Chromium',
  existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is missing: apt-get install chromium`,
  () => {
    let demo: Demo;
    let browser: Browser;
    let context: BrowserContext;
    let page: Page;

    beforeAll(async () => {
      demo = await startDemo(fileURLToPath(new URL('../../examples/demo/development.ini', import.meta.url)));
      browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
      context = await browser.newContext();
      page = await context.newPage();
    }, 60_000);

    afterAll(async () => {
      await browser.close();
      await demo.close();
    });

    const visits = async (): Promise<string> => (await page.locator('#visits strong').textContent()) ?? '';
    const sessionCookie = async () =>
      (await context.cookies(demo.url)).find((cookie) => cookie.name === 'demo.sid');

    it('sets the session cookie with the configured attributes and counts visits', async () => {
      await page.goto(demo.url);
      expect(await visits()).toBe('1');
      const cookie = await sessionCookie();
      expect(cookie).toMatchObject({
        name: 'demo.sid',
        path: '/',
        httpOnly: true,
        sameSite: 'Lax',
        secure: false,
        expires: -1,
      });
      await page.reload();
      expect(await visits()).toBe('2');
      await page.reload();
      expect(await visits()).toBe('3');
    });

    it('regenerates the session id on login and shows a flash message once', async () => {
      const before = (await sessionCookie())?.value;
      await page.fill('#name', 'Ada');
      await page.click('#login');
      await page.waitForSelector('#user');
      expect(await page.locator('#flash').textContent()).toBe('Logged in as Ada.');
      expect(await page.locator('#user').textContent()).toContain('Ada');
      expect(await visits()).toBe('4');
      const after = (await sessionCookie())?.value;
      expect(after).toBeDefined();
      expect(after).not.toBe(before);
      await page.reload();
      expect(await page.locator('#flash').count()).toBe(0);
      expect(await visits()).toBe('5');
    });

    it('clears the session on logout', async () => {
      await page.click('#logout');
      await page.waitForSelector('#flash');
      expect(await page.locator('#flash').textContent()).toBe('Logged out.');
      expect(await visits()).toBe('1');
      expect(await page.locator('#user').count()).toBe(0);
    });

    it('starts a fresh session when the cookie is tampered with', async () => {
      await page.reload();
      expect(await visits()).toBe('2');
      const cookie = await sessionCookie();
      if (!cookie) throw new Error('no session cookie');
      const tampered = `${cookie.value.slice(0, -4)}${cookie.value.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
      await context.addCookies([{ ...cookie, value: tampered }]);
      await page.reload();
      expect(await visits()).toBe('1');
      expect((await sessionCookie())?.value).not.toBe(tampered);
    });

    it('caches the slow page in its region: a miss, then hits', async () => {
      await page.goto(`${demo.url}/slow?n=123456`);
      expect(await page.locator('#cache strong').textContent()).toBe('miss');
      await page.reload();
      expect(await page.locator('#cache strong').textContent()).toBe('hit');
      await page.screenshot({ path: join(mkdtempSync(join(tmpdir(), 'beaker-demo-')), 'slow.png') });
    });
  },
);
