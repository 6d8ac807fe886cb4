/**
 * Checkpoints: named float32 tensors plus a JSON header in one file,
 * written to a temp file and renamed, so an interrupted write never leaves
 * a half checkpoint behind. Layout:
 *
 *   "DEEPID2CKPT1\n" | uint32 LE header length | header JSON | float32 data
 *
 * The header lists `{name, shape, offset}` per tensor and carries any
 * JSON-serialisable state (step, sampler RNG, margin, config).
 *
 * @module
 */
import { writeFileAtomic } from "../base/io.ts";

const MAGIC = "DEEPID2CKPT1\n";

/** What a checkpoint holds. */
export interface CheckpointData {
  /** Named tensors: shape and values. */
  tensors: Map<string, { shape: number[]; values: Float32Array }>;
  /** Any JSON-serialisable state. */
  state: Record<string, unknown>;
}

/** Writes a checkpoint atomically. */
export async function saveCheckpoint(
  path: string,
  data: CheckpointData,
): Promise<void> {
  const entries: { name: string; shape: number[]; offset: number }[] = [];
  let floats = 0;
  for (const [name, t] of data.tensors) {
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (size !== t.values.length) {
      throw new Error(
        `checkpoint tensor ${name}: shape [${t.shape}] != ${t.values.length} values`,
      );
    }
    entries.push({ name, shape: t.shape, offset: floats });
    floats += size;
  }
  const header = new TextEncoder().encode(
    JSON.stringify({ tensors: entries, floats, state: data.state }),
  );
  const magic = new TextEncoder().encode(MAGIC);
  // Pad so the float data starts 4-byte aligned.
  const pre = magic.length + 4 + header.length;
  const pad = (4 - (pre % 4)) % 4;
  const buf = new Uint8Array(pre + pad + floats * 4);
  buf.set(magic, 0);
  new DataView(buf.buffer).setUint32(magic.length, header.length + pad, true);
  buf.set(header, magic.length + 4);
  buf.fill(0x20, magic.length + 4 + header.length, pre + pad); // spaces: still JSON
  const f32 = new Float32Array(buf.buffer, pre + pad, floats);
  let k = 0;
  for (const t of data.tensors.values()) {
    f32.set(t.values, entries[k++].offset);
  }
  await writeFileAtomic(path, buf);
}

/**
 * Reads a checkpoint; a missing, truncated or foreign file gets an error
 * naming the path and what is wrong.
 */
export async function loadCheckpoint(path: string): Promise<CheckpointData> {
  let buf: Uint8Array;
  try {
    buf = await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(`${path}: checkpoint not found`);
    }
    throw e;
  }
  const magic = new TextEncoder().encode(MAGIC);
  const bad = (why: string) =>
    new Error(`${path}: not a valid DeepID2 checkpoint (${why})`);
  if (
    buf.length < magic.length + 4 ||
    new TextDecoder().decode(buf.subarray(0, magic.length)) !== MAGIC
  ) throw bad("wrong magic");
  const hlen = new DataView(buf.buffer, buf.byteOffset).getUint32(
    magic.length,
    true,
  );
  const start = magic.length + 4;
  if (start + hlen > buf.length) throw bad("truncated header");
  let header: {
    tensors: { name: string; shape: number[]; offset: number }[];
    floats: number;
    state: Record<string, unknown>;
  };
  try {
    header = JSON.parse(
      new TextDecoder().decode(buf.subarray(start, start + hlen)),
    );
  } catch {
    throw bad("corrupt header");
  }
  const dataStart = start + hlen;
  if (buf.length !== dataStart + header.floats * 4) {
    throw bad(
      `expected ${dataStart + header.floats * 4} bytes, found ${buf.length}`,
    );
  }
  const all = new Float32Array(buf.slice(dataStart).buffer);
  const tensors = new Map<string, { shape: number[]; values: Float32Array }>();
  for (const t of header.tensors) {
    const size = t.shape.reduce((a, b) => a * b, 1);
    tensors.set(t.name, {
      shape: t.shape,
      values: all.subarray(t.offset, t.offset + size),
    });
  }
  return { tensors, state: header.state };
}
