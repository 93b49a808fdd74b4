import { describeBackendConformance } from '../../src/testing/index.js';
import { vitestRunner } from '../helpers/vitest-runner.js';

describeBackendConformance({
  runner: vitestRunner,
  type: 'memory',
  options: () => ({}),
  sharedAcrossProcesses: false,
});
describeBackendConformance({
  runner: vitestRunner,
  type: 'memory',
  options: () => ({ max_items: 100_000 }),
  sharedAcrossProcesses: false,
});
