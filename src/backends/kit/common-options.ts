/**
 * Option rules that several back-ends declare: one rule object per name, so that an option means the same in every
 * back-end that reads it (config coerces it before it knows which back-end will).
 * @module
 */
import { asGivenRule, optionalStringRule, type OptionRule } from '../../shared/option-rules.js';

/** `lock_lease`: a whole number of seconds, at least 5. */
export const lockLeaseRule: OptionRule = {
  kinds: ['int', 'null'],
  message: 'lock_lease must be at least 5 seconds.',
  expected: 'a whole number of seconds, at least 5',
  refine: (value, fail) =>
    value === null || (typeof value === 'number' && value >= 5)
      ? value
      : fail('lock_lease must be at least 5 seconds.'),
};

/** `url`: a string, or a connected client in code; each back-end checks it when it opens. */
export const urlRule: OptionRule = asGivenRule('url', 'the URL of the store, or a connected client');

/** `table_name`: the table, collection or entity kind. */
export const tableNameRule: OptionRule = optionalStringRule('table_name', 'a table name');

/** `bind`: a pool or client the application made. */
export const bindRule: OptionRule = asGivenRule('bind', "the application's own pool or client");
