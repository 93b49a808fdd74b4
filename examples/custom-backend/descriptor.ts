/**
 * The `nats-kv` descriptor: a third-party back-end on NATS JetStream's key-value store, built only from beaker-ts's
 * public back-end kit. Importing this file loads no NATS library: `create` imports the implementation.
 * @module
 */
import { defineBackend, lockLeaseRule, type ClientDependency, type OptionRule } from 'beaker-ts/backends/kit';
import type * as NatsJetstream from '@nats-io/jetstream';
import type * as NatsKv from '@nats-io/kv';
import type * as NatsTransport from '@nats-io/transport-node';

/** Options of the `nats-kv` back-end (`cache.url`, `cache.bucket`, `cache.lock_lease` in an INI file). */
export interface NatsKvBackendOptions {
  /**
   * The NATS server, `nats://host:port`; several servers of one cluster separated by commas.
   * @default 'nats://127.0.0.1:4222'
   */
  url?: string | null;
  /**
   * The key-value bucket that holds the entries and the creation locks; created on first use. Letters, digits, `-`
   * and `_`.
   * @default 'beaker-cache'
   */
  bucket?: string | null;
  /**
   * Seconds after which a creation lock whose holder stopped (crashed, was killed) is taken over; at least 5.
   * @default 30
   */
  lock_lease?: number | null;
}

/** The NATS client for Node: connections. */
export const NATS_TRANSPORT: ClientDependency<typeof NatsTransport> = {
  name: '@nats-io/transport-node',
  versions: '^3.0.0',
  load: () => import('@nats-io/transport-node'),
};

/** JetStream, which the key-value store is built on: the command timeout, and purging by subject. */
export const NATS_JETSTREAM: ClientDependency<typeof NatsJetstream> = {
  name: '@nats-io/jetstream',
  versions: '^3.0.0',
  load: () => import('@nats-io/jetstream'),
};

/** The key-value store API. */
export const NATS_KV: ClientDependency<typeof NatsKv> = {
  name: '@nats-io/kv',
  versions: '^3.0.0',
  load: () => import('@nats-io/kv'),
};

/** The client libraries the back-end loads; a test may pass others (one that fails to load, say). */
export interface NatsClients {
  transport: ClientDependency<typeof NatsTransport>;
  jetstream: ClientDependency<typeof NatsJetstream>;
  kv: ClientDependency<typeof NatsKv>;
}

/** The installed NATS libraries. */
export const NATS_CLIENTS: NatsClients = {
  transport: NATS_TRANSPORT,
  jetstream: NATS_JETSTREAM,
  kv: NATS_KV,
};

/** What NATS accepts as a bucket name (it becomes the stream `KV_<bucket>`). */
const BUCKET_NAME = /^[-\w]+$/;

/** `bucket`: a NATS key-value bucket name, checked when the configuration is read, not when the store opens. */
export const bucketRule: OptionRule = {
  kinds: ['str', 'null'],
  message: 'bucket must be a string.',
  expected: 'a NATS bucket name (letters, digits, - and _)',
  refine: (value, fail) =>
    value === null || (typeof value === 'string' && BUCKET_NAME.test(value))
      ? value
      : fail('bucket may hold only letters, digits, - and _.'),
};

/** `url`: one server URL, or several separated by commas. */
export const natsUrlRule: OptionRule = {
  kinds: ['str', 'null'],
  message: 'url must be a string.',
  expected: 'nats://host:port, or several separated by commas',
};

/** `nats-kv`: entries and creation locks in one NATS JetStream key-value bucket. */
export const natsKvBackend = defineBackend<NatsKvBackendOptions>({
  name: 'nats-kv',
  options: { url: natsUrlRule, bucket: bucketRule, lock_lease: lockLeaseRule },
  dependencies: [NATS_TRANSPORT, NATS_JETSTREAM, NATS_KV],
  capabilities: { sharedAcrossProcesses: true, sharedAcrossHosts: true },
  create: async (options, context) => (await import('./store.js')).openNatsKvBackend(options, context),
});
