/**
 * Test helpers for back-end authors: the shared conformance suite every back-end passes (declared in the runner you pass: Vitest, Jest or node:test).
 * @module
 */
export {
  describeBackendConformance,
  type BackendConformanceTarget,
  type ConformanceTestRunner,
} from './backend-conformance.js';
