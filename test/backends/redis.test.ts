/** ext:redis and ext:rediscluster against real servers (scripts/services.sh starts them). */
import { describeServerConformance } from '../helpers/server-stores.js';

await describeServerConformance((label) => label.startsWith('ext:redis'));
