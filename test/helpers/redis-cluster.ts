/**
 * A Redis Cluster a test owns: six redis-server processes (3 masters, 3 replicas) on consecutive spare ports, each
 * with an append-only file, so a node killed and started again comes back with its data.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitForPort } from './services.js';

const NODES = 6;

export class OwnRedisCluster {
  readonly ports: number[];
  readonly #dir: string;
  readonly #nodeTimeoutMs: number;
  readonly #appendfsync: 'always' | 'everysec';
  readonly #running = new Map<number, ChildProcess>();
  #created = false;

  /**
   * Nodes on `firstPort` and the five ports after it (their cluster buses 10000 above), data under `dir`.
   * `appendfsync always` makes every acknowledged write survive a crash of the node; it also slows a replica down
   * on this machine's disk, so that it lags its master further (what a failover loses).
   */
  constructor(dir: string, firstPort: number, nodeTimeoutMs: number, appendfsync: 'always' | 'everysec') {
    this.#dir = dir;
    this.#nodeTimeoutMs = nodeTimeoutMs;
    this.#appendfsync = appendfsync;
    this.ports = Array.from({ length: NODES }, (_, index) => firstPort + index);
  }

  /** The `urls` option of ext:rediscluster for a cluster on `firstPort` and the ports after it. */
  static urlsFrom(firstPort: number): string {
    return Array.from({ length: NODES }, (_, index) => `redis://127.0.0.1:${String(firstPort + index)}`).join(
      ',',
    );
  }

  /** Starts every node that is not running; the first time, forms the cluster. */
  async start(): Promise<void> {
    for (const port of this.ports) if (!this.#running.has(port)) this.#startNode(port);
    for (const port of this.ports) await waitForPort(port, 'redis-server');
    if (!this.#created) {
      const addresses = this.ports.map((port) => `127.0.0.1:${String(port)}`);
      const created = spawnSync('redis-cli', [
        '--cluster',
        'create',
        ...addresses,
        '--cluster-replicas',
        '1',
        '--cluster-yes',
      ]);
      if (created.status !== 0)
        throw new Error(`redis-cli --cluster create failed: ${created.stdout.toString()}`);
      this.#created = true;
    }
  }

  /** Kills one node with SIGKILL (a crash: nothing is flushed beyond what the append-only file has). */
  async kill(port: number): Promise<void> {
    const node = this.#running.get(port);
    if (!node) return;
    this.#running.delete(port);
    const exited = node.exitCode === null ? once(node, 'exit') : undefined;
    node.kill('SIGKILL');
    await exited;
  }

  async killAll(): Promise<void> {
    await Promise.all(this.ports.map((port) => this.kill(port)));
  }

  /** The ports of the nodes that are masters now, as `port` sees the cluster. */
  masters(port: number): number[] {
    return this.#clusterNodes(port)
      .filter((fields) => fields[2]?.split(',').includes('master') && !fields[2].includes('fail'))
      .map((fields) => Number(fields[1]?.split(':')[1]?.split('@')[0]));
  }

  /** Whether `port` sees every slot served (`cluster_state:ok`). */
  isHealthy(port: number): boolean {
    const info = spawnSync('redis-cli', ['-p', String(port), 'cluster', 'info']).stdout.toString();
    return info.includes('cluster_state:ok');
  }

  /** Whether `port` is a master, or a replica whose link to its master is up (it can take over). */
  isSynced(port: number): boolean {
    const info = spawnSync('redis-cli', ['-p', String(port), 'info', 'replication']).stdout.toString();
    return info.includes('role:master') || info.includes('master_link_status:up');
  }

  /**
   * Resolves once every running node reports `cluster_state:ok` and every replica has synced with its master (a
   * replica that never synced refuses to take over: its data counts as too old).
   */
  async healthy(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const ready = (port: number): boolean => this.isHealthy(port) && this.isSynced(port);
    while (![...this.#running.keys()].every(ready)) {
      if (Date.now() > deadline) throw new Error('the Redis Cluster did not become healthy in time');
      await sleep(100);
    }
  }

  #clusterNodes(port: number): string[][] {
    const output = spawnSync('redis-cli', ['-p', String(port), 'cluster', 'nodes']).stdout.toString();
    return output
      .trim()
      .split('\n')
      .map((line) => line.split(' '));
  }

  #startNode(port: number): void {
    const dir = join(this.#dir, String(port));
    mkdirSync(dir, { recursive: true });
    const node = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        'nodes.conf',
        '--cluster-node-timeout',
        String(this.#nodeTimeoutMs),
        '--save',
        '',
        '--appendonly',
        'yes',
        '--appendfsync',
        this.#appendfsync,
        '--logfile',
        'redis.log',
      ],
      { cwd: dir, stdio: 'ignore' },
    );
    this.#running.set(port, node);
  }
}
