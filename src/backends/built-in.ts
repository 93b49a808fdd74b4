/**
 * The built-in back-ends' descriptors, and the option rules they declare. Loading this loads no back-end and no
 * client library: a descriptor imports its implementation only when it creates a back-end.
 * @module
 */
import type { OptionRule, RuleTable } from '../shared/option-rules.js';
import { databaseDescriptor, sqlaDescriptor } from './database/descriptor.js';
import { dbmDescriptor } from './dbm/descriptor.js';
import type { BackendDescriptor } from './define.js';
import { fileDescriptor } from './file/descriptor.js';
import { googleDescriptor } from './google/descriptor.js';
import { memcachedDescriptor } from './memcached/descriptor.js';
import { memoryDescriptor } from './memory/descriptor.js';
import { mongodbDescriptor } from './mongodb/descriptor.js';
import { redisClusterDescriptor, redisDescriptor } from './redis/descriptor.js';

/** Every built-in back-end, each under its `type` name. */
export const BUILT_IN_BACKENDS: readonly BackendDescriptor[] = [
  memoryDescriptor,
  fileDescriptor,
  dbmDescriptor,
  redisDescriptor,
  redisClusterDescriptor,
  memcachedDescriptor,
  databaseDescriptor,
  sqlaDescriptor,
  mongodbDescriptor,
  googleDescriptor,
];

/**
 * The rules of every option some built-in back-end declares. Config coerces them before it knows which back-end will
 * read them (an INI file's `cache.max_items`), so a name must mean the same in every back-end that declares it.
 */
function unionOfOptionRules(descriptors: readonly BackendDescriptor[]): RuleTable {
  const rules: Record<string, OptionRule> = {};
  for (const descriptor of descriptors) {
    for (const [option, rule] of Object.entries(descriptor.options === 'any' ? {} : descriptor.options)) {
      if (Object.hasOwn(rules, option) && rules[option] !== rule) {
        throw new TypeError(
          `${descriptor.name} declares ${option} with a rule of its own: share the one rule`,
        );
      }
      rules[option] = rule;
    }
  }
  return rules;
}

/** See {@link unionOfOptionRules}. */
export const BUILT_IN_BACKEND_OPTION_RULES: RuleTable = unionOfOptionRules(BUILT_IN_BACKENDS);
