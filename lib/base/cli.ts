/**
 * Command-line flags from one table per command: each flag's type, default
 * and help line in one place, `--help` text generated from it, and every
 * unknown flag or bad value an error that names the flag. Flags are
 * `--name value` or `--name=value`; a boolean is `--name`, `--name=true` or
 * `--name=false`. A command that takes config overrides (the experiments)
 * gets every other `--key=value` back as a string, for its config to check.
 *
 * @module
 */

/** The kinds of value a flag takes. */
export type FlagType = "string" | "boolean" | "number" | "integer";

/** One flag: its type, default and help line. */
export interface FlagSpec {
  type: FlagType;
  /** Value when the flag is absent (undefined: absent stays undefined). */
  default?: string | number | boolean;
  /** One line for `--help`; `values` names what a string may be. */
  help: string;
  /** Placeholder shown in `--help` (default: the type). */
  arg?: string;
}

/** A command's flags by name (without the leading `--`). */
export type FlagTable = Record<string, FlagSpec>;

type ValueOf<S extends FlagSpec> = S["type"] extends "boolean" ? boolean
  : S["type"] extends "number" | "integer" ? number
  : string;

/** The parsed values: a flag with a default is always set. */
export type FlagValues<T extends FlagTable> =
  & {
    [K in keyof T as T[K]["default"] extends undefined ? never : K]: ValueOf<
      T[K]
    >;
  }
  & {
    [K in keyof T as T[K]["default"] extends undefined ? K : never]?: ValueOf<
      T[K]
    >;
  };

/** What {@linkcode parseCommandLine} returns. */
export interface CommandLine<T extends FlagTable> {
  values: FlagValues<T>;
  /** `--key=value` pairs that are not flags (only with `overrides: true`). */
  overrides: Record<string, string>;
  /** `--help` was given. */
  help: boolean;
}

/** A bad command line; its message ends with the usage text. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** The `--help` text of a table: one line per flag, aligned. */
export function usage(
  command: string,
  table: FlagTable,
  extra = "",
): string {
  const lines = Object.entries(table).map(([name, s]) => {
    const left = s.type === "boolean"
      ? `--${name}`
      : `--${name} ${s.arg ?? s.type.toUpperCase()}`;
    const def = s.default === undefined || s.default === false
      ? ""
      : ` (default ${s.default})`;
    return [left, s.help + def] as const;
  });
  const width = Math.max(...lines.map(([l]) => l.length), 8) + 2;
  return [
    `usage: ${command}`,
    ...lines.map(([l, h]) => `  ${l.padEnd(width)}${h}`),
    ...(extra ? [extra] : []),
  ].join("\n");
}

function convert(name: string, spec: FlagSpec, raw: string): unknown {
  switch (spec.type) {
    case "string":
      return raw;
    case "boolean":
      if (raw === "true") return true;
      if (raw === "false") return false;
      throw new Error(`--${name} takes true or false, got "${raw}"`);
    case "number": {
      const v = Number(raw);
      if (raw.trim() === "" || !Number.isFinite(v)) {
        throw new Error(`--${name} must be a number, got "${raw}"`);
      }
      return v;
    }
    case "integer": {
      const v = Number(raw);
      if (raw.trim() === "" || !Number.isInteger(v)) {
        throw new Error(`--${name} must be an integer, got "${raw}"`);
      }
      return v;
    }
  }
}

/**
 * Parses `argv` against `table`. Unknown flags are errors (with the usage
 * text), except `--key=value` when `options.overrides` is set: those come
 * back in `overrides`. Positional arguments are errors.
 *
 * @example
 * ```ts
 * const table = { seed: { type: "integer", default: 1, help: "seed" } } as const;
 * parseCommandLine(["--seed=3"], table, { command: "x" }).values.seed; // 3
 * ```
 */
export function parseCommandLine<T extends FlagTable>(
  argv: string[],
  table: T,
  options: { command: string; overrides?: boolean; extraHelp?: string },
): CommandLine<T> {
  const text = () => usage(options.command, table, options.extraHelp);
  const values: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(table)) {
    if (s.default !== undefined) values[name] = s.default;
  }
  const overrides: Record<string, string> = {};
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const m = /^--([^=]+)(?:=(.*))?$/s.exec(arg);
    if (arg === "-h" || arg === "--help") {
      help = true;
      continue;
    }
    if (!m) throw new UsageError(`unexpected argument "${arg}"\n${text()}`);
    const [, name, inline] = m;
    const spec = table[name];
    if (!spec) {
      if (options.overrides && inline !== undefined) {
        overrides[name] = inline;
        continue;
      }
      throw new UsageError(`unknown flag --${name}\n${text()}`);
    }
    let raw = inline;
    if (raw === undefined) {
      if (spec.type === "boolean") raw = "true";
      else if (i + 1 < argv.length && !argv[i + 1].startsWith("--")) {
        raw = argv[++i];
      } else throw new UsageError(`--${name} needs a value\n${text()}`);
    }
    try {
      values[name] = convert(name, spec, raw);
    } catch (e) {
      throw new UsageError(`${(e as Error).message}\n${text()}`);
    }
  }
  return { values: values as FlagValues<T>, overrides, help };
}

/**
 * A tool's command line, checked: {@linkcode parseCommandLine}, then `check`
 * on the values (it throws on a bad combination). `--help` prints
 * `tool.usage`;
 * an error prints its message, then the usage (a {@linkcode UsageError}'s
 * message already ends with it).
 *
 * @returns the values, or the exit status the tool returns at once: 0 after
 *   `--help`, 2 after an error
 */
export function parseToolCommandLine<T extends FlagTable>(
  argv: string[],
  table: T,
  tool: { command: string; usage: string },
  check: (values: FlagValues<T>) => void = () => {},
): FlagValues<T> | number {
  const { command, usage: text } = tool;
  try {
    const cl = parseCommandLine(argv, table, { command });
    if (cl.help) {
      console.log(text);
      return 0;
    }
    check(cl.values);
    return cl.values;
  } catch (e) {
    console.error(
      e instanceof UsageError ? e.message : `${(e as Error).message}\n${text}`,
    );
    return 2;
  }
}
