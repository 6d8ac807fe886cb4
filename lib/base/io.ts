/**
 * File output that never leaves a half-written file, and input errors that
 * name the file and line. Every result, cache and checkpoint in the suite is
 * written through `writeFileAtomic` / `writeTextAtomic`.
 *
 * @module
 */

/** An error in an input file, printed as `FILE:LINE: message`. */
export class InputError extends Error {
  /**
   * @param file the path of the bad file
   * @param line 1-based line number, or 0 when the whole file is at fault
   * @param message what is wrong
   */
  constructor(readonly file: string, readonly line: number, message: string) {
    super(line > 0 ? `${file}:${line}: ${message}` : `${file}: ${message}`);
    this.name = "InputError";
  }
}

/** Writes `data` to `path` via a temp file in the same folder and a rename. */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array,
): Promise<void> {
  const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : ".";
  await Deno.mkdir(dir, { recursive: true });
  const tmp = `${path}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  try {
    await Deno.writeFile(tmp, data);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

/** Writes text to `path` atomically (see {@linkcode writeFileAtomic}). */
export async function writeTextAtomic(
  path: string,
  text: string,
): Promise<void> {
  await writeFileAtomic(path, new TextEncoder().encode(text));
}

/** Whether a path exists. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** SHA-256 of a string or bytes, as hex. */
export async function sha256Hex(data: string | Uint8Array): Promise<string> {
  const bytes = typeof data === "string"
    ? new TextEncoder().encode(data)
    : data;
  const buf = await crypto.subtle.digest("SHA-256", bytes as BufferSource);
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0"))
    .join("");
}
