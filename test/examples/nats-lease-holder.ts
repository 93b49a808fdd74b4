/**
 * A child process of test/examples/custom-backend.test.ts: opens the nats-kv back-end with the options in argv[2],
 * takes the creation lock `argv[3]`, prints "held", and keeps it (renewing the lease) until it is killed.
 */
import { natsKvBackend } from '../../examples/custom-backend/descriptor.js';

const options = JSON.parse(process.argv[2] ?? '{}') as Record<string, unknown>;
const backend = await natsKvBackend.create(options, { clock: Date.now, report: () => undefined });
const lock = await backend.locks?.acquire(process.argv[3] ?? 'lock', 0);
if (!lock) throw new Error('the lock was not free');
process.stdout.write('held\n');
// Keeps the process alive: the renewal timer does not.
setInterval(() => undefined, 1000);
