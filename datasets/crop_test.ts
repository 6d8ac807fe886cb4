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
import { PATCH_BANK, patchCrop } from "./patches.ts";
import { mirrored } from "../lib/faces.ts";

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

Deno.test("patches: a patch of a known face lands where its geometry says, in both formats", () => {
  // Landmarks at 2x the template + (30, 40): template point (x, y) is image
  // pixel (2x + 30, 2y + 40), whose R value is its x and G value its y (the
  // wide patch stays inside the image: no border repeats).
  const img = ramp(200, 220);
  const ox = 30, oy = 40;
  const lm = TEMPLATE_55X47.map((v, i) => 2 * v + (i % 2 === 0 ? ox : oy));
  for (const name of ["mouth", "left_eye", "left_half", "face_wide"]) {
    const crop = patchCrop(name);
    const spec = PATCH_BANK[name];
    const { height: h, width: w } = crop;
    const out = new Uint8Array(h * w * 3);
    cropFace(img, lm, { crop, out });
    const s = (w / 47) * spec.zoom;
    let maxErr = 0;
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        // The template point crop pixel (i, j) shows.
        const tx = (j - (w - 1) / 2) / s + spec.cx;
        const ty = (i - (h - 1) / 2) / s + spec.cy;
        const k = (i * w + j) * 3;
        maxErr = Math.max(
          maxErr,
          Math.abs(out[k] - (2 * tx + ox)),
          Math.abs(out[k + 1] - (2 * ty + oy)),
        );
      }
    }
    assert.ok(maxErr <= 1, `${name} (${h}x${w}): max error ${maxErr}`);
  }
  // The left-eye patch is centred on the left eye landmark (14, 19).
  const crop = patchCrop("left_eye");
  assert.deepEqual([crop.height, crop.width], [47, 47]);
  const out = new Uint8Array(47 * 47 * 3);
  cropFace(img, lm, { crop, out });
  const centre = (23 * 47 + 23) * 3;
  assert.deepEqual([out[centre], out[centre + 1]], [2 * 14 + ox, 2 * 19 + oy]);
  // The whole face in RGB is the default crop itself (same cache, same models).
  assert.deepEqual(patchCrop("face"), DEFAULT_CROP);
  assert.equal(patchCrop("face_gray").gray, true);
  assert.throws(() => patchCrop("ear"), /unknown patch "ear"/);
});

Deno.test("patches: the flipped face is the mirrored crop", () => {
  const img = ramp(140, 160);
  const lm = TEMPLATE_55X47.map((v, i) => 2 * v + (i % 2 === 0 ? 10 : 20));
  const crop = patchCrop("left_half");
  const out = new Uint8Array(55 * 47 * 3);
  cropFace(img, lm, { crop, out });
  const set = {
    images: out,
    shape: [55, 47, 3] as [number, number, number],
    labels: Int32Array.from([0]),
    identities: ["a"],
    paths: ["a.png"],
  };
  const m = mirrored(set);
  for (let i = 0; i < 55; i++) {
    for (let j = 0; j < 47; j++) {
      for (let c = 0; c < 3; c++) {
        assert.equal(
          m.images[(i * 47 + j) * 3 + c],
          out[(i * 47 + 46 - j) * 3 + c],
        );
      }
    }
  }
  // R is the image x: it now falls from left to right.
  assert.ok(m.images[0] > m.images[46 * 3]);
  assert.deepEqual(mirrored(m).images, out, "mirroring twice is the identity");
  assert.equal(m.labels, set.labels);
});
