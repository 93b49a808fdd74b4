/**
 * The demo application in a real browser: headless Chromium (Debian's `chromium`) driven by playwright-core, against
 * the demo started as `npm start` starts it (tsx running examples/demo/main.ts: a primary and two workers on one
 * port), on a free port. It checks the cookie and the session the page shows, login (a new id, a flash shown once),
 * CSRF refusals, logout, a tampered cookie, the region-cached slow page and its invalidation, the dog-pile race across
 * the two workers, a user's sessions in several browsers (one logged out from another, then "log out everywhere
 * else"), and a clean stop on SIGTERM. Screenshots go to test-output/.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
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
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = join(ROOT, 'examples/demo/main.ts');
// `npm start` is `tsx examples/demo/main.ts`: run the same CLI, not an import of the app.
const TSX_CLI = join(ROOT, 'node_modules/tsx/dist/cli.mjs');
const SCREENSHOTS = join(ROOT, 'test-output');
const INI_SECRET = /^beaker\.session\.secret\s*=\s*(.+)$/m.exec(
  readFileSync(join(ROOT, 'examples/demo/development.ini'), 'utf8'),
)?.[1];

/** Starts the demo with PORT=0 and resolves to its URL, read from the line it prints. */
function startDemo(): { child: ChildProcess; url: Promise<string>; output: () => string } {
  const child = spawn(process.execPath, [TSX_CLI, MAIN], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const found = /beaker-ts demo on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (found?.[1]) resolve(found[1]);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      reject(new Error(`the demo exited (code ${code}) before listening:\n${output}`));
    });
  });
  return { child, url, output: () => output };
}

describeWhenAvailable(
  'the demo in headless Chromium',
  existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is missing: apt-get install chromium`,
  () => {
    let demo: ReturnType<typeof startDemo>;
    let url: string;
    let browser: Browser;
    let context: BrowserContext;
    let page: Page;

    beforeAll(async () => {
      mkdirSync(SCREENSHOTS, { recursive: true });
      demo = startDemo();
      url = await demo.url;
      browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
      context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      page = await context.newPage();
    }, 60_000);

    afterAll(async () => {
      await browser.close();
      if (demo.child.exitCode === null && demo.child.signalCode === null) demo.child.kill('SIGKILL');
    });

    const text = async (selector: string): Promise<string> =>
      ((await page.locator(selector).textContent()) ?? '').trim();
    const visits = (): Promise<string> => text('#visits strong');
    const sessionCookie = async () =>
      (await context.cookies(url)).find((cookie) => cookie.name === 'demo.sid');
    const region = async (name: string) => {
      const row = page.locator(`#region-${name}`);
      const read = async (attribute: string): Promise<number> => Number(await row.getAttribute(attribute));
      return {
        hits: await read('data-hits'),
        misses: await read('data-misses'),
        creations: await read('data-creations'),
        entries: await read('data-entries'),
      };
    };
    /**
     * POSTs with the browser context's cookies (the page's CSP forbids fetch from the page itself), as a forged form
     * or a script holding the cookie would, and gives the status.
     */
    const post = async (path: string, body: string, headers: Record<string, string> = {}): Promise<number> =>
      (
        await page.request.post(`${url}${path}`, {
          data: body,
          headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
          maxRedirects: 0,
        })
      ).status();

    it('sets the session cookie with the configured attributes and shows it, the session and the configuration', async () => {
      await page.goto(url);
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
      if (!cookie) throw new Error('no session cookie');
      // What the page says the adapter sent is what the browser got.
      expect(await text('#cookie-name')).toBe('demo.sid');
      expect(await text('#cookie-path')).toBe('/');
      expect(await text('#cookie-httponly')).toBe('yes');
      expect(await text('#cookie-samesite')).toBe('Lax');
      expect(await text('#cookie-secure')).toBe('no');
      expect(await text('#cookie-expires')).toContain('ends with the browser session');
      expect(await page.locator('#cookie').textContent()).toContain(`${cookie.value.slice(0, 8)}…`);
      expect(await text('#session-store')).toBe('file');
      expect(await text('#session-id')).toMatch(/^[\w-]{8}…$/);
      // Neither the bearer id nor the secret reaches the page.
      const html = await page.content();
      expect(html).not.toContain(cookie.value);
      expect(INI_SECRET).toBeDefined();
      expect(html).not.toContain(INI_SECRET);
      expect(await page.locator('#config-session').textContent()).toContain(
        `secret••• (${INI_SECRET?.length} chars)`,
      );
      expect(await page.locator('#config-region-long_term').textContent()).toContain('file');
      await page.reload();
      expect(await visits()).toBe('2');
      await page.reload();
      expect(await visits()).toBe('3');
    });

    it('regenerates the session id on login and shows the flash message once', async () => {
      const cookieBefore = (await sessionCookie())?.value;
      const idBefore = await text('#session-id');
      await page.fill('#name', 'Ada');
      await page.click('#login');
      await page.waitForSelector('#user');
      expect(await text('#flash')).toBe('Logged in as Ada.');
      expect(await text('#user')).toContain('Ada');
      expect(await visits()).toBe('4');
      const idAfter = await text('#session-id');
      expect(idAfter).not.toBe(idBefore);
      expect(await text('#session-previous-id')).toBe(idBefore);
      const cookieAfter = (await sessionCookie())?.value;
      expect(cookieAfter).toBeDefined();
      expect(cookieAfter).not.toBe(cookieBefore);
      await page.reload();
      expect(await page.locator('#flash').count()).toBe(0);
      expect(await visits()).toBe('5');
      expect(await text('#session-id')).toBe(idAfter);
    });

    it('refuses a POST without the CSRF token, or with a wrong one, with a 403', async () => {
      expect(await post('/logout', '')).toBe(403);
      expect(await post('/logout', 'csrf=not-the-token')).toBe(403);
      expect(await post('/regions/invalidate', 'region=short_term', { 'X-CSRF-Token': 'x'.repeat(43) })).toBe(
        403,
      );
      const token = await page.locator('input[name=csrf]').first().getAttribute('value');
      expect(token).toMatch(/^[\w-]{43}$/);
      // The right token passes the check (here by header): the unknown region is what this request gets refused for.
      expect(await post('/regions/invalidate', 'region=nope', { 'X-CSRF-Token': token ?? '' })).toBe(400);
      await page.reload();
      expect(await text('#user')).toContain('Ada');
    });

    it('clears the session on logout, with a flash shown once', async () => {
      await page.click('#logout');
      await page.waitForSelector('#flash');
      expect(await text('#flash')).toBe('Logged out.');
      expect(await visits()).toBe('1');
      expect(await page.locator('#user').count()).toBe(0);
      await page.reload();
      expect(await page.locator('#flash').count()).toBe(0);
      expect(await visits()).toBe('2');
    });

    it('starts a fresh session when the cookie is tampered with', async () => {
      const cookie = await sessionCookie();
      if (!cookie) throw new Error('no session cookie');
      const tampered = `${cookie.value.slice(0, -4)}${cookie.value.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
      await context.addCookies([{ ...cookie, value: tampered }]);
      await page.reload();
      expect(await visits()).toBe('1');
      expect((await sessionCookie())?.value).not.toBe(tampered);
    });

    it('caches the slow page per worker, and the invalidate button clears the region in both workers', async () => {
      const slowUrl = `${url}/slow?n=${123_000 + (process.pid % 1000)}`;
      // short_term is a memory region: each worker computes once, then hits. Keep loading until a worker hits.
      const computedBy = new Set<string>();
      let hits = 0;
      for (let load = 0; load < 8 && hits === 0; load += 1) {
        await page.goto(slowUrl);
        const pid = (await page.locator('#served-by').getAttribute('data-pid')) ?? '';
        const outcome = await text('#cache strong');
        expect(outcome).toBe(computedBy.has(pid) ? 'hit' : 'miss');
        computedBy.add(pid);
        if (outcome === 'hit') hits += 1;
      }
      expect(hits).toBe(1);
      await page.screenshot({ path: join(SCREENSHOTS, 'demo-slow.png'), fullPage: true });

      await page.goto(url);
      const before = await region('short_term');
      expect(before.entries).toBe(computedBy.size);
      expect(before.creations).toBeGreaterThanOrEqual(computedBy.size);
      await page.click('#invalidate-short_term');
      await page.waitForSelector('#flash');
      expect(await text('#flash')).toBe('Region short_term invalidated in 2 worker(s).');
      const cleared = await region('short_term');
      expect(cleared.entries).toBe(0);
      expect(cleared.creations).toBe(before.creations);

      // Whichever worker serves it, the value is gone: a miss, and one more creation.
      await page.goto(slowUrl);
      expect(await text('#cache strong')).toBe('miss');
      await page.goto(url);
      const after = await region('short_term');
      expect(after.creations).toBe(before.creations + 1);
      expect(after.misses).toBe(before.misses + 1);
      expect(after.entries).toBe(1);
    });

    it('creates a cold key once for 50 concurrent requests served by both workers', async () => {
      await page.goto(`${url}/race`);
      expect(await page.locator('#race-empty').count()).toBe(1);
      await page.click('#race-run');
      await page.waitForSelector('#race-result');
      expect(await text('#race-created')).toBe('1');
      expect(await text('#race-summary')).toBe('created 1 time(s) for 50 concurrent requests');
      const workers = await Promise.all(
        (await page.locator('.race-worker').all()).map(async (row) => ({
          pid: Number(await row.getAttribute('data-pid')),
          served: Number(await row.getAttribute('data-served')),
          created: Number(await row.getAttribute('data-created')),
        })),
      );
      expect(workers).toHaveLength(2);
      expect(new Set(workers.map((worker) => worker.pid)).size).toBe(2);
      for (const worker of workers) expect(worker.served).toBeGreaterThan(0);
      expect(workers.reduce((sum, worker) => sum + worker.served, 0)).toBe(50);
      expect(workers.reduce((sum, worker) => sum + worker.created, 0)).toBe(1);
      // Every caller got the one value its creator stored.
      expect(await page.locator('#race-values').getAttribute('data-distinct')).toBe('1');
      await page.screenshot({ path: join(SCREENSHOTS, 'demo-race.png'), fullPage: true });

      // Without the reset the key is warm: nothing is created.
      await page.click('#race-warm');
      await page.waitForSelector('#race-result');
      expect(await text('#race-created')).toBe('0');
      await page.click('#race-run');
      await page.waitForSelector('#race-result');
      expect(await text('#race-created')).toBe('1');
    });

    it('shows the race in the long_term region statistics; screenshot of the main page', async () => {
      await page.goto(url);
      await page.fill('#name', 'Grace');
      await page.click('#login');
      await page.waitForSelector('#user');
      const longTerm = await region('long_term');
      // Two cold runs and one warm run of 50 requests: 100 misses, 50 hits, 2 creations.
      expect(longTerm).toMatchObject({ hits: 50, misses: 100, creations: 2, entries: 1 });
      await page.screenshot({ path: join(SCREENSHOTS, 'demo-home.png'), fullPage: true });
    });

    it("lists a user's sessions across browsers, logs out one of them, then everywhere else", async () => {
      // A name of this run only: sessions of earlier runs stay in ./data until they expire.
      const user = `Lin-${process.pid}-${Date.now().toString(36)}`;
      const contexts: BrowserContext[] = [];
      /** A browser of its own (a context: its own cookies) with `agent` as its user agent, logged in as `user`. */
      const loggedIn = async (agent: string): Promise<Page> => {
        const own = await browser.newContext({ userAgent: agent });
        contexts.push(own);
        const tab = await own.newPage();
        await tab.goto(url);
        await tab.fill('#name', user);
        await tab.click('#login');
        await tab.waitForSelector('#user');
        return tab;
      };
      const listed = async (tab: Page) =>
        Promise.all(
          (await tab.locator('tr.user-session').all()).map(async (row) => ({
            ref: (await row.getAttribute('data-ref')) ?? '',
            current: (await row.getAttribute('data-current')) === 'yes',
            agent: ((await row.locator('.agent').textContent()) ?? '').trim(),
            times:
              ((await row.textContent()) ?? '').match(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/g)?.length ?? 0,
          })),
        );
      const loggedInAs = async (tab: Page): Promise<string | undefined> => {
        await tab.goto(url);
        return (await tab.locator('#user').count()) === 0
          ? undefined
          : ((await tab.locator('#user strong').textContent()) ?? undefined);
      };
      try {
        const first = await loggedIn('beaker-demo-test first browser');
        const second = await loggedIn('beaker-demo-test second browser');
        await first.click('#sessions-link');
        await first.waitForSelector('#user-sessions');
        let sessions = await listed(first);
        expect(sessions).toHaveLength(2);
        expect(sessions.filter((listedSession) => listedSession.current)).toEqual([
          expect.objectContaining({ agent: 'beaker-demo-test first browser' }),
        ]);
        expect(sessions.find((listedSession) => !listedSession.current)?.agent).toBe(
          'beaker-demo-test second browser',
        );
        for (const listedSession of sessions) expect(listedSession.times).toBe(2);
        expect(((await first.locator('#this-browser').textContent()) ?? '').trim()).toBe('this browser');
        await first.screenshot({ path: join(SCREENSHOTS, 'demo-sessions.png'), fullPage: true });

        // One session logged out from another browser: the third.
        const third = await loggedIn('beaker-demo-test third browser');
        await first.reload();
        sessions = await listed(first);
        expect(sessions).toHaveLength(3);
        const thirdRef = sessions.find((listedSession) => listedSession.agent.includes('third'))?.ref;
        await first
          .locator('tr.user-session', { hasText: 'beaker-demo-test third browser' })
          .locator('button.revoke')
          .click();
        await first.waitForSelector('#flash');
        expect(((await first.locator('#flash').textContent()) ?? '').trim()).toBe(
          `Logged out the session ${thirdRef?.slice(0, 8)}….`,
        );
        expect((await listed(first)).map((listedSession) => listedSession.agent).sort()).toEqual([
          'beaker-demo-test first browser',
          'beaker-demo-test second browser',
        ]);
        expect(await loggedInAs(third)).toBeUndefined();
        await third.goto(`${url}/sessions`);
        expect(await third.locator('#sessions-anonymous').count()).toBe(1);

        // Another user (the main page is Grace) cannot end these sessions, whatever user the form names.
        await page.goto(url);
        const graceToken = (await page.locator('input[name=csrf]').first().getAttribute('value')) ?? '';
        const secondRef = sessions.find((listedSession) => listedSession.agent.includes('second'))?.ref ?? '';
        expect(
          await post(
            '/sessions/revoke',
            new URLSearchParams({ csrf: graceToken, ref: secondRef, user }).toString(),
          ),
        ).toBe(303);
        await page.goto(`${url}/sessions`);
        expect(((await page.locator('#flash').textContent()) ?? '').trim()).toBe(
          'No such session of yours: it may have ended already.',
        );
        expect(await loggedInAs(second)).toBe(user);
        // Without the token, nothing is revoked.
        expect(await post('/sessions/revoke-others', '')).toBe(403);

        await first.goto(`${url}/sessions`);
        await first.click('#revoke-others');
        await first.waitForSelector('#flash');
        expect(((await first.locator('#flash').textContent()) ?? '').trim()).toBe(
          'Logged out 1 other session(s).',
        );
        sessions = await listed(first);
        expect(sessions).toEqual([
          expect.objectContaining({ current: true, agent: 'beaker-demo-test first browser' }),
        ]);
        expect(await first.locator('#no-other-sessions').count()).toBe(1);
        expect(await loggedInAs(second)).toBeUndefined();
        expect(await loggedInAs(first)).toBe(user);
      } finally {
        await Promise.all(contexts.map((own) => own.close()));
      }
    });

    it('stops cleanly on SIGTERM: the primary and both workers exit', async () => {
      const exited = new Promise<number | null>((resolve) => demo.child.once('exit', resolve));
      demo.child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(demo.output()).toContain('beaker-ts demo stopped.');
      await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    });
  },
);
