/**
 * The demo's HTML: one inline stylesheet, no scripts, no external assets. Every function here turns data the worker
 * gathered into markup; nothing reads a request or a store.
 * @module
 */
import { isAbsolute, normalize } from 'node:path';
import type { CacheStats } from '../../src/index.js';
import { sumStats, type RegionReport, type WorkerReport } from './cluster.js';
import { CSRF_FIELD, type Flash, type RaceRun, type SentCookie } from './session-data.js';

/** Escapes text for HTML content and quoted attribute values. */
export const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

const STYLE = `
:root{--bg:#f4f5f8;--card:#fff;--ink:#1c2333;--muted:#5f6b7f;--line:#e3e6ec;--accent:#4f46e5;--accent-ink:#fff;
--soft:#eef0ff;--ok:#0f7a4b;--ok-bg:#e6f6ee;--warn:#9a5b00;--warn-bg:#fff4e0;--mono:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
a{color:var(--accent)}
code,.mono{font-family:var(--mono);font-size:.88em}
code{background:#f1f2f6;border-radius:4px;padding:.05rem .3rem}
.top{background:#161b2e;color:#e8eaf3}
.top .wrap{display:flex;align-items:center;gap:1.5rem;min-height:3.5rem}
.brand{font-weight:700;font-size:1.1rem;color:#fff;text-decoration:none;letter-spacing:.01em}
.brand span{color:#a5b4fc;font-weight:500}
nav{display:flex;gap:.25rem;flex:1}
nav a{color:#c7cbe0;text-decoration:none;padding:.35rem .75rem;border-radius:6px}
nav a:hover{background:#262d48;color:#fff}
nav a[aria-current]{background:#2e3660;color:#fff}
.pill{display:inline-block;font-size:.78rem;padding:.15rem .6rem;border-radius:999px;background:#262d48;color:#c7d2fe;white-space:nowrap}
.wrap{max-width:72rem;margin:0 auto;padding:0 1.5rem}
main.wrap{padding-top:1.75rem;padding-bottom:3rem}
h1{font-size:1.7rem;margin:0 0 .35rem;letter-spacing:-.01em}
.lead{color:var(--muted);margin:0 0 1.5rem;max-width:52rem}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(20rem,1fr));gap:1.1rem}
.card{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:1.1rem 1.25rem;box-shadow:0 1px 2px rgba(16,24,40,.04)}
.card.wide{grid-column:1/-1}
.card h2{font-size:.8rem;text-transform:uppercase;letter-spacing:.08em;color:var(--muted);margin:0 0 .8rem}
.card h2 code{text-transform:none;letter-spacing:0}
.card p{margin:.4rem 0}
.note{color:var(--muted);font-size:.88rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.35rem 1rem;margin:0}
dt{color:var(--muted)}
dd{margin:0;word-break:break-word}
table{width:100%;border-collapse:collapse;font-size:.92rem}
th,td{text-align:left;padding:.45rem .6rem;border-bottom:1px solid var(--line);vertical-align:top}
.scroll{overflow-x:auto}
th{color:var(--muted);font-weight:600;font-size:.78rem;text-transform:uppercase;letter-spacing:.05em;white-space:nowrap}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
tr:last-child td{border-bottom:0}
.flash{border-radius:10px;padding:.75rem 1rem;margin:0 0 1.25rem;font-weight:500}
.flash.success{background:var(--ok-bg);color:var(--ok);border:1px solid #b7e4cc}
.flash.info{background:var(--soft);color:#3730a3;border:1px solid #d4d8ff}
form{margin:0}
.row{display:flex;gap:.5rem;align-items:center;flex-wrap:wrap}
input[type=text]{font:inherit;padding:.45rem .7rem;border:1px solid #cfd4de;border-radius:8px;min-width:12rem}
input[type=text]:focus{outline:2px solid #c7d2fe;border-color:var(--accent)}
button{font:inherit;font-weight:600;border:0;border-radius:8px;padding:.5rem .95rem;cursor:pointer;background:var(--accent);color:var(--accent-ink)}
button:hover{filter:brightness(1.08)}
button.secondary{background:#eef0f5;color:var(--ink)}
button.small{padding:.3rem .65rem;font-size:.82rem}
.big{font-size:2.6rem;font-weight:700;line-height:1.1;font-variant-numeric:tabular-nums}
.big small{font-size:1rem;font-weight:500;color:var(--muted)}
.summary{font-size:1.05rem;font-weight:600;margin:.2rem 0 .5rem}
ul.try{margin:.9rem 0 0;padding-left:1.1rem;color:var(--muted);font-size:.9rem}
ul.try li{margin:.15rem 0}
.tag{display:inline-block;font-size:.75rem;font-weight:600;padding:.1rem .5rem;border-radius:999px;background:#eef0f5;color:var(--muted)}
.tag.hit{background:var(--ok-bg);color:var(--ok)}
.tag.miss{background:var(--warn-bg);color:var(--warn)}
.bar{display:flex;height:.6rem;border-radius:999px;overflow:hidden;background:#eef0f5;margin:.5rem 0 .2rem}
.bar span{display:block;height:100%}
.bar span:nth-child(1){background:#6366f1}.bar span:nth-child(2){background:#22c55e}.bar span:nth-child(n+3){background:#f59e0b}
.swatch{display:inline-block;width:.7rem;height:.7rem;border-radius:3px;margin-right:.35rem;vertical-align:-.05rem}
.config{display:grid;grid-template-columns:repeat(auto-fit,minmax(22rem,1fr));gap:1.25rem}
.config h3{font-size:.95rem;margin:.2rem 0 .4rem}
.config td:first-child{font-family:var(--mono);font-size:.85rem;white-space:nowrap}
.config td:last-child{font-family:var(--mono);font-size:.85rem;word-break:break-all}
.secret{color:var(--warn)}
footer{color:var(--muted);font-size:.85rem;text-align:center;padding:0 0 2rem}
`;

type NavItem = 'home' | 'sessions' | 'slow' | 'race';

/** The page frame: header with navigation and the serving worker, the flash message, then `body`. */
export function layout(options: {
  title: string;
  nav?: NavItem;
  pid: number;
  flash?: Flash;
  body: string;
}): string {
  const link = (item: NavItem, href: string, label: string): string =>
    `<a href="${href}"${options.nav === item ? ' aria-current="page"' : ''}>${label}</a>`;
  const flash = options.flash
    ? `<div class="flash ${options.flash.kind}" id="flash" role="status">${escapeHtml(options.flash.text)}</div>`
    : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(options.title)} · beaker-ts demo</title>
<style>${STYLE}</style></head><body>
<header class="top"><div class="wrap"><a class="brand" href="/">beaker-ts <span>demo</span></a>
<nav>${link('home', '/', 'Session &amp; caches')}${link('sessions', '/sessions', 'Your sessions')}${link('slow', '/slow?n=200000', 'Slow page')}${link('race', '/race', 'Dog-pile race')}</nav>
<span class="pill" id="served-by" data-pid="${options.pid}">served by worker ${options.pid}</span></div></header>
<main class="wrap">${flash}${options.body}</main>
<footer>beaker-ts · plain <code>node:http</code> with the node:http adapter · two worker processes on one port</footer>
</body></html>`;
}

/** A hidden field with the session's CSRF token: every form carries one. */
const csrfField = (token: string): string =>
  `<input type="hidden" name="${CSRF_FIELD}" value="${escapeHtml(token)}">`;

const time = (date: Date | null): string =>
  date === null ? '—' : `<span class="mono">${date.toISOString().replace('T', ' ').slice(0, 19)} UTC</span>`;

const SECRET_OPTIONS = new Set(['secret', 'validate_key', 'encrypt_key']);

/** An option's value for display: secrets as their length only, paths normalized, the rest as JSON. */
function optionValue(name: string, value: unknown): string {
  if (SECRET_OPTIONS.has(name) && value !== null && value !== undefined) {
    const length = typeof value === 'string' ? value.length : JSON.stringify(value).length;
    return `<span class="secret">••• (${length} chars)</span>`;
  }
  if (typeof value === 'string') return escapeHtml(isAbsolute(value) ? normalize(value) : value);
  return escapeHtml(JSON.stringify(value) ?? String(value));
}

function optionsTable(options: object, id: string): string {
  const rows = Object.entries(options)
    .filter(([, value]) => typeof value !== 'object' || value === null || Array.isArray(value))
    .map(([name, value]) => `<tr><td>${escapeHtml(name)}</td><td>${optionValue(name, value)}</td></tr>`)
    .join('');
  return `<table id="${id}"><tbody>${rows}</tbody></table>`;
}

/** What the home page shows. */
export interface HomeModel {
  pid: number;
  flash?: Flash;
  csrf: string;
  user?: string;
  visits: number;
  session: {
    idPrefix: string;
    previousIdPrefix?: string;
    startedNow: boolean;
    created: Date;
    lastAccessed: Date | null;
    expires: Date | null;
    timeoutSeconds: number | null;
    store: string;
    keys: string[];
  };
  cookie?: SentCookie;
  cookieSentNow: boolean;
  workers: WorkerReport[];
  iniPath: string;
  sessionConfig: Record<string, unknown>;
  cacheConfig: Record<string, unknown>;
  regionConfig: Record<string, object>;
}

function youCard(model: HomeModel): string {
  const account = model.user
    ? `<p id="user">Logged in as <strong>${escapeHtml(model.user)}</strong>.</p>
<form method="post" action="/logout">${csrfField(model.csrf)}<button id="logout" class="secondary">Log out</button></form>
<p class="note">Your other browsers and devices, and a button that logs them out: <a href="/sessions" id="sessions-link">your sessions</a>.</p>`
    : `<form method="post" action="/login" class="row">${csrfField(model.csrf)}
<input type="text" name="user" id="name" placeholder="Your name" maxlength="40" autocomplete="off" aria-label="Name">
<button id="login">Log in</button></form>
<p class="note">Logging in gives the session a new id, keeping its data: an id planted before login is worthless after it.</p>`;
  return `<section class="card"><h2>You</h2>
<p class="big" id="visits"><strong>${model.visits}</strong> <small>visit(s) in this session</small></p>${account}
<ul class="try"><li>Log in: the session id changes, the data stays.</li><li>Log in with the same name in another browser, then see both on <a href="/sessions">your sessions</a>.</li><li>Reload: the flash message is gone, shown once.</li>
<li>Invalidate a region below, or run the <a href="/race">dog-pile race</a>.</li></ul></section>`;
}

function sessionCard(model: HomeModel): string {
  const { session } = model;
  const previous = session.previousIdPrefix
    ? `<dt>Id before login</dt><dd class="mono" id="session-previous-id">${escapeHtml(session.previousIdPrefix)}…</dd>`
    : '';
  const expiry = session.expires
    ? `${time(session.expires)} <span class="note">(${session.timeoutSeconds ?? 0} s idle)</span>`
    : 'never (no timeout)';
  return `<section class="card"><h2>Session</h2><dl>
<dt>Id</dt><dd><span class="mono" id="session-id">${escapeHtml(session.idPrefix)}…</span> ${session.startedNow ? '<span class="tag">new</span>' : ''}</dd>
${previous}<dt>Created</dt><dd>${time(session.created)}</dd>
<dt>Last access</dt><dd>${session.lastAccessed ? time(session.lastAccessed) : '— <span class="note">(first request)</span>'}</dd>
<dt>Expires</dt><dd>${expiry}</dd>
<dt>Store</dt><dd><code id="session-store">${escapeHtml(session.store)}</code></dd>
<dt>Keys</dt><dd class="mono">${escapeHtml(session.keys.join(', ') || '—')}</dd>
</dl><p class="note">Only the first characters of the id are shown: the whole id is a bearer credential.</p></section>`;
}

function cookieCard(model: HomeModel): string {
  const { cookie } = model;
  if (!cookie)
    return `<section class="card"><h2>Session cookie</h2><p class="note">No cookie sent yet.</p></section>`;
  const attribute = (name: string): string | true | undefined =>
    cookie.attributes.find(([key]) => key.toLowerCase() === name.toLowerCase())?.[1];
  const flag = (name: string): string => (attribute(name) === undefined ? 'no' : 'yes');
  const expires = attribute('Expires');
  const maxAge = attribute('Max-Age');
  const lifetime =
    expires === undefined && maxAge === undefined
      ? 'none: the cookie ends with the browser session'
      : [
          expires !== undefined ? `Expires=${String(expires)}` : '',
          maxAge !== undefined ? `Max-Age=${String(maxAge)}` : '',
        ]
          .filter(Boolean)
          .join('; ');
  const value = (name: string): string => {
    const found = attribute(name);
    return found === undefined ? '—' : found === true ? 'yes' : escapeHtml(found);
  };
  return `<section class="card" id="cookie"><h2>Session cookie (last Set-Cookie)</h2><dl>
<dt>Name</dt><dd><code id="cookie-name">${escapeHtml(cookie.name)}</code></dd>
<dt>Value</dt><dd class="mono">${escapeHtml(cookie.valuePrefix)}… <span class="note">(${cookie.valueLength} chars, signed id)</span></dd>
<dt>Path</dt><dd id="cookie-path">${value('Path')}</dd>
<dt>HttpOnly</dt><dd id="cookie-httponly">${flag('HttpOnly')}</dd>
<dt>SameSite</dt><dd id="cookie-samesite">${value('SameSite')}</dd>
<dt>Secure</dt><dd id="cookie-secure">${flag('Secure')}</dd>
<dt>Expires / Max-Age</dt><dd id="cookie-expires">${escapeHtml(lifetime)}</dd>
<dt>Sent</dt><dd>${time(new Date(cookie.sentAt))} ${model.cookieSentNow ? '<span class="tag hit">with this page</span>' : ''}</dd>
</dl><p class="note">The cookie is HttpOnly, so the page cannot read it: this is what the adapter sent, recorded by the server.</p></section>`;
}

function regionsCard(model: HomeModel): string {
  const byRegion = new Map<string, RegionReport[]>();
  for (const worker of model.workers)
    for (const report of worker.regions)
      byRegion.set(report.region, [...(byRegion.get(report.region) ?? []), report]);
  const rows = [...byRegion.entries()].map(([region, reports]) => {
    const [first] = reports;
    if (!first) return '';
    const total = sumStats(reports.map((r) => r.stats));
    // A memory region lives in each worker, so its entries add up; a shared store shows every worker the same ones.
    const entries =
      first.type === 'memory'
        ? reports.reduce((sum, r) => sum + r.entries, 0)
        : Math.max(...reports.map((r) => r.entries));
    const perWorker = model.workers
      .map((worker) => {
        const mine = worker.regions.find((r) => r.region === region);
        return mine
          ? `${worker.pid}: ${mine.stats.hits}/${mine.stats.misses}/${mine.stats.creations}${first.type === 'memory' ? ` (${mine.entries} entries)` : ''}`
          : '';
      })
      .filter(Boolean)
      .map((line) => escapeHtml(line))
      .join('<br>');
    return `<tr id="region-${escapeHtml(region)}" data-hits="${total.hits}" data-misses="${total.misses}" data-creations="${total.creations}" data-entries="${entries}">
<td><strong>${escapeHtml(region)}</strong><br><span class="note">${escapeHtml(first.namespaces.join(', '))}</span></td>
<td><code>${escapeHtml(first.type)}</code>${first.type === 'memory' ? '<br><span class="note">per worker</span>' : '<br><span class="note">shared</span>'}</td>
<td class="num">${first.expire === null ? '∞' : `${first.expire} s`}</td>
<td class="num">${entries}</td><td class="num">${total.hits}</td><td class="num">${total.misses}</td>
<td class="num">${total.creations}</td><td class="num">${total.staleServes}</td>
<td class="note mono">${perWorker}</td>
<td><form method="post" action="/regions/invalidate">${csrfField(model.csrf)}<input type="hidden" name="region" value="${escapeHtml(region)}">
<button class="small secondary" id="invalidate-${escapeHtml(region)}">Invalidate</button></form></td></tr>`;
  });
  return `<section class="card wide" id="caches"><h2>Cache regions · ${model.workers.length} worker(s)</h2>
<div class="scroll"><table><thead><tr><th>Region</th><th>Back-end</th><th class="num">Expire</th><th class="num">Entries</th><th class="num">Hits</th>
<th class="num">Misses</th><th class="num">Creations</th><th class="num">Stale</th><th>Per worker<br><span class="note">pid: hits/misses/creations</span></th><th></th></tr></thead>
<tbody>${rows.join('')}</tbody></table></div>
<p class="note">Counts come from each worker's <code>cache.stats()</code>, summed. The <a href="/slow?n=200000">slow page</a> uses
<code>short_term</code>, the <a href="/race">dog-pile race</a> <code>long_term</code>. Invalidating clears the region in every worker.</p></section>`;
}

function configCard(model: HomeModel): string {
  const regions = Object.entries(model.regionConfig)
    .map(
      ([name, options]) =>
        `<h3>cache region <code>${escapeHtml(name)}</code></h3>${optionsTable(options, `config-region-${name}`)}`,
    )
    .join('');
  return `<section class="card wide" id="config"><h2>Configuration read from <code>${escapeHtml(model.iniPath)}</code></h2>
<div class="config"><div><h3>session options</h3>${optionsTable(model.sessionConfig, 'config-session')}</div>
<div><h3>cache options</h3>${optionsTable(model.cacheConfig, 'config-cache')}${regions}</div></div>
<p class="note">As parsed by <code>parseSessionConfigOptions</code> and <code>parseCacheConfigOptions</code>; secrets show only their length.</p></section>`;
}

/** The main page: the visitor, the session and its cookie, the cache regions, the configuration. */
export function homePage(model: HomeModel): string {
  return layout({
    title: 'Session & caches',
    nav: 'home',
    pid: model.pid,
    ...(model.flash ? { flash: model.flash } : {}),
    body: `<h1>What beaker-ts is doing</h1>
<p class="lead">This page is rendered by one of two worker processes sharing port and stores. Sessions live in
<code>${escapeHtml(model.session.store)}</code> files, caches in two regions, all configured from an INI file the Beaker way.</p>
<div class="grid">${youCard(model)}${sessionCard(model)}${cookieCard(model)}${regionsCard(model)}${configCard(model)}</div>`,
  });
}

/** The slow page: a region-cached computation and whether this request hit. */
export function slowPage(model: {
  pid: number;
  n: number;
  value: string;
  hit: boolean;
  ms: number;
  stats: CacheStats;
}): string {
  return layout({
    title: 'Slow page',
    nav: 'slow',
    pid: model.pid,
    body: `<h1>A slow page, cached in a region</h1>
<p class="lead">The sum of squares below <em>n</em> takes 400 ms or more to compute. It is a function cached with
<code>caches.region('short_term')</code>: a memory region, so each worker keeps its own copy for 60 s.</p>
<div class="grid"><section class="card"><h2>Result</h2><p>Sum of squares below ${model.n}</p>
<p class="big mono" style="font-size:1.4rem;word-break:break-all">${escapeHtml(model.value)}</p></section>
<section class="card" id="cache"><h2>This request</h2><p class="big"><strong class="tag ${model.hit ? 'hit' : 'miss'}" style="font-size:1.6rem">${model.hit ? 'hit' : 'miss'}</strong></p>
<p>${model.ms.toFixed(1)} ms in worker ${model.pid}</p></section>
<section class="card"><h2>short_term in worker ${model.pid}</h2><dl><dt>Hits</dt><dd>${model.stats.hits}</dd><dt>Misses</dt><dd>${model.stats.misses}</dd>
<dt>Creations</dt><dd id="slow-creations">${model.stats.creations}</dd></dl></section></div>
<p class="note">Try another <em>n</em>: <a href="/slow?n=123456">123456</a> · <a href="/slow?n=500000">500000</a> · <a href="/slow?n=1000000">1000000</a></p>`,
  });
}

function raceResult(run: RaceRun): string {
  const colours = ['#6366f1', '#22c55e', '#f59e0b'];
  const workers = run.workers
    .map(
      (
        worker,
        index,
      ) => `<tr class="race-worker" data-pid="${worker.pid}" data-served="${worker.served}" data-created="${worker.created}">
<td><span class="swatch" style="background:${colours[Math.min(index, 2)] ?? '#f59e0b'}"></span>worker ${worker.pid}</td>
<td class="num">${worker.served}</td><td class="num">${worker.created}</td></tr>`,
    )
    .join('');
  const bar = run.workers
    .map((worker) => `<span style="width:${(100 * worker.served) / run.requests}%"></span>`)
    .join('');
  const values = run.values
    .map(
      (value) =>
        `${value.count} × the value created by worker ${value.createdBy} at ${time(new Date(value.createdAt))}`,
    )
    .join('<br>');
  return `<div class="grid" id="race-result">
<section class="card"><h2>Created</h2><p class="big" id="race-created">${run.created}</p>
<p class="summary" id="race-summary">created ${run.created} time(s) for ${run.requests} concurrent requests</p>
<p class="note">${run.reset ? 'Cold start: the key was removed first.' : 'Warm start: the key was kept, so every request should hit.'}
${run.failures > 0 ? `<br><strong>${run.failures} request(s) failed.</strong>` : ''}</p></section>
<section class="card"><h2>Served by</h2><div class="bar">${bar}</div>
<table><thead><tr><th>Worker</th><th class="num">Served</th><th class="num">Created</th></tr></thead><tbody>${workers}</tbody></table></section>
<section class="card"><h2>Timing and values</h2><dl><dt>All done in</dt><dd>${run.elapsedMs.toFixed(0)} ms</dd>
<dt>Fastest / slowest</dt><dd>${run.fastestMs.toFixed(0)} / ${run.slowestMs.toFixed(0)} ms</dd>
<dt>Values</dt><dd id="race-values" data-distinct="${run.values.length}">${values}</dd><dt>Run at</dt><dd>${time(new Date(run.at))}</dd></dl></section></div>`;
}

/** The dog-pile page: the run buttons and the last run's outcome. */
export function racePage(model: {
  pid: number;
  csrf: string;
  requests: number;
  createMs: number;
  region: string;
  lockDir: string;
  run?: RaceRun;
}): string {
  return layout({
    title: 'Dog-pile race',
    nav: 'race',
    pid: model.pid,
    body: `<h1>Dog-pile protection across processes</h1>
<p class="lead">${model.requests} requests at once ask for one cold key of the <code>${escapeHtml(model.region)}</code> region,
a <code>file</code> store shared by both workers. Creating the value takes ${model.createMs} ms. One caller takes the
creation lock (in-process first, then a lock directory under <code>${escapeHtml(model.lockDir)}</code>), the others wait
and read what it stored: the value is created once, whichever worker serves each request.</p>
<section class="card" style="margin-bottom:1.1rem"><form method="post" action="/race/run" class="row">${csrfField(model.csrf)}
<button name="reset" value="1" id="race-run">Reset the key and fire ${model.requests} requests</button>
<button name="reset" value="0" id="race-warm" class="secondary">Fire again without resetting</button></form>
<p class="note">The worker that gets this POST removes the key, then sends the requests to the shared port, each on its own connection,
so the cluster deals them out to both workers. Each response says which worker served it and whether it ran the creation function.</p></section>
${model.run ? raceResult(model.run) : '<p class="note" id="race-empty">No run yet.</p>'}`,
  });
}

/** One of the user's sessions, as the sessions page lists it. */
export interface ListedSession {
  ref: string;
  hint: string;
  created: Date;
  lastAccessed: Date;
  /** The user agent kept at login (`setUser(user, { agent })`). */
  agent?: string;
  /** Is it the session of this request? */
  current: boolean;
}

/** What the sessions page shows. */
export interface SessionsModel {
  pid: number;
  flash?: Flash;
  csrf: string;
  store: string;
  /** False for cookie sessions: nothing on the server to list or end. */
  listable: boolean;
  user?: string;
  sessions: ListedSession[];
}

function sessionRow(model: SessionsModel, listed: ListedSession): string {
  const action = listed.current
    ? `<form method="post" action="/logout">${csrfField(model.csrf)}<button class="small secondary">Log out</button></form>`
    : `<form method="post" action="/sessions/revoke">${csrfField(model.csrf)}<input type="hidden" name="ref" value="${escapeHtml(listed.ref)}">
<button class="small secondary revoke">Log out</button></form>`;
  return `<tr class="user-session" data-ref="${escapeHtml(listed.ref)}" data-current="${listed.current ? 'yes' : 'no'}">
<td>${listed.current ? '<span class="tag hit" id="this-browser">this browser</span> ' : ''}<span class="agent">${escapeHtml(listed.agent ?? 'unknown')}</span>
<br><span class="note mono">${escapeHtml(listed.hint)}…</span></td>
<td>${time(listed.created)}</td><td>${time(listed.lastAccessed)}</td><td>${action}</td></tr>`;
}

function userSessionsCard(model: SessionsModel): string {
  if (!model.listable)
    return `<section class="card" id="sessions-unavailable"><h2>Not available with cookie sessions</h2>
<p>This demo runs on <code>type = ${escapeHtml(model.store)}</code>: each session lives only in its browser's encrypted cookie, and the
server keeps no record of it. There is nothing to list, and no way to end a session from another browser: logging out ends
this browser's. Use a server-side store (<code>file</code>, <code>ext:redis</code>, …) to see this page work.</p></section>`;
  if (model.user === undefined)
    return `<section class="card" id="sessions-anonymous"><h2>Not logged in</h2>
<p>Log in on the <a href="/">main page</a> to see the sessions of your name here.</p></section>`;
  const others = model.sessions.filter((listed) => !listed.current).length;
  const everywhere =
    others > 0
      ? `<form method="post" action="/sessions/revoke-others">${csrfField(model.csrf)}<button id="revoke-others">Log out everywhere else (${others})</button></form>`
      : '<p class="note" id="no-other-sessions">No other sessions: this browser is the only one logged in as you.</p>';
  return `<section class="card wide" id="sessions"><h2>Sessions of <code>${escapeHtml(model.user)}</code> · ${model.sessions.length}</h2>
<div class="scroll"><table id="user-sessions"><thead><tr><th>Browser</th><th>Created</th><th>Last access</th><th></th></tr></thead>
<tbody>${model.sessions.map((listed) => sessionRow(model, listed)).join('')}</tbody></table></div>
<div class="row" style="margin-top:.9rem">${everywhere}</div>
<p class="note">Logging a session out removes its record from the store: its cookie stops working in both workers at once.
The last access is the one the store recorded.</p></section>`;
}

/** The user's sessions: this browser and the others, each with a button that logs it out. */
export function sessionsPage(model: SessionsModel): string {
  return layout({
    title: 'Your sessions',
    nav: 'sessions',
    pid: model.pid,
    ...(model.flash ? { flash: model.flash } : {}),
    body: `<h1>Your sessions</h1>
<p class="lead">On login the demo gives the session a new id and binds it to your name with
<code>session.setUser(name, { agent })</code>. <code>sessions.sessionsOf(name)</code> lists the sessions bound to it, by
reference (a digest, never an id), and <code>revoke</code> and <code>revokeAll</code> end them. There are no passwords
here: whoever logs in with the same name is the same user.</p>
<div class="grid">${userSessionsCard(model)}</div>`,
  });
}

/** A page with a title and a sentence: errors and refusals. */
export function messagePage(options: { pid: number; title: string; text: string }): string {
  return layout({
    title: options.title,
    pid: options.pid,
    body: `<section class="card"><h1>${escapeHtml(options.title)}</h1><p>${escapeHtml(options.text)}</p><p><a href="/">Back to the demo</a></p></section>`,
  });
}
