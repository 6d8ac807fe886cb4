import assert from "node:assert/strict";
import {
  cropFace,
  DEFAULT_CROP,
  fitSimilarity,
  fixedLandmarks,
  invertSimilarity,
  LFW_FIXED_LANDMARKS,
  type RawImage,
  TEMPLATE_55X47,
  templateFor,
} from "./crop.ts";

function apply(
  t: { a: number; b: number; tx: number; ty: number },
  x: number,
  y: number,
) {
  return [t.a * x - t.b * y + t.tx, t.b * x + t.a * y + t.ty];
}

Deno.test("fitSimilarity recovers a known similarity from 5 points", () => {
  const t = { a: 1.7 * Math.cos(0.3), b: 1.7 * Math.sin(0.3), tx: 12, ty: -5 };
  const src = [10, 20, 40, 22, 25, 35, 14, 50, 38, 51];
  const dst: number[] = [];
  for (let i = 0; i < 10; i += 2) dst.push(...apply(t, src[i], src[i + 1]));
  const f = fitSimilarity(src, dst);
  for (const k of ["a", "b", "tx", "ty"] as const) {
    assert.ok(Math.abs(f[k] - t[k]) < 1e-9, `${k}: ${f[k]} vs ${t[k]}`);
  }
  const inv = invertSimilarity(f);
  const [x, y] = apply(inv, ...(apply(f, 3, 4) as [number, number]));
  assert.ok(Math.abs(x - 3) < 1e-9 && Math.abs(y - 4) < 1e-9);
});

Deno.test("templateFor: 55x47 is the template, 47x47 drops 4 rows top", () => {
  assert.deepEqual(templateFor(DEFAULT_CROP), [...TEMPLATE_55X47]);
  const sq = templateFor({ height: 47, width: 47, gray: false });
  for (let i = 0; i < 10; i += 2) {
    assert.equal(sq[i], TEMPLATE_55X47[i]);
    assert.equal(sq[i + 1], TEMPLATE_55X47[i + 1] - 4);
  }
  assert.deepEqual(fixedLandmarks(250, 250), [...LFW_FIXED_LANDMARKS]);
});

/** An image whose R channel is x and G channel is y (B = 7). */
function ramp(w: number, h: number): RawImage {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      data[(y * w + x) * 3] = x;
      data[(y * w + x) * 3 + 1] = y;
      data[(y * w + x) * 3 + 2] = 7;
    }
  }
  return { data, width: w, height: h, channels: 3 };
}

Deno.test("cropFace: landmarks at 2x the template + offset sample source (2j+ox, 2i+oy)", () => {
  const img = ramp(140, 160);
  const ox = 10, oy = 20;
  const lm = TEMPLATE_55X47.map((v, i) => 2 * v + (i % 2 === 0 ? ox : oy));
  const out = new Uint8Array(55 * 47 * 3);
  cropFace(img, lm, { crop: DEFAULT_CROP, out });
  let maxErr = 0;
  for (let i = 0; i < 55; i++) {
    for (let j = 0; j < 47; j++) {
      const k = (i * 47 + j) * 3;
      maxErr = Math.max(
        maxErr,
        Math.abs(out[k] - (2 * j + ox)),
        Math.abs(out[k + 1] - (2 * i + oy)),
        Math.abs(out[k + 2] - 7),
      );
    }
  }
  assert.ok(maxErr <= 1, `max error ${maxErr}`);
});

Deno.test("cropFace: fixed LFW crop puts the nominal eyes at the template eyes; gray", () => {
  const img = ramp(250, 250);
  const out = new Uint8Array(55 * 47);
  cropFace(img, null, { crop: { ...DEFAULT_CROP, gray: true }, out });
  // template left eye (14, 19) <- source (105, 113): gray = .299 x + .587 y + .114 * 7
  const k = 19 * 47 + 14;
  const want = 0.299 * LFW_FIXED_LANDMARKS[0] + 0.587 * LFW_FIXED_LANDMARKS[1] +
    0.114 * 7;
  assert.ok(Math.abs(out[k] - want) <= 1.5, `${out[k]} vs ${want}`);
});
