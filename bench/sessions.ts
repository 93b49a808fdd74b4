/**
 * The sessions benchmark: `npm run bench` (or `npm run bench:sessions`). Writes bench/results/sessions.md.
 * Each server runs in its own process; autocannon loads it on loopback with 32 connections, each carrying its own
 * session cookie (32 sessions, made beforehand with /write). Read-only requests (`/read`) and modifying requests
 * (`/write`, which stores a ~150-byte profile and a counter) are measured apart, with the store operations per
 * request counted inside the server.
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

interface Scenario {
  label: string;
  server: string;
  path: '/plain' | '/read' | '/write';
}

const SCENARIOS: Scenario[] = [
  { label: 'node:http, no session', server: 'node-plain', path: '/plain' },
  { label: 'Express 5, no session', server: 'express-plain', path: '/plain' },
  { label: 'beaker-ts memory (node:http), session not used', server: 'beaker-memory', path: '/plain' },
  { label: 'beaker-ts memory (node:http), read-only', server: 'beaker-memory', path: '/read' },
  { label: 'beaker-ts memory (node:http), modifying', server: 'beaker-memory', path: '/write' },
  { label: 'beaker-ts file (node:http), read-only', server: 'beaker-file', path: '/read' },
  { label: 'beaker-ts file (node:http), modifying', server: 'beaker-file', path: '/write' },
  { label: 'beaker-ts cookie (node:http), read-only', server: 'beaker-cookie', path: '/read' },
  { label: 'beaker-ts cookie (node:http), modifying', server: 'beaker-cookie', path: '/write' },
  { label: 'beaker-ts memory (Express), read-only', server: 'beaker-express-memory', path: '/read' },
  { label: 'beaker-ts memory (Express), modifying', server: 'beaker-express-memory', path: '/write' },
  { label: 'beaker-ts cookie (Express), read-only', server: 'beaker-express-cookie', path: '/read' },
  { label: 'beaker-ts cookie (Express), modifying', server: 'beaker-express-cookie', path: '/write' },
  { label: 'express-session MemoryStore (Express), read-only', server: 'express-session', path: '/read' },
  { label: 'express-session MemoryStore (Express), modifying', server: 'express-session', path: '/write' },
  { label: 'cookie-session (Express), read-only', server: 'cookie-session', path: '/read' },
  { label: 'cookie-session (Express), modifying', server: 'cookie-session', path: '/write' },
  { label: 'iron-session 8 (node:http), read-only', server: 'iron-session', path: '/read' },
  { label: 'iron-session 8 (node:http), modifying', server: 'iron-session', path: '/write' },
];

interface Row {
  label: string;
  requestsPerSecond: number;
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

/** Makes one session per connection and returns their Cookie headers. */
async function makeSessions(base: string): Promise<string[]> {
  const cookies: string[] = [];
  for (let index = 0; index < CONNECTIONS; index += 1) {
    const response = await fetch(`${base}/write`);
    await response.text();
    cookies.push(
      response.headers
        .getSetCookie()
        .map((header) => header.split(';')[0])
        .join('; '),
    );
  }
  return cookies;
}

async function measure(scenario: Scenario): Promise<Row> {
  const { child, base } = await startServer(scenario.server);
  try {
    const cookies = await makeSessions(base);
    await (await fetch(`${base}/__ops`)).text();
    let next = 0;
    const result = await autocannon({
      url: `${base}${scenario.path}`,
      connections: CONNECTIONS,
      duration: SECONDS,
      setupClient: (client) => {
        const cookie = cookies[next++ % cookies.length] ?? '';
        if (cookie) client.setHeaders({ cookie });
      },
    });
    const ops = (await (await fetch(`${base}/__ops`)).json()) as {
      requests: number;
      reads: number;
      writes: number;
    };
    const perRequest =
      ops.requests === 0 ||
      (ops.reads === 0 && ops.writes === 0 && scenario.server.includes('cookie')) ||
      scenario.server.endsWith('plain')
        ? '0 (no store)'
        : `${(ops.reads / ops.requests).toFixed(2)} reads + ${(ops.writes / ops.requests).toFixed(2)} writes`;
    return {
      label: scenario.label,
      requestsPerSecond: result.requests.average,
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

const started = new Date();
const runs = new Map<string, Row[]>();
for (let round = 1; round <= ROUNDS; round += 1) {
  for (const scenario of SCENARIOS) {
    console.log(`round ${round}/${ROUNDS}: ${scenario.label}`);
    const row = await measure(scenario);
    runs.set(scenario.label, [...(runs.get(scenario.label) ?? []), row]);
  }
}
const rows: Row[] = SCENARIOS.map((scenario) => {
  const measured = runs.get(scenario.label) ?? [];
  return {
    label: scenario.label,
    requestsPerSecond: median(measured.map((row) => row.requestsPerSecond)),
    p99: median(measured.map((row) => row.p99)),
    errors: measured.reduce((sum, row) => sum + row.errors, 0),
    ops: measured[0]?.ops ?? '',
  };
});
const baseline = (server: string): number =>
  rows.find((row) =>
    row.label.startsWith(server.startsWith('express') ? 'Express 5, no session' : 'node:http, no session'),
  )?.requestsPerSecond ?? NaN;
const format = (value: number): string => value.toLocaleString('en-US', { maximumFractionDigits: 0 });

const report = `# Sessions benchmark

Measured with \`npm run bench\` on ${started.toISOString()}.
Node ${process.version}, ${process.platform}/${process.arch}, ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB.
autocannon, ${CONNECTIONS} connections for ${SECONDS} s, each row the median of ${ROUNDS} runs interleaved with the other rows, loopback, each server in its own process (load generator and server
share the machine's cores). Every connection carries its own session (${CONNECTIONS} sessions). "Modifying" stores a counter and a
~150-byte profile. Store operations are counted inside the server (beaker-ts back-end get/set; express-session store
get/set/touch). Relative figures for one run on one machine, not absolute speeds.

| server and session | req/s | p99 ms | vs. no session | store ops per request | non-2xx |
|---|---:|---:|---:|---|---:|
${rows
  .map((row) => {
    const server = SCENARIOS.find((scenario) => scenario.label === row.label)?.server ?? '';
    const overhead =
      row.requestsPerSecond /
        baseline(server.includes('express') || server.includes('cookie-session') ? 'express' : 'node') -
      1;
    return `| ${row.label} | ${format(row.requestsPerSecond)} | ${row.p99} | ${row.label.includes('no session') ? '—' : `${(overhead * 100).toFixed(0)}%`} | ${row.ops} | ${row.errors} |`;
  })
  .join('\n')}

beaker-ts modifying requests read the session twice: once to load it, once under the session lock just before the
write, so that two parallel requests changing different keys both keep their change (merge on save).
`;
const out = fileURLToPath(new URL('./results/sessions.md', import.meta.url));
writeFileSync(out, report);
console.log(report);
process.exit(0);
