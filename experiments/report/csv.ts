/**
 * Reading CSV input files with line numbers, so every error names the file
 * and line (`FILE:LINE: ...`). Shared by `evaluate.ts` and the results reader
 * of `make tables`.
 *
 * @module
 */
import { parse } from "csv-parse/sync";
import { InputError } from "../../lib/base/io.ts";

/** Reads a text file; a missing file is an {@linkcode InputError} saying what was expected. */
export async function readText(path: string, what?: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new InputError(
        path,
        0,
        what ? `file not found (expected ${what})` : "file not found",
      );
    }
    throw e;
  }
}

/**
 * CSV records with the line each ends on. Malformed CSV is an
 * {@linkcode InputError} at the line where parsing failed.
 *
 * @param options `trim` strips spaces around fields
 */
export function csvRecords(
  path: string,
  text: string,
  options: { trim?: boolean } = {},
): { line: number; fields: string[] }[] {
  try {
    const records = parse(text, {
      info: true,
      bom: true,
      trim: options.trim ?? false,
      skip_empty_lines: true,
      relax_column_count: true,
    }) as unknown as { record: string[]; info: { lines: number } }[];
    return records.map((r) => ({ line: r.info.lines, fields: r.record }));
  } catch (e) {
    const line = (e as { lines?: number }).lines ?? 0;
    throw new InputError(path, line, `not valid CSV: ${(e as Error).message}`);
  }
}
