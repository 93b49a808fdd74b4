/**
 * The sessions benchmark: `npm run bench` (or `npm run bench:sessions`). Writes bench/results/sessions.md.
 * Each server runs in its own process; autocannon loads it on loopback with 32 connections. The sessions are made
 * beforehand with /write, 32 of them (one per connection) or 10,000 (each connection cycling through its share, so
 * that no memo of recent cookies or records can hold the working set). Read-only requests (`/read`) and modifying
 * requests (`/write`, which stores a ~150-byte profile and a counter) are measured apart; the server counts the
 * requests, the store operations and its own CPU time (process.cpuUsage over the run).
 *
 * The floors (bench/session-server.ts, `floor-*`) do by hand the work a session read cannot avoid, in beaker-ts's
 * formats: a beaker-ts read is compared with the floor that does the same work, at the same number of sessions.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
/** Each scenario runs this many times, interleaved with the others; the median is reported. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = 32;
const MANY = 10_000;
/** Sessions are made this many at a time. */
const SEED_IN_FLIGHT = 16;

interface Scenario {
  label: string;
  server: string;
  path: '/plain' | '/read' | '/write' | '/login';
  /** How many distinct sessions the requests carry. */
  sessions: number;
  /** The floor scenario (same work, by hand) this one is compared with. */
  floor?: string;
}

const FLOOR_ID = 'floor: cookie parse + HMAC-verified id + Map lookup';
const FLOOR_ID_DECODE = 'floor: cookie parse + HMAC-verified id + Map lookup + record decode';
const FLOOR_ID_DECODE_HASHED =
  'floor: cookie parse + HMAC-verified id + SHA-256 store key + Map lookup + record decode';
const FLOOR_COOKIE = 'floor: cookie parse + AES-GCM open + payload decode';
const at = (label: string, sessions: number): string =>
  `${label}, ${sessions.toLocaleString('en-US')} sessions`;

const SCENARIOS: Scenario[] = [
  { label: 'node:http, no session', server: 'node-plain', path: '/plain', sessions: CONNECTIONS },
  { label: 'Express 5, no session', server: 'express-plain', path: '/plain', sessions: CONNECTIONS },
  { label: at(FLOOR_ID, CONNECTIONS), server: 'floor-id', path: '/read', sessions: CONNECTIONS },
  ...[CONNECTIONS, MANY].flatMap((sessions): Scenario[] => [
    { label: at(FLOOR_ID_DECODE, sessions), server: 'floor-id-decode', path: '/read', sessions },
    {
      label: at(FLOOR_ID_DECODE_HASHED, sessions),
      server: 'floor-id-decode-hashed',
      path: '/read',
      sessions,
    },
    { label: at(FLOOR_COOKIE, sessions), server: 'floor-cookie', path: '/read', sessions },
  ]),
  {
    label: 'beaker-ts memory (node:http), session not used',
    server: 'beaker-memory',
    path: '/plain',
    sessions: CONNECTIONS,
  },
  ...[CONNECTIONS, MANY].map((sessions): Scenario => ({
    label: at('beaker-ts memory (node:http), read-only', sessions),
    server: 'beaker-memory',
    path: '/read',
    sessions,
    // Ids are hashed at rest by default: the floor that does the same work hashes them too.
    floor: at(FLOOR_ID_DECODE_HASHED, sessions),
  })),
  {
    label: 'beaker-ts memory (node:http), modifying',
    server: 'beaker-memory',
    path: '/write',
    sessions: CONNECTIONS,
  },
  {
    label: at('beaker-ts memory (node:http), read-only, hash_ids = false (ids not hashed at rest)', MANY),
    server: 'beaker-memory-raw-ids',
    path: '/read',
    sessions: MANY,
    floor: at(FLOOR_ID_DECODE, MANY),
  },
  {
    label: at('beaker-ts memory (node:http), read-only, sessions bound to users (setUser)', MANY),
    server: 'beaker-memory-users',
    path: '/read',
    sessions: MANY,
    floor: at(FLOOR_ID_DECODE_HASHED, MANY),
  },
  {
    label: 'beaker-ts memory (node:http), modifying, sessions bound to users (setUser)',
    server: 'beaker-memory-users',
    path: '/write',
    sessions: CONNECTIONS,
  },
  {
    label: 'beaker-ts memory (node:http), login: regenerateId + setUser (a user index write)',
    server: 'beaker-memory-users',
    path: '/login',
    sessions: CONNECTIONS,
  },
  {
    label: 'beaker-ts file (node:http), read-only',
    server: 'beaker-file',
    path: '/read',
    sessions: CONNECTIONS,
  },
  {
    label: 'beaker-ts file (node:http), modifying',
    server: 'beaker-file',
    path: '/write',
    sessions: CONNECTIONS,
  },
  ...[CONNECTIONS, MANY].map((sessions): Scenario => ({
    label: at('beaker-ts cookie (node:http), read-only', sessions),
    server: 'beaker-cookie',
    path: '/read',
    sessions,
    floor: at(FLOOR_COOKIE, sessions),
  })),
  {
    label: at('beaker-ts cookie (node:http), read-only, revocation_store (users bound, none revoked)', MANY),
    server: 'beaker-cookie-revocation',
    path: '/read',
    sessions: MANY,
    floor: at(FLOOR_COOKIE, MANY),
  },
  {
    label: 'beaker-ts cookie (node:http), modifying',
    server: 'beaker-cookie',
    path: '/write',
    sessions: CONNECTIONS,
  },
  ...(
    [
      ['beaker-ts memory (Express), read-only', 'beaker-express-memory', '/read'],
      ['beaker-ts memory (Express), modifying', 'beaker-express-memory', '/write'],
      ['beaker-ts cookie (Express), read-only', 'beaker-express-cookie', '/read'],
      ['beaker-ts cookie (Express), modifying', 'beaker-express-cookie', '/write'],
      ['express-session MemoryStore (Express), read-only', 'express-session', '/read'],
      ['express-session MemoryStore (Express), modifying', 'express-session', '/write'],
      ['cookie-session (Express), read-only', 'cookie-session', '/read'],
      ['cookie-session (Express), modifying', 'cookie-session', '/write'],
      ['iron-session 8 (node:http), read-only', 'iron-session', '/read'],
      ['iron-session 8 (node:http), modifying', 'iron-session', '/write'],
    ] as const
  ).map(([label, server, path]): Scenario => ({ label, server, path, sessions: CONNECTIONS })),
];

interface Row {
  label: string;
  requestsPerSecond: number;
  /** Server CPU time (user + system) per request served, µs. */
  cpuMicros: number;
  p99: number;
  errors: number;
  ops: string;
}

function startServer(name: string): Promise<{ child: ChildProcess; base: string }> {
  const script = fileURLToPath(new URL('./session-server.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, name], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.stdout?.once('data', (chunk: Buffer) =>
      resolve({ child, base: `http://127.0.0.1:${chunk.toString().trim()}` }),
    );
    child.once('exit', (code) => reject(new Error(`server ${name} exited with ${code}`)));
  });
}

/** Makes `count` sessions with /write and returns their Cookie headers ('' where the server sets none). */
async function makeSessions(base: string, count: number): Promise<string[]> {
  const cookies: string[] = new Array<string>(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: SEED_IN_FLIGHT }, async () => {
      while (next < count) {
        const index = next++;
        const response = await fetch(`${base}/write`);
        await response.text();
        cookies[index] = response.headers
          .getSetCookie()
          .map((header) => header.split(';')[0])
          .join('; ');
      }
    }),
  );
  return cookies;
}

interface ServerOps {
  requests: number;
  reads: number;
  writes: number;
  cpuMicros: number;
}

async function measure(scenario: Scenario): Promise<Row> {
  const { child, base } = await startServer(scenario.server);
  try {
    const cookies = await makeSessions(base, scenario.sessions);
    await (await fetch(`${base}/__ops`)).text();
    let client = 0;
    const result = await autocannon({
      url: `${base}${scenario.path}`,
      connections: CONNECTIONS,
      duration: SECONDS,
      // Each connection cycles through its own share of the sessions, requests built beforehand.
      setupClient: (connection) => {
        const mine = cookies.filter((_, index) => index % CONNECTIONS === client);
        client += 1;
        connection.setRequests(
          mine.map((cookie) => ({ method: 'GET', path: scenario.path, headers: cookie ? { cookie } : {} })),
        );
      },
    });
    const ops = (await (await fetch(`${base}/__ops`)).json()) as ServerOps;
    const perRequest =
      ops.requests === 0 ||
      (ops.reads === 0 && ops.writes === 0 && scenario.server.includes('cookie')) ||
      scenario.server.endsWith('plain') ||
      scenario.server.startsWith('floor')
        ? '0 (no store)'
        : `${(ops.reads / ops.requests).toFixed(2)} reads + ${(ops.writes / ops.requests).toFixed(2)} writes`;
    return {
      label: scenario.label,
      requestsPerSecond: result.requests.average,
      cpuMicros: ops.cpuMicros / Math.max(1, ops.requests),
      p99: result.latency.p99,
      errors: result.non2xx + result.errors,
      ops:
        scenario.path === '/plain' && !scenario.server.endsWith('plain')
          ? `${(ops.reads / Math.max(1, ops.requests)).toFixed(2)} reads + ${(ops.writes / Math.max(1, ops.requests)).toFixed(2)} writes`
          : perRequest,
    };
  } finally {
    child.kill();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

const only = process.env.BENCH_ONLY;
const scenarios = only ? SCENARIOS.filter((scenario) => new RegExp(only).test(scenario.label)) : SCENARIOS;
const started = new Date();
const runs = new Map<string, Row[]>();
for (let round = 1; round <= ROUNDS; round += 1) {
  for (const scenario of scenarios) {
    console.log(`round ${round}/${ROUNDS}: ${scenario.label}`);
    const row = await measure(scenario);
    runs.set(scenario.label, [...(runs.get(scenario.label) ?? []), row]);
  }
}
const rows: Row[] = scenarios.map((scenario) => {
  const measured = runs.get(scenario.label) ?? [];
  return {
    label: scenario.label,
    requestsPerSecond: median(measured.map((row) => row.requestsPerSecond)),
    cpuMicros: median(measured.map((row) => row.cpuMicros)),
    p99: median(measured.map((row) => row.p99)),
    errors: measured.reduce((sum, row) => sum + row.errors, 0),
    ops: measured[0]?.ops ?? '',
  };
});
const rowOf = (label: string | undefined): Row | undefined => rows.find((row) => row.label === label);
const baselineOf = (server: string): Row | undefined =>
  rowOf(
    server.includes('express') || server === 'cookie-session'
      ? 'Express 5, no session'
      : 'node:http, no session',
  );
const format = (value: number): string => value.toLocaleString('en-US', { maximumFractionDigits: 0 });
const times = (value: number): string => (Number.isFinite(value) ? `${value.toFixed(2)}×` : '—');
const elapsed = (Date.now() - started.getTime()) / 1000;

const report = `# Sessions benchmark

Measured with \`npm run bench\` on ${started.toISOString()} (${Math.round(elapsed)} s).
Node ${process.version}, ${process.platform}/${process.arch}, ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB.
autocannon, ${CONNECTIONS} connections for ${SECONDS} s, each row the median of ${ROUNDS} runs interleaved with the other rows,
loopback, each server in its own process (load generator and server share the machine's cores, so req/s moves with
the load generator too; the server's CPU time per request does not). The sessions are made beforehand: ${CONNECTIONS} (one
per connection) or ${MANY.toLocaleString('en-US')} (each connection cycling through its own share, so that a session comes back
once every ${MANY.toLocaleString('en-US')} requests). "Modifying" stores a counter and a ~150-byte profile. "CPU µs/req" is the server process's
user + system CPU time over the run divided by the requests it served; "× floor" compares it with the floor row
that does the same work at the same number of sessions. Store operations are counted inside the server, where they
happen (beaker-ts back-end get, peek and set; express-session store get/set/touch). No row uses a memo of verified
ids or decoded records. Relative figures for one run on one machine, not absolute speeds.

The floors are written by hand in bench/session-server.ts, in beaker-ts's formats and keys: find the session cookie in
the Cookie header, verify the HMAC-SHA256 of the signed id, look the record up in a \`Map\`, and (the "record decode"
floor) parse the record's JSON, check its fields and parse its data's JSON (the "SHA-256 store key" floor first hashes
the id, as beaker-ts keys its records by default: \`hash_ids\`); or, for cookie sessions, base64url-decode
the \`b1.\` value (checking it is canonical), open it with AES-256-GCM and parse the payload and its data.

| server and session | req/s | × bare | CPU µs/req | × floor | p99 ms | store ops per request | non-2xx |
|---|---:|---:|---:|---:|---:|---|---:|
${rows
  .map((row) => {
    const scenario = scenarios.find((item) => item.label === row.label);
    const baseline = baselineOf(scenario?.server ?? '');
    const bare =
      row === baseline ? '1.00×' : times(row.requestsPerSecond / (baseline?.requestsPerSecond ?? NaN));
    const floor = rowOf(scenario?.floor);
    return `| ${row.label} | ${format(row.requestsPerSecond)} | ${bare} | ${row.cpuMicros.toFixed(1)} | ${floor ? times(row.cpuMicros / floor.cpuMicros) : '—'} | ${row.p99} | ${row.ops} | ${row.errors} |`;
  })
  .join('\n')}

"× bare" is req/s against node:http without a session (Express rows: against Express 5 without a session).
beaker-ts modifying requests read the session twice: once to load it, once under the session lock just before the
write, so that two parallel requests changing different keys both keep their change (merge on save).
`;
const out = fileURLToPath(new URL(`./results/${process.env.BENCH_OUT ?? 'sessions.md'}`, import.meta.url));
writeFileSync(out, report);
console.log(report);
process.exit(0);
