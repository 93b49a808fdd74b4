/**
 * The `memory` back-end's descriptor: `beaker-ts/backends/memory`.
 * @module
 */
import { booleanRule, positiveIntegerRule } from '../../shared/option-rules.js';
import { defineBackend } from '../define.js';
import type { MemoryBackendOptions } from './index.js';

export type { MemoryBackendOptions } from './index.js';

/** `memory`: entries in this process only, optionally bounded (`max_items`). */
export const memoryDescriptor = defineBackend<MemoryBackendOptions>({
  name: 'memory',
  options: {
    max_items: positiveIntegerRule(
      'max_items must be a positive whole number.',
      'a positive whole number of entries',
    ),
    serialize: booleanRule('serialize must be true/false if present.'),
  },
  capabilities: { sharedAcrossProcesses: false, sharedAcrossHosts: false },
  create: async (options, context) => (await import('./index.js')).memoryBackend(options, context),
});
