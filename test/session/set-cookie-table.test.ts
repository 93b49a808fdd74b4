/**
 * The table at the top of docs/sessions.md, played row by row: for each kind of request, the store operations a
 * server-side session costs and whether a Set-Cookie header is sent, for server-side and cookie sessions. The test
 * also reads the table itself, so the documentation and the behaviour cannot drift apart.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SessionManager, type Session, type SessionManagerOptions } from '../../src/session/index.js';
import {
  ManualClock,
  SECRET,
  VALIDATE_KEY,
  cookieFrom,
  countingManager,
  request,
  savedSession,
  type CountingBackend,
} from './helpers.js';

type Data = { user?: string; visits?: number };
type Kind = 'server-side' | 'cookie';
type Counts = { reads: number; writes: number; deletes: number };
/**
 * What the response's Set-Cookie says: nothing; the cookie the request sent, again; a new cookie value; or a
 * deletion cookie.
 */
type CookieSent = 'none' | 'same' | 'new' | 'deletion';

interface Row {
  /** The row's first column in docs/sessions.md, verbatim. */
  name: string;
  /** Session options of the row (added to the kind's own). */
  options?: SessionManagerOptions;
  /** Seconds between the request that created the session and the request the row describes. */
  after?: number;
  /** The request carries no cookie: a new session. */
  fresh?: boolean;
  /** The request is served by a manager whose newest secret (or key) is not the one that signed the cookie. */
  rotated?: boolean;
  /** What the request does with its session. */
  act: (session: Session<Data>) => Promise<void>;
  serverSide: { store: Counts; setCookie: CookieSent };
  cookie: { setCookie: CookieSent };
  /** Further checks of the Set-Cookie header sent, given the one that created the session. */
  check?: (sent: string, created: string) => void;
}

const NONE: Counts = { reads: 0, writes: 0, deletes: 0 };
const READ: Counts = { reads: 1, writes: 0, deletes: 0 };
/** A write of an existing session: it was loaded, then it is read again under its lock to merge, then written. */
const MERGED_WRITE: Counts = { reads: 2, writes: 1, deletes: 0 };

const read = async (session: Session<Data>): Promise<void> => {
  await session.get('user');
};
const modify = async (session: Session<Data>): Promise<void> => {
  await session.set('visits', ((await session.get('visits')) ?? 0) + 1);
};
const expiresOf = (header: string): string | undefined => /Expires=([^;]+)/.exec(header)?.[1];
const newExpires = (sent: string, created: string): void => {
  expect(expiresOf(sent)).toBeDefined();
  expect(expiresOf(sent)).not.toBe(expiresOf(created));
};

const ROWS: Row[] = [
  {
    name: 'session not used',
    act: async () => undefined,
    serverSide: { store: NONE, setCookie: 'none' },
    cookie: { setCookie: 'none' },
  },
  {
    name: 'new session read, not saved',
    fresh: true,
    act: read,
    serverSide: { store: NONE, setCookie: 'none' },
    cookie: { setCookie: 'none' },
  },
  {
    name: 'session read',
    act: read,
    serverSide: { store: READ, setCookie: 'none' },
    cookie: { setCookie: 'none' },
  },
  {
    name: 'session read, with `timeout`, within `touch_interval` of the last write',
    options: { timeout: 600, touch_interval: 60 },
    after: 30,
    act: read,
    serverSide: { store: READ, setCookie: 'none' },
    cookie: { setCookie: 'none' },
  },
  {
    name: 'session read, with `timeout`, once `touch_interval` has passed',
    options: { timeout: 600, touch_interval: 60 },
    after: 60,
    act: read,
    serverSide: { store: MERGED_WRITE, setCookie: 'same' },
    cookie: { setCookie: 'new' },
  },
  {
    name: 'session read, sliding `cookie_expires`, before half its life has passed',
    options: { cookie_expires: 1000 },
    after: 400,
    act: read,
    serverSide: { store: READ, setCookie: 'none' },
    cookie: { setCookie: 'none' },
  },
  {
    name: 'session read, sliding `cookie_expires`, once half its life has passed',
    options: { cookie_expires: 1000 },
    after: 600,
    act: read,
    serverSide: { store: MERGED_WRITE, setCookie: 'same' },
    cookie: { setCookie: 'new' },
    check: newExpires,
  },
  {
    name: 'session read, cookie signed with an older secret',
    rotated: true,
    act: read,
    serverSide: { store: READ, setCookie: 'new' },
    cookie: { setCookie: 'new' },
  },
  {
    name: 'session modified, not saved',
    act: modify,
    serverSide: { store: READ, setCookie: 'none' },
    cookie: { setCookie: 'none' },
  },
  {
    name: 'session modified, with `auto = true`',
    options: { auto: true },
    act: modify,
    serverSide: { store: MERGED_WRITE, setCookie: 'same' },
    cookie: { setCookie: 'new' },
  },
  {
    name: 'session read, with `auto = true`',
    options: { auto: true },
    act: read,
    serverSide: { store: READ, setCookie: 'none' },
    cookie: { setCookie: 'new' },
  },
  {
    name: 'new session read, with `auto = true`',
    options: { auto: true },
    fresh: true,
    act: read,
    serverSide: { store: NONE, setCookie: 'none' },
    cookie: { setCookie: 'none' },
  },
  {
    name: 'new session modified, with `auto = true`',
    options: { auto: true },
    fresh: true,
    act: modify,
    serverSide: { store: { reads: 0, writes: 1, deletes: 0 }, setCookie: 'new' },
    cookie: { setCookie: 'new' },
  },
  {
    name: 'new session read, with `auto = true` and `auto_save_empty = true`',
    options: { auto: true, auto_save_empty: true },
    fresh: true,
    act: read,
    serverSide: { store: { reads: 0, writes: 1, deletes: 0 }, setCookie: 'new' },
    cookie: { setCookie: 'new' },
  },
  {
    name: 'session modified and saved (existing)',
    act: async (session) => {
      await modify(session);
      await session.save();
    },
    serverSide: { store: MERGED_WRITE, setCookie: 'same' },
    cookie: { setCookie: 'new' },
  },
  {
    name: 'new session saved',
    fresh: true,
    act: async (session) => {
      await modify(session);
      await session.save();
    },
    serverSide: { store: { reads: 0, writes: 1, deletes: 0 }, setCookie: 'new' },
    cookie: { setCookie: 'new' },
  },
  {
    name: 'session deleted',
    act: (session) => session.delete(),
    serverSide: { store: { reads: 1, writes: 0, deletes: 1 }, setCookie: 'deletion' },
    cookie: { setCookie: 'deletion' },
  },
  {
    name: 'id regenerated (on login)',
    act: async (session) => {
      await session.regenerateId();
      await session.set('user', 'grace');
      await session.save();
    },
    serverSide: { store: { reads: 1, writes: 1, deletes: 1 }, setCookie: 'new' },
    cookie: { setCookie: 'new' },
  },
];

const NEW_SECRET = `${SECRET}-newest`;
const NEW_VALIDATE_KEY = `${VALIDATE_KEY}-newest`;

/** A manager whose newest secret (or cookie key) is new, still accepting the old one. */
function rotatedManager(kind: Kind, store: CountingBackend, clock: ManualClock): SessionManager {
  const common = { clock: clock.read, onEvent: () => undefined };
  return kind === 'cookie'
    ? new SessionManager({ type: 'cookie', validate_key: [NEW_VALIDATE_KEY, VALIDATE_KEY], ...common })
    : new SessionManager({
        type: 'counting',
        secret: [NEW_SECRET, SECRET],
        backends: { counting: () => store },
        ...common,
      });
}

/** Creates a session, then plays the row's request on it; returns its store operations and Set-Cookie headers. */
async function play(
  row: Row,
  kind: Kind,
): Promise<{ counts: Counts; setCookies: string[]; sent: string | undefined; created: string }> {
  const clock = new ManualClock();
  const kindOptions: SessionManagerOptions =
    kind === 'cookie' ? { type: 'cookie', validate_key: VALIDATE_KEY } : {};
  const { manager, store } = countingManager({ ...kindOptions, ...row.options }, clock);
  const created = await savedSession<Data>(manager, { user: 'ada', visits: 1 });
  expect(created.setCookies).toHaveLength(1);
  const sent = row.fresh ? undefined : cookieFrom(created.setCookies);
  clock.advance(row.after ?? 10);
  store.reset();
  const served = row.rotated ? rotatedManager(kind, store, clock) : manager;
  const { setCookies } = await request<Data>(served, sent, row.act);
  return { counts: store.counts(), setCookies, sent, created: created.setCookies[0] ?? '' };
}

function expectSetCookie(setCookies: string[], expected: CookieSent, sent: string | undefined): void {
  if (expected === 'none') {
    expect(setCookies).toEqual([]);
    return;
  }
  expect(setCookies).toHaveLength(1);
  const returned = cookieFrom(setCookies);
  if (expected === 'deletion') {
    expect(setCookies[0]).toMatch(/Expires=Thu, 01 Jan 1970 00:00:00 GMT/);
    expect(returned).toBeUndefined();
  } else if (expected === 'same') {
    expect(returned).toBe(sent);
  } else {
    expect(returned).toBeDefined();
    expect(returned).not.toBe(sent);
  }
}

describe('docs/sessions.md: store operations and Set-Cookie per request', () => {
  for (const row of ROWS) {
    it(row.name, async () => {
      const server = await play(row, 'server-side');
      expect(server.counts).toEqual(row.serverSide.store);
      expectSetCookie(server.setCookies, row.serverSide.setCookie, server.sent);
      const cookie = await play(row, 'cookie');
      expect(cookie.counts).toEqual(NONE);
      expectSetCookie(cookie.setCookies, row.cookie.setCookie, cookie.sent);
      if (row.check) {
        row.check(server.setCookies[0] ?? '', server.created);
        row.check(cookie.setCookies[0] ?? '', cookie.created);
      }
    });
  }

  it('the table in docs/sessions.md has these rows, with these store operations and Set-Cookie cells', () => {
    const markdown = readFileSync(new URL('../../docs/sessions.md', import.meta.url), 'utf8');
    const lines = markdown.split('\n');
    const start = lines.findIndex((line) => line.startsWith('| request '));
    expect(start).toBeGreaterThanOrEqual(0);
    const table: string[][] = [];
    for (const line of lines.slice(start + 2)) {
      if (!line.startsWith('|')) break;
      table.push(
        line
          .slice(1, -1)
          .split('|')
          .map((cell) => cell.trim()),
      );
    }
    expect(table.map((cells) => cells[0])).toEqual(ROWS.map((row) => row.name));
    for (const [index, row] of ROWS.entries()) {
      const [, storeCell = '', serverCookieCell = '', cookieCell = ''] = table[index] ?? [];
      expect(storeCell.startsWith(describeCounts(row.serverSide.store)), `${row.name}: ${storeCell}`).toBe(
        true,
      );
      expect(serverCookieCell === 'none', `${row.name}: ${serverCookieCell}`).toBe(
        row.serverSide.setCookie === 'none',
      );
      expect(cookieCell === 'none', `${row.name}: ${cookieCell}`).toBe(row.cookie.setCookie === 'none');
    }
  });
});

/** `{ reads: 2, writes: 1 }` as the table says it: `2 reads + 1 write`. */
function describeCounts(counts: Counts): string {
  const parts = Object.entries(counts)
    .filter(([, count]) => count > 0)
    .map(([name, count]) => `${count} ${count === 1 ? name.slice(0, -1) : name}`);
  return parts.length === 0 ? 'none' : parts.join(' + ');
}
