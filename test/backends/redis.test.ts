/** ext:redis and ext:rediscluster against real servers (scripts/services.sh starts them). */
import { describeBackendConformance } from '../../src/testing/index.js';
import { unreachable } from '../helpers/services.js';

const REDIS_URL = process.env.BEAKER_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/3';
const redis = new URL(REDIS_URL);

describeBackendConformance({
  type: 'ext:redis',
  options: () => ({ url: REDIS_URL }),
  ...(await unreachable(redis.hostname, Number(redis.port || 6379), 'Redis').then((reason) =>
    reason === undefined ? {} : { unavailable: reason },
  )),
});

const CLUSTER_URLS =
  process.env.BEAKER_TEST_REDIS_CLUSTER_URLS ??
  'redis://127.0.0.1:7000,redis://127.0.0.1:7001,redis://127.0.0.1:7002';

describeBackendConformance({
  type: 'ext:rediscluster',
  options: () => ({ urls: CLUSTER_URLS }),
  ...(await unreachable('127.0.0.1', 7000, 'The Redis Cluster').then((reason) =>
    reason === undefined ? {} : { unavailable: reason },
  )),
});
