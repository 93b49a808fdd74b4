/** ext:memcached against a pool of three real servers (scripts/services.sh starts them). */
import { describeBackendConformance } from '../../src/testing/index.js';
import { unreachable } from '../helpers/services.js';

const SERVERS = process.env.BEAKER_TEST_MEMCACHED_URL ?? '127.0.0.1:11211;127.0.0.1:11212;127.0.0.1:11213';
const reasons = await Promise.all(
  SERVERS.split(';').map((server) => {
    const [host = '127.0.0.1', port = '11211'] = server.split(':');
    return unreachable(host, Number(port), 'memcached');
  }),
);
const unavailable = reasons.find((reason) => reason !== undefined);

describeBackendConformance({
  type: 'ext:memcached',
  options: () => ({ url: SERVERS }),
  ...(unavailable === undefined ? {} : { unavailable }),
});
