import { describeBackendConformance } from '../../src/testing/index.js';

describeBackendConformance({ type: 'memory', options: () => ({}), sharedAcrossProcesses: false });
describeBackendConformance({
  type: 'memory',
  options: () => ({ max_items: 100_000 }),
  sharedAcrossProcesses: false,
});
