/**
 * Release notice files (memcached, Datastore and MongoDB lock releases; SQLite's notifications) are never reached
 * through a link another local user planted: such a link made a session save truncate any file the application could
 * write (a 108,000-byte file became 64 bytes after one save on ext:memcached).
 */
import { createHash } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileNotifier } from '../../src/locks/file-notifier.js';
import { privateNoticeDirectory } from '../../src/locks/host-release-notices.js';
import { SessionManager } from '../../src/session/index.js';
import { MEMCACHED_SERVERS } from '../helpers/server-stores.js';
import { describeWhenAvailable, unreachable } from '../helpers/services.js';
import { SECRET } from '../session/helpers.js';

/** A file another user would like the application to destroy. */
function victim(dir: string): { path: string; content: string } {
  const path = join(dir, 'precious');
  const content = 'p'.repeat(108_000);
  writeFileSync(path, content);
  return { path, content };
}

const [memcachedHost = '127.0.0.1', memcachedPort = '11211'] = (MEMCACHED_SERVERS.split(';')[0] ?? '').split(
  ':',
);

describeWhenAvailable(
  'a link planted at the old notice file name of ext:memcached',
  await unreachable(memcachedHost, Number(memcachedPort), 'memcached'),
  () => {
    it('is not followed by session saves', async () => {
      const target = victim(mkdtempSync(join(tmpdir(), 'beaker-victim-')));
      // Where the notices of this store were kept: in the shared temporary directory, at a name anyone can compute.
      const store = `ext:memcached ${MEMCACHED_SERVERS.split(';').sort().join(';')}`;
      const digest = createHash('sha256').update(store).digest('hex').slice(0, 32);
      const planted = join(tmpdir(), `beaker-ts-locks-${digest}`);
      rmSync(planted, { force: true });
      symlinkSync(target.path, planted);
      try {
        const sessions = new SessionManager({
          type: 'ext:memcached',
          url: MEMCACHED_SERVERS,
          secret: SECRET,
          onEvent: () => undefined,
        });
        for (let request = 0; request < 5; request += 1) {
          const session = sessions.session(undefined);
          await session.set('request', request);
          await session.save();
        }
        await sessions.close();
      } finally {
        rmSync(planted, { force: true });
      }
      expect(readFileSync(target.path, 'utf8')).toBe(target.content);
    });
  },
);

describe('FileNotifier', () => {
  it('refuses a link at its path: nothing written to, or truncated in, its target', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'beaker-notify-'));
    const target = victim(dir);
    const path = join(dir, 'notify');
    symlinkSync(target.path, path);
    const notifier = new FileNotifier(path);
    await expect(notifier.notify('channel', 'x')).rejects.toThrow(/ELOOP|symbolic link/);
    await expect(notifier.listen('channel', () => undefined)).rejects.toThrow(/ELOOP|symbolic link/);
    notifier.close();
    expect(readFileSync(target.path, 'utf8')).toBe(target.content);
  });

  it('does not follow a link that replaced its file while it was open', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'beaker-notify-'));
    const target = victim(dir);
    const path = join(dir, 'notify');
    const notifier = new FileNotifier(path);
    await notifier.notify('channel', 'first');
    rmSync(path);
    symlinkSync(target.path, path);
    // Past the size check (every 4 KB appended): the notifier looks at its path again.
    for (let index = 0; index < 10; index += 1)
      await notifier.notify('channel', 'z'.repeat(1000)).catch(() => undefined);
    notifier.close();
    expect(readFileSync(target.path, 'utf8')).toBe(target.content);
  });

  it('creates its file readable by its owner only', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'beaker-notify-')), 'notify');
    const notifier = new FileNotifier(path);
    await notifier.notify('channel', 'x');
    notifier.close();
    expect(lstatSync(path).mode & 0o777).toBe(0o600);
  });
});

describe('the private directory of the notice files', () => {
  it('is made for this user alone', () => {
    const parent = mkdtempSync(join(tmpdir(), 'beaker-tmp-'));
    const dir = privateNoticeDirectory(parent);
    expect(dir).toBe(join(parent, `beaker-ts-${String(process.getuid?.() ?? 0)}`));
    expect(lstatSync(dir ?? '').mode & 0o777).toBe(0o700);
    expect(privateNoticeDirectory(parent)).toBe(dir);
  });

  it('is refused (notices off, waiters poll) when others may write in it, when it is a link, or not ours', () => {
    const name = `beaker-ts-${String(process.getuid?.() ?? 0)}`;
    const open = mkdtempSync(join(tmpdir(), 'beaker-tmp-'));
    mkdirSync(join(open, name));
    chmodSync(join(open, name), 0o777);
    expect(privateNoticeDirectory(open)).toBeUndefined();

    const linked = mkdtempSync(join(tmpdir(), 'beaker-tmp-'));
    const elsewhere = mkdtempSync(join(tmpdir(), 'beaker-elsewhere-'));
    chmodSync(elsewhere, 0o700);
    symlinkSync(elsewhere, join(linked, name));
    expect(privateNoticeDirectory(linked)).toBeUndefined();

    if (process.getuid?.() === 0) {
      const foreign = mkdtempSync(join(tmpdir(), 'beaker-tmp-'));
      mkdirSync(join(foreign, name), { mode: 0o700 });
      chownSync(join(foreign, name), 65534, 65534);
      expect(privateNoticeDirectory(foreign)).toBeUndefined();
    }
  });
});
