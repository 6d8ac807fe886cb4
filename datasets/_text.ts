/**
 * Reading the plain-text annotation files of the face datasets (LFW pairs and
 * people lists, CelebA identity / landmark / partition lists) as
 * whitespace-separated fields with their 1-based line numbers, so that every
 * parse error can be reported as `FILE:LINE: message` (InputError of
 * lib/base/io.ts).
 *
 * @module
 */
import { InputError } from "../lib/base/io.ts";

/** One non-empty line of an annotation file. */
export interface FieldLine {
  /** 1-based line number in the file. */
  line: number;
  /** The line split on runs of spaces or tabs. */
  fields: string[];
}

/**
 * Reads `path` and returns its non-empty lines split into fields. A missing
 * file is an InputError that names the file; `what` says what it should be.
 */
export async function readFieldLines(
  path: string,
  what: string,
): Promise<FieldLine[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new InputError(path, 0, `file not found (expected ${what})`);
    }
    if (e instanceof Deno.errors.IsADirectory) {
      throw new InputError(path, 0, `is a directory (expected ${what})`);
    }
    throw e;
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const out: FieldLine[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const s = lines[i].trim();
    if (s === "") continue;
    out.push({ line: i + 1, fields: s.split(/[ \t]+/) });
  }
  return out;
}

/** Parses a non-negative integer field; anything else is an InputError. */
export function parseCount(
  file: string,
  line: number,
  field: string,
  what: string,
): number {
  if (!/^\d+$/.test(field)) {
    throw new InputError(
      file,
      line,
      `${what} must be a non-negative integer, got "${field}"`,
    );
  }
  return Number(field);
}
