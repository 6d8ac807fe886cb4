/**
 * The safetensors file format (Hugging Face, `huggingface/safetensors`),
 * float32 tensors only: how a trained network leaves this project for other
 * tools (`deno task export`, `experiments/export.ts`; PyTorch reads it with
 * `experiments/peers/deepid2_torch.py` `load_safetensors`, without the
 * `safetensors` package). Layout:
 *
 *   uint64 LE header length N | N bytes of JSON header | tensor bytes
 *
 * The header maps each tensor name to `{"dtype": "F32", "shape": [...],
 * "data_offsets": [begin, end]}` (byte offsets into the data that follows
 * the header; little-endian float32, row-major), and the optional
 * `"__metadata__"` key to a map of strings to strings. The header is padded
 * with spaces to a multiple of 8 bytes, so the data starts aligned. Tensors
 * are stored back to back in the order given, covering the data exactly, as
 * the reference reader requires.
 *
 * Reading checks all of that: a truncated, foreign or inconsistent file gets
 * an error naming the file and what is wrong.
 *
 * @module
 */
import { writeFileAtomic } from "../base/io.ts";

/** One float32 tensor: its shape and values (row-major). */
export interface F32Tensor {
  shape: number[];
  values: Float32Array;
}

/** What a safetensors file holds. */
export interface SafetensorsData {
  /** Tensors by name, in file order. */
  tensors: Map<string, F32Tensor>;
  /** The `__metadata__` strings (empty when the file has none). */
  metadata: Record<string, string>;
}

/** The largest header this reader accepts (100 MB, the reference reader's limit). */
export const MAX_HEADER_BYTES = 100_000_000;

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Encodes tensors and metadata as a safetensors file.
 *
 * @param data tensors (F32, row-major) and string metadata
 * @returns the file's bytes
 * @example
 * ```ts
 * const bytes = encodeSafetensors({
 *   tensors: new Map([["w", { shape: [2], values: new Float32Array([1, 2]) }]]),
 *   metadata: { format: "pt" },
 * });
 * ```
 */
export function encodeSafetensors(data: SafetensorsData): Uint8Array {
  const header: Record<string, unknown> = {};
  const meta = data.metadata;
  if (Object.keys(meta).length) {
    for (const [k, v] of Object.entries(meta)) {
      if (typeof v !== "string") {
        throw new TypeError(`safetensors metadata ${k} must be a string`);
      }
    }
    header.__metadata__ = meta;
  }
  let bytes = 0;
  for (const [name, t] of data.tensors) {
    if (name === "__metadata__") {
      throw new RangeError(`a tensor cannot be called __metadata__`);
    }
    if (
      !t.shape.every((d) => Number.isInteger(d) && d >= 0) ||
      sizeOf(t.shape) !== t.values.length
    ) {
      throw new RangeError(
        `tensor ${name}: shape [${t.shape}] does not hold ${t.values.length} values`,
      );
    }
    const end = bytes + 4 * t.values.length;
    header[name] = { dtype: "F32", shape: t.shape, data_offsets: [bytes, end] };
    bytes = end;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) {
    const padded = new Uint8Array(json.length + pad).fill(0x20); // spaces
    padded.set(json);
    json = padded;
  }
  const out = new Uint8Array(8 + json.length + bytes);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const t of data.tensors.values()) {
    // Little-endian float32, whatever the host's order.
    for (let i = 0; i < t.values.length; i++, at += 4) {
      view.setFloat32(at, t.values[i], true);
    }
  }
  return out;
}

/**
 * Decodes a safetensors file (F32 tensors only).
 *
 * @param bytes the file's bytes
 * @param path the file's name, for error messages
 * @returns its tensors, in file order, and its metadata
 */
export function decodeSafetensors(
  bytes: Uint8Array,
  path = "<safetensors>",
): SafetensorsData {
  const bad = (why: string) =>
    new Error(`${path}: not a valid safetensors file (${why})`);
  if (bytes.length < 8) throw bad(`${bytes.length} bytes, no header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw bad(`header length ${n} is over ${MAX_HEADER_BYTES} bytes`);
  }
  const hlen = Number(n);
  if (8 + hlen > bytes.length) {
    throw bad(
      `truncated: header of ${hlen} bytes, file of ${bytes.length} bytes`,
    );
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(
      new TextDecoder("utf-8", { fatal: true }).decode(
        bytes.subarray(8, 8 + hlen),
      ),
    );
  } catch (e) {
    throw bad(`header is not JSON: ${(e as Error).message}`);
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) {
    throw bad("header is not a JSON object");
  }
  const dataStart = 8 + hlen;
  const dataBytes = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const entries: {
    name: string;
    shape: number[];
    begin: number;
    end: number;
  }[] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === "__metadata__") {
      if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
        throw bad("__metadata__ is not an object");
      }
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== "string") throw bad(`metadata ${k} is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const e = raw as {
      dtype?: unknown;
      shape?: unknown;
      data_offsets?: unknown;
    };
    if (e?.dtype !== "F32") {
      throw bad(
        `tensor ${name} has dtype ${
          JSON.stringify(e?.dtype)
        }; only F32 is read`,
      );
    }
    const shape = e.shape;
    const offs = e.data_offsets;
    if (
      !Array.isArray(shape) ||
      !shape.every((d) => Number.isInteger(d) && d >= 0) ||
      !Array.isArray(offs) || offs.length !== 2 ||
      !offs.every((o) => Number.isInteger(o) && o >= 0)
    ) {
      throw bad(`tensor ${name} has no valid shape and data_offsets`);
    }
    const [begin, end] = offs as number[];
    if (end - begin !== 4 * sizeOf(shape)) {
      throw bad(
        `tensor ${name}: data_offsets [${begin}, ${end}] do not hold shape [${shape}] of F32`,
      );
    }
    if (end > dataBytes) {
      throw bad(
        `truncated: tensor ${name} ends at byte ${end} of the data, the file has ${dataBytes}`,
      );
    }
    entries.push({ name, shape: shape as number[], begin, end });
  }
  // Back to back from 0, covering the data exactly (no holes, no overlap).
  const sorted = [...entries].sort((a, b) => a.begin - b.begin);
  let at = 0;
  for (const e of sorted) {
    if (e.begin !== at) {
      throw bad(
        `tensor ${e.name} starts at byte ${e.begin}, expected ${at} (holes or overlaps)`,
      );
    }
    at = e.end;
  }
  if (at !== dataBytes) {
    throw bad(`${dataBytes - at} bytes after the last tensor`);
  }
  const tensors = new Map<string, F32Tensor>();
  for (const e of sorted) {
    const values = new Float32Array((e.end - e.begin) / 4);
    for (let i = 0; i < values.length; i++) {
      values[i] = view.getFloat32(dataStart + e.begin + 4 * i, true);
    }
    tensors.set(e.name, { shape: e.shape, values });
  }
  return { tensors, metadata };
}

/** Writes a safetensors file atomically (temp file and rename). */
export async function writeSafetensors(
  path: string,
  data: SafetensorsData,
): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(data));
}

/**
 * Reads a safetensors file; a missing, truncated or foreign file gets an
 * error naming the path.
 */
export async function readSafetensors(path: string): Promise<SafetensorsData> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(`${path}: safetensors file not found`);
    }
    throw e;
  }
  return decodeSafetensors(bytes, path);
}
