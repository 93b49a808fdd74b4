/**
 * Test helpers for back-end authors: the shared conformance suite every back-end passes (needs Vitest).
 * @module
 */
export { describeBackendConformance, type BackendConformanceTarget } from './backend-conformance.js';
