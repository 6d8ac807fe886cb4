import assert from "node:assert/strict";
import {
  decodeSafetensors,
  encodeSafetensors,
  readSafetensors,
  type SafetensorsData,
  writeSafetensors,
} from "./safetensors.ts";

const DATA: SafetensorsData = {
  tensors: new Map([
    ["conv1/w", {
      shape: [1, 2, 3],
      values: new Float32Array([1, -2, 0.5, 3e-8, -0, 7]),
    }],
    ["b", { shape: [2], values: new Float32Array([Math.PI, -1]) }],
    ["empty", { shape: [0, 4], values: new Float32Array(0) }],
  ]),
  metadata: { format: "pt", config: '{"a":1}' },
};

/** A file from its header object and data bytes, as another writer would lay it out. */
function rawFile(header: unknown, data = new Uint8Array(0)): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

Deno.test("safetensors: round trip, bit for bit, in order, with metadata", () => {
  const bytes = encodeSafetensors(DATA);
  const back = decodeSafetensors(bytes);
  assert.deepEqual([...back.tensors.keys()], ["conv1/w", "b", "empty"]);
  for (const [name, t] of DATA.tensors) {
    assert.deepEqual(back.tensors.get(name)!.shape, t.shape);
    assert.deepEqual(
      new Uint8Array(back.tensors.get(name)!.values.buffer),
      new Uint8Array(t.values.buffer),
    );
  }
  assert.deepEqual(back.metadata, DATA.metadata);
});

Deno.test("safetensors: the layout of the format (u64 LE length, JSON, 8-aligned data, LE F32)", () => {
  const bytes = encodeSafetensors({
    tensors: new Map([["x", { shape: [2], values: new Float32Array([1, 2]) }]]),
    metadata: {},
  });
  const view = new DataView(bytes.buffer);
  const n = Number(view.getBigUint64(0, true));
  assert.equal(n % 8, 0);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  assert.deepEqual(header, {
    x: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
  });
  assert.equal(bytes.length, 8 + n + 8);
  assert.equal(view.getFloat32(8 + n, true), 1);
  assert.equal(view.getFloat32(8 + n + 4, true), 2);
  // 1.0f little-endian is 00 00 80 3f.
  assert.deepEqual([...bytes.subarray(8 + n, 8 + n + 4)], [0, 0, 0x80, 0x3f]);
});

Deno.test("safetensors: reads a file laid out by another writer (tensors out of header order)", () => {
  const data = new Uint8Array(12);
  const v = new DataView(data.buffer);
  v.setFloat32(0, 5, true); // b first in the data
  v.setFloat32(4, 1, true);
  v.setFloat32(8, 2, true);
  const back = decodeSafetensors(rawFile({
    a: { dtype: "F32", shape: [1, 2], data_offsets: [4, 12] },
    b: { dtype: "F32", shape: [], data_offsets: [0, 4] },
  }, data));
  assert.deepEqual([...back.tensors.get("a")!.values], [1, 2]);
  assert.deepEqual([...back.tensors.get("b")!.values], [5]);
  assert.deepEqual(back.tensors.get("b")!.shape, []);
  assert.deepEqual(back.metadata, {});
});

Deno.test("safetensors: truncated, foreign and inconsistent files get errors naming the file", () => {
  const good = encodeSafetensors(DATA);
  const cases: [Uint8Array, RegExp][] = [
    [good.subarray(0, 5), /m\.st: not a valid safetensors file \(5 bytes/],
    [good.subarray(0, 40), /m\.st: .*truncated: header/],
    [good.subarray(0, good.length - 4), /m\.st: .*truncated: tensor b ends/],
    [
      new TextEncoder().encode("DEEPID2CKPT1\n\0\0\0\0\0\0\0"),
      /m\.st: .*header length/,
    ],
    [rawFile("[1]"), /m\.st: .*not a JSON object/],
    [
      rawFile(
        { x: { dtype: "F16", shape: [1], data_offsets: [0, 2] } },
        new Uint8Array(2),
      ),
      /m\.st: .*tensor x has dtype "F16"/,
    ],
    [
      rawFile(
        { x: { dtype: "F32", shape: [2], data_offsets: [0, 4] } },
        new Uint8Array(4),
      ),
      /m\.st: .*do not hold shape \[2\]/,
    ],
    [
      rawFile(
        { x: { dtype: "F32", shape: [1], data_offsets: [4, 8] } },
        new Uint8Array(8),
      ),
      /m\.st: .*starts at byte 4, expected 0/,
    ],
    [
      rawFile(
        { x: { dtype: "F32", shape: [1], data_offsets: [0, 4] } },
        new Uint8Array(8),
      ),
      /m\.st: .*4 bytes after the last tensor/,
    ],
    [
      rawFile({ __metadata__: { a: 1 } }),
      /m\.st: .*metadata a is not a string/,
    ],
  ];
  for (const [bytes, want] of cases) {
    assert.throws(() => decodeSafetensors(bytes, "m.st"), want);
  }
});

Deno.test("safetensors: writes atomically and reads back; a missing file names the path", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeSafetensors(`${dir}/m.safetensors`, DATA);
    const back = await readSafetensors(`${dir}/m.safetensors`);
    assert.deepEqual([...back.tensors.get("b")!.values], [
      ...DATA.tensors.get("b")!.values,
    ]);
    const left = [...Deno.readDirSync(dir)].map((e) => e.name);
    assert.deepEqual(left, ["m.safetensors"]); // no temp file left
    await assert.rejects(
      readSafetensors(`${dir}/none.safetensors`),
      /none\.safetensors: safetensors file not found/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("safetensors: refuses a shape that does not match its values", () => {
  assert.throws(
    () =>
      encodeSafetensors({
        tensors: new Map([["x", { shape: [3], values: new Float32Array(2) }]]),
        metadata: {},
      }),
    /tensor x: shape \[3\] does not hold 2 values/,
  );
});
