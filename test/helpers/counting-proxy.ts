/**
 * A TCP proxy a test owns in front of a real server, counting the requests that pass through it by command name:
 * the store round trips of one client, where the server's own statistics are shared with everyone else's.
 */
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

/** Reads one connection's bytes toward the server; gives the names of the requests each chunk completes. */
export type RequestReader = () => (chunk: Buffer) => string[];

/** A running proxy: its port, and the requests it saw since the last {@link CountingProxy.reset}. */
export interface CountingProxy {
  readonly port: number;
  /** How many requests named `name` (upper case) went through. */
  count(name: string): number;
  reset(): void;
  close(): Promise<void>;
}

/** Starts a proxy on 127.0.0.1 (a free port) to `host`:`port`, counting requests with `reader`. */
export async function startCountingProxy(
  host: string,
  port: number,
  reader: RequestReader,
): Promise<CountingProxy> {
  const counts = new Map<string, number>();
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(port, host);
    const read = reader();
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (chunk: Buffer) => {
      for (const name of read(chunk)) counts.set(name, (counts.get(name) ?? 0) + 1);
      upstream.write(chunk);
    });
    upstream.pipe(client);
    client.on('end', () => upstream.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    count: (name) => counts.get(name) ?? 0,
    reset: () => {
      counts.clear();
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
    },
  };
}

/** Redis requests (RESP arrays of bulk strings, as node-redis and ioredis send them), named by their command. */
export const redisCommands: RequestReader = () => {
  let pending = Buffer.alloc(0);
  return (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    const names: string[] = [];
    for (let command = nextRespCommand(pending); command; command = nextRespCommand(pending)) {
      names.push(command.name);
      pending = pending.subarray(command.end);
    }
    return names;
  };
};

/** The first whole RESP command in `buffer`: its name, and where it ends; undefined when it is not all there. */
function nextRespCommand(buffer: Buffer): { name: string; end: number } | undefined {
  let at = 0;
  const line = (): string | undefined => {
    const end = buffer.indexOf('\r\n', at);
    if (end < 0) return undefined;
    const text = buffer.toString('latin1', at, end);
    at = end + 2;
    return text;
  };
  const header = line();
  if (header === undefined) return undefined;
  let name = '';
  for (let part = 0; part < Number(header.slice(1)); part += 1) {
    const size = line();
    if (size === undefined) return undefined;
    const length = Number(size.slice(1));
    if (buffer.length < at + length + 2) return undefined;
    if (part === 0) name = buffer.toString('utf8', at, at + length).toUpperCase();
    at += length + 2;
  }
  return { name, end: at };
}

/**
 * memcached text-protocol requests, named by their command: read as lines, which holds for retrieval commands
 * (a storage command's data block would be read as lines too: count only gets with it).
 */
export const memcachedTextCommands: RequestReader = () => {
  let pending = '';
  return (chunk) => {
    pending += chunk.toString('latin1');
    const lines = pending.split('\r\n');
    pending = lines.pop() ?? '';
    return lines.map((text) => (text.split(' ')[0] ?? '').toUpperCase());
  };
};
