/**
 * Typed defaults with strict `--key=value` overrides (after nanoGPT's
 * configurator: the rule, not its `exec`). A key that does not
 * exist or a value of the wrong type is an error naming the key.
 *
 * @module
 */

/** A plain config object: numbers, strings, booleans, arrays of them, nested objects. */
export type ConfigValue =
  | number
  | string
  | boolean
  | null
  | ConfigValue[]
  | { [key: string]: ConfigValue };

function parseNumber(key: string, raw: string): number {
  const t = raw.trim().toLowerCase();
  if (t === "inf" || t === "infinity") return Infinity;
  const v = Number(raw);
  if (raw.trim() === "" || Number.isNaN(v)) {
    throw new Error(`config key "${key}" takes a number, got "${raw}"`);
  }
  return v;
}

function coerce(key: string, raw: string, like: ConfigValue): ConfigValue {
  if (typeof like === "number") return parseNumber(key, raw);
  if (typeof like === "boolean") {
    if (raw === "true" || raw === "1") return true;
    if (raw === "false" || raw === "0") return false;
    throw new Error(`config key "${key}" takes true or false, got "${raw}"`);
  }
  if (typeof like === "string") return raw;
  if (Array.isArray(like)) {
    const el = like.length ? like[0] : "";
    return raw === "" ? [] : raw.split(",").map((p) => coerce(key, p, el));
  }
  if (like === null) return raw;
  throw new Error(
    `config key "${key}" is a group; set one of its keys (${
      Object.keys(like).join(", ")
    })`,
  );
}

/**
 * Returns a deep copy of `defaults` with `overrides` (`key` or `a.b` paths
 * to raw strings) applied, each coerced to the default's type.
 *
 * @example
 * ```ts
 * applyOverrides({ steps: 10, lambdas: [0, 0.05] }, { steps: "20", lambdas: "0,inf" });
 * // { steps: 20, lambdas: [0, Infinity] }
 * ```
 */
export function applyOverrides<T extends Record<string, unknown>>(
  defaults: T,
  overrides: Record<string, string>,
): T {
  const out = structuredClone(defaults) as Record<string, unknown>;
  for (const [path, raw] of Object.entries(overrides)) {
    const parts = path.split(".");
    let node = out as Record<string, unknown>;
    for (let i = 0; i < parts.length - 1; i++) {
      const next = node[parts[i]];
      if (
        next === undefined || typeof next !== "object" || next === null ||
        Array.isArray(next)
      ) {
        throw new Error(`unknown config key "${path}"`);
      }
      node = next as Record<string, unknown>;
    }
    const last = parts[parts.length - 1];
    if (!(last in node)) {
      throw new Error(
        `unknown config key "${path}"; known keys: ${
          Object.keys(node).join(", ")
        }`,
      );
    }
    node[last] = coerce(path, raw, node[last] as ConfigValue);
  }
  return out as T;
}

/** JSON with Infinity written as the string "Infinity" (JSON has no Infinity). */
export function configToJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v),
    2,
  );
}
