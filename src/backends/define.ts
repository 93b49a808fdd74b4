/**
 * `defineBackend()`: everything the core needs to know about a back-end, in the back-end's own folder: its option
 * rules, the client packages it loads, what it can do, and how to create it. Config, the registry and both managers
 * read this descriptor; none of them keeps a list of back-end options of its own.
 * @module
 */
import { coerceOption, type OptionRule } from '../shared/option-rules.js';
import type { AnyBackend, BackendCapabilities, BackendContext, BackendFactory } from './contract.js';

/** Options the core itself owns but passes to a back-end that declares it reads them. */
export type CoreOptionName = 'data_dir' | 'lock_dir';

/** A client library a back-end loads on first use (an optional peer dependency of beaker-ts). */
export interface ClientDependency<T = unknown> {
  /** The npm package, as `npm install` takes it. */
  readonly name: string;
  /** The supported versions, as a semver range (for beaker-ts's own back-ends: its peerDependencies). */
  readonly versions: string;
  /** Imports the package; a function, so that naming the dependency loads nothing. */
  readonly load: () => Promise<T>;
}

/** One rule for each of a back-end's own options (the core's `data_dir` and `lock_dir` excepted). */
export type BackendOptionRules<O extends object> = {
  readonly [K in Exclude<keyof O, CoreOptionName> & string]-?: OptionRule;
};

/** What the core learns from a back-end before opening it. */
export type DeclaredCapabilities = Pick<BackendCapabilities, 'sharedAcrossProcesses' | 'sharedAcrossHosts'>;

/** Opens a back-end from its options (exactly its declared ones, coerced). */
export type BackendCreator<O extends object> = (
  options: Readonly<O> & Readonly<Record<string, unknown>>,
  context: BackendContext,
) => AnyBackend | Promise<AnyBackend>;

/** What {@link defineBackend} takes. */
export interface BackendDefinition<O extends object> {
  /** The `type` name, such as `ext:redis`. */
  name: string;
  /**
   * The back-end's own options by name, each with the rule that coerces it (strings from an INI file into numbers
   * and booleans) and checks it. Sessions and caches coerce them alike, and the back-end receives these and no others.
   */
  options: BackendOptionRules<O>;
  /** The core options the back-end reads too: `data_dir`, `lock_dir`. */
  coreOptions?: readonly CoreOptionName[];
  /** The client packages it may load, for documentation and for the check against package.json. */
  dependencies?: readonly ClientDependency[];
  /**
   * Whether processes (and hosts) share its data: the core then adds a cross-process creation lock, for sessions as
   * for caches, when the back-end has none of its own.
   */
  capabilities: DeclaredCapabilities;
  /** Opens the back-end; import the implementation here (`await import('./store.js')`), not at the top. */
  create: BackendCreator<O>;
}

/** A back-end as the registry holds it: see {@link defineBackend}. */
export interface BackendDescriptor<O extends object = Record<string, unknown>> {
  readonly name: string;
  /** The option rules, or `'any'` for a back-end registered as a plain factory, which receives every option. */
  readonly options: BackendOptionRules<O> | 'any';
  readonly coreOptions: readonly CoreOptionName[];
  readonly dependencies: readonly ClientDependency[];
  /** Absent for a plain factory: the core then asks the opened back-end. */
  readonly capabilities: DeclaredCapabilities | undefined;
  readonly create: BackendCreator<O>;
}

/**
 * Describes a back-end: the one thing to write (with its folder) to add one.
 *
 * @example
 * const bucketBackend = defineBackend<{ bucket?: string | null }>({
 *   name: 'bucket',
 *   options: { bucket: { kinds: ['str', 'null'], message: 'bucket must be a string.', expected: 'a bucket name' } },
 *   capabilities: { sharedAcrossProcesses: true, sharedAcrossHosts: true },
 *   create: async (options, context) => (await import('./bucket-store.js')).openBucketStore(options, context),
 * });
 */
export function defineBackend<O extends object>(definition: BackendDefinition<O>): BackendDescriptor<O> {
  return Object.freeze({
    name: definition.name,
    options: Object.freeze({ ...definition.options }),
    coreOptions: Object.freeze([...(definition.coreOptions ?? [])]),
    dependencies: Object.freeze([...(definition.dependencies ?? [])]),
    capabilities: Object.freeze({ ...definition.capabilities }),
    create: definition.create,
  });
}

/** A back-end registered as a plain factory: it takes any option, and declares no capabilities in advance. */
export function factoryDescriptor(name: string, factory: BackendFactory): BackendDescriptor {
  return Object.freeze({
    name,
    options: 'any',
    coreOptions: Object.freeze(['data_dir', 'lock_dir'] as const),
    dependencies: Object.freeze([]),
    capabilities: undefined,
    create: factory,
  });
}

/** Is `value` a descriptor (rather than a plain factory)? */
export function isBackendDescriptor(value: BackendDescriptor | BackendFactory): value is BackendDescriptor {
  return typeof value === 'object';
}

/**
 * The options a back-end receives, out of the options of a cache or a session: exactly its declared ones, coerced by
 * their rules, plus the core options it declares. A plain factory receives every option but `coreOwned` ones (the
 * cache's or the session's own, such as `expire` or `secret`).
 *
 * @param coreOwned option names of the cache or session level, never a back-end's (a session's `timeout`).
 * @param keyOf maps an option name to the key the user wrote, for error messages.
 */
export function backendOptionsOf(
  descriptor: BackendDescriptor,
  options: object,
  coreOwned: ReadonlySet<string>,
  keyOf: (option: string) => string = (option) => option,
): Record<string, unknown> {
  const rules = descriptor.options;
  const passed: Record<string, unknown> = {};
  for (const [option, value] of Object.entries(options as Readonly<Record<string, unknown>>)) {
    if (value === undefined) continue;
    if ((descriptor.coreOptions as readonly string[]).includes(option)) passed[option] = value;
    else if (coreOwned.has(option)) continue;
    else if (rules === 'any') passed[option] = value;
    else if (Object.hasOwn(rules, option)) {
      passed[option] = coerceOption(
        value,
        (rules as Readonly<Record<string, OptionRule>>)[option] as OptionRule,
        {
          option,
          key: keyOf(option),
        },
      );
    }
  }
  return passed;
}
