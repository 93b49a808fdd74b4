/** Vitest's functions as the conformance suite's runner (`describeBackendConformance({ runner: vitestRunner, … })`). */
import { afterAll, afterEach, beforeEach, describe, it } from 'vitest';
import type { ConformanceTestRunner } from '../../src/testing/index.js';

/** The runner every conformance suite of this repository declares itself in. */
export const vitestRunner: ConformanceTestRunner = { describe, it, beforeEach, afterEach, afterAll };
