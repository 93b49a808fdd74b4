/**
 * Pylons/Paste-style INI files (Python's ConfigParser as PasteDeploy sets it up): sections, `[DEFAULT]`,
 * `%(name)s` interpolation with `here` and `__file__`, `#`/`;` comment lines, indented continuation lines,
 * case-kept keys, and PasteDeploy's `set name = ...` and `get name = ...` in the application section.
 * @module
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { ConfigError } from '../shared/errors.js';

/** Options of {@link loadIniConfig} and {@link parseIniConfig}. */
export interface IniConfigOptions {
  /**
   * The section holding the application's options, merged over `[DEFAULT]`.
   * @default 'app:main'
   */
  section?: string;
}

/** One section's raw (not yet interpolated) values, in file order. */
type RawSection = Map<string, string>;

interface RawIni {
  defaults: RawSection;
  sections: Map<string, RawSection>;
}

const MAX_INTERPOLATION_DEPTH = 10;
const SECTION_HEADER = /^\[(.+)\]/;
const OPTION_LINE = /^(.*?)\s*[=:]\s*(.*)$/;
const COMMENT_PREFIXES = ['#', ';'];
const INTERPOLATION_KEY = /^%\(([^)]+)\)s/;

/**
 * Reads an INI file into the flat dictionary that `parseCacheConfigOptions` and `parseSessionConfigOptions` take:
 * `[DEFAULT]` (with `here`, the file's directory, and `__file__`) merged with `section`, values interpolated.
 *
 * @example
 * const config = await loadIniConfig('development.ini');
 * const cacheOptions = parseCacheConfigOptions(config);
 */
export async function loadIniConfig(
  path: string,
  options: IniConfigOptions = {},
): Promise<Record<string, string>> {
  const absolute = resolve(path);
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (error) {
    throw new ConfigError(
      `Cannot read the configuration file ${absolute}.`,
      { option: 'config file' },
      { cause: error },
    );
  }
  return parseIniConfig(text, { ...options, path: absolute });
}

/**
 * Parses INI text as {@link loadIniConfig} does; `path` sets `here` and `__file__` (default: the working directory).
 */
export function parseIniConfig(
  text: string,
  options: IniConfigOptions & { path?: string } = {},
): Record<string, string> {
  const path = resolve(options.path ?? 'config.ini');
  const sectionName = options.section ?? 'app:main';
  const ini = readSections(text, path);
  ini.defaults = new Map([['here', dirname(path)], ['__file__', path], ...ini.defaults]);
  const section = ini.sections.get(sectionName);
  if (!section) {
    const found = [...ini.sections.keys()].join(', ') || 'none';
    throw new ConfigError(`No section [${sectionName}] in ${path} (sections: ${found}).`, {
      option: 'section',
    });
  }
  const interpolate = (name: string, raw: string, lookup: RawSection): string =>
    interpolateValue(raw, { name, section: sectionName, path, lookup });

  const globalConf: Record<string, string> = {};
  for (const [name, raw] of ini.defaults) globalConf[name] = interpolate(name, raw, ini.defaults);
  const sectionLookup = new Map([...ini.defaults, ...section]);
  const localConf: Record<string, string> = {};
  const fromGlobals: [string, string][] = [];
  for (const [name, raw] of section) {
    if (name.startsWith('set ')) {
      globalConf[name.slice(4).trim()] = interpolate(name, raw, sectionLookup);
    } else if (name.startsWith('get ')) {
      fromGlobals.push([name.slice(4).trim(), interpolate(name, raw, sectionLookup)]);
    } else if (!ini.defaults.has(name)) {
      // PasteDeploy: a key that [DEFAULT] also defines stays global; override it with `set name = value`.
      localConf[name] = interpolate(name, raw, sectionLookup);
    }
  }
  for (const [name, globalName] of fromGlobals) {
    const value = globalConf[globalName];
    if (value === undefined) {
      throw new ConfigError(
        `"get ${name}" names "${globalName}", which [DEFAULT] does not define (${path}).`,
        {
          option: `get ${name}`,
        },
      );
    }
    localConf[name] = value;
  }
  return { ...globalConf, ...localConf };
}

/** Splits INI text into sections of raw values, following Python's ConfigParser line by line. */
function readSections(text: string, path: string): RawIni {
  const ini: RawIni = { defaults: new Map(), sections: new Map() };
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  let current: { name: string; values: RawSection } | undefined;
  let option: string | undefined;
  let valueLines: string[] = [];
  let indentLevel = 0;
  const seen = new Set<string>();
  const fail = (lineNumber: number, reason: string): never => {
    throw new ConfigError(`${reason} (${path}, line ${lineNumber}).`, { option: 'config file' });
  };
  const finishValue = (): void => {
    if (current && option !== undefined) current.values.set(option, valueLines.join('\n').trimEnd());
    option = undefined;
  };

  lines.forEach((line, index) => {
    const lineNumber = index + 1;
    const stripped = line.trim();
    if (COMMENT_PREFIXES.some((prefix) => stripped.startsWith(prefix))) return;
    if (stripped === '') {
      // Blank lines inside a value are kept (ConfigParser's empty_lines_in_values).
      if (option !== undefined) valueLines.push('');
      return;
    }
    const indent = line.length - line.trimStart().length;
    if (current && option !== undefined && indent > indentLevel) {
      valueLines.push(stripped);
      return;
    }
    finishValue();
    indentLevel = indent;
    const header = SECTION_HEADER.exec(stripped);
    if (header) {
      const name = header[1] ?? '';
      if (name === 'DEFAULT') {
        current = { name, values: ini.defaults };
        return;
      }
      if (seen.has(name)) fail(lineNumber, `Section [${name}] appears twice`);
      seen.add(name);
      const values: RawSection = new Map();
      ini.sections.set(name, values);
      current = { name, values };
      return;
    }
    if (!current) return fail(lineNumber, 'The file must start with a section header such as [app:main]');
    const match = OPTION_LINE.exec(stripped);
    const name = match?.[1]?.trimEnd();
    if (!match || !name) return fail(lineNumber, `Cannot read this line: ${JSON.stringify(stripped)}`);
    const seenKey = `${current.name}\u0000${name}`;
    if (seen.has(seenKey)) fail(lineNumber, `Option "${name}" appears twice in [${current.name}]`);
    seen.add(seenKey);
    option = name;
    valueLines = [(match[2] ?? '').trim()];
  });
  finishValue();
  return ini;
}

interface InterpolationContext {
  name: string;
  section: string;
  path: string;
  lookup: RawSection;
}

/** ConfigParser's BasicInterpolation: `%(name)s` takes another option's value, `%%` is a literal `%`. */
function interpolateValue(raw: string, context: InterpolationContext, depth = 1): string {
  const fail = (reason: string): never => {
    throw new ConfigError(`Error in file ${context.path}: ${reason}`, {
      option: context.name,
      key: `[${context.section}] ${context.name}`,
    });
  };
  if (depth > MAX_INTERPOLATION_DEPTH) {
    fail(`option "${context.name}" in section [${context.section}] refers to itself or nests too deep`);
  }
  let result = '';
  let rest = raw;
  while (rest !== '') {
    const percent = rest.indexOf('%');
    if (percent < 0) return result + rest;
    result += rest.slice(0, percent);
    rest = rest.slice(percent);
    const next = rest.charAt(1);
    if (next === '%') {
      result += '%';
      rest = rest.slice(2);
      continue;
    }
    const reference = next === '(' ? INTERPOLATION_KEY.exec(rest) : null;
    if (!reference) return fail(`"%" must be followed by "%" or "(name)s", found: ${JSON.stringify(rest)}`);
    const target = reference[1] ?? '';
    const value = context.lookup.get(target);
    if (value === undefined) {
      return fail(
        `option "${context.name}" in section [${context.section}] refers to "%(${target})s", which is not defined`,
      );
    }
    rest = rest.slice(reference[0].length);
    result += value.includes('%') ? interpolateValue(value, context, depth + 1) : value;
  }
  return result;
}
