/**
 * A small software rasteriser for the procedural face renderer
 * (datasets/synthfaces.ts). It paints anti-aliased shapes — ellipses (with an
 * egg-shaped taper), bands between two curves, stroked polylines, rotated
 * boxes — into an RGB albedo buffer and a separate illumination buffer, then
 * composes `albedo x illumination x light colour` and adds blur and noise.
 *
 * Shapes are given in a frame: face coordinates (u right, v down; unit = the
 * nominal inter-ocular distance, origin between the eyes) mapped to pixels by
 * a similarity (scale, in-plane rotation, translation). Coverage comes from an
 * approximate signed distance (implicit value / gradient length, Taubin 1994),
 * so edges are anti-aliased at one pixel or feathered wider on request.
 *
 * @module
 */

/** Face coordinates -> pixels: x = s (c u - n v) + tx, y = s (n u + c v) + ty. */
export interface Frame {
  /** Pixels per face unit. */
  s: number;
  /** In-plane rotation (radians). */
  rot: number;
  tx: number;
  ty: number;
}

/** Colour, linear 0..1 per channel. */
export type Rgb = readonly [number, number, number];

/** How a shape is painted. */
export interface Paint {
  color: Rgb;
  /** Opacity 0..1 (default 1). */
  alpha?: number;
  /** Extra edge softness in face units (default 0: a 1-pixel edge). */
  feather?: number;
  /**
   * Write sphere shading into the illumination buffer: the shape is treated
   * as a bulging surface whose normal follows the ellipse; value = strength
   * of the relief (0..1). Only for ellipses.
   */
  sphere?: number;
  /** Multiply the illumination buffer by `shadow` instead of painting colour. */
  shadow?: number;
  /** Texture: amplitude of value noise on the albedo (0 = none). */
  tex?: number;
  /** Texture frequency along u and v (cycles per face unit). */
  texFreq?: readonly [number, number];
  /** Texture seed. */
  texSeed?: number;
}

/** Scene lighting used by sphere shading. */
export interface Light {
  /** Unit direction towards the light, image axes (x right, y down, z to viewer). */
  dir: readonly [number, number, number];
  ambient: number;
  diffuse: number;
}

/** An RGB albedo buffer plus an illumination buffer. */
export class Canvas {
  readonly w: number;
  readonly h: number;
  /** [h, w, 3] albedo. */
  readonly albedo: Float32Array;
  /** [h, w] illumination factor. */
  readonly shade: Float32Array;
  light: Light = { dir: [0, 0, 1], ambient: 0.4, diffuse: 0.6 };

  constructor(w: number, h: number) {
    this.w = w;
    this.h = h;
    this.albedo = new Float32Array(w * h * 3);
    this.shade = new Float32Array(w * h).fill(1);
  }
}

/** The identity frame: face units are pixels. */
export const PIXEL_FRAME: Frame = { s: 1, rot: 0, tx: 0, ty: 0 };

/** Maps a face point to pixels. */
export function toPixel(f: Frame, u: number, v: number): [number, number] {
  const c = Math.cos(f.rot) * f.s, n = Math.sin(f.rot) * f.s;
  return [c * u - n * v + f.tx, n * u + c * v + f.ty];
}

function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}

/** Side of the tileable value-noise table. */
const NOISE_N = 256;
let noiseTable: Float32Array | null = null;

/** A 256x256 tileable table of smooth value noise in [0, 1), built once. */
function noiseTile(): Float32Array {
  if (noiseTable) return noiseTable;
  const g = 32, cell = NOISE_N / g;
  const lattice = new Float32Array(g * g);
  let st = 0x2545f491;
  for (let i = 0; i < lattice.length; i++) {
    st ^= st << 13, st ^= st >>> 17, st ^= st << 5;
    lattice[i] = (st >>> 0) / 4294967296;
  }
  const t = new Float32Array(NOISE_N * NOISE_N);
  for (let y = 0; y < NOISE_N; y++) {
    for (let x = 0; x < NOISE_N; x++) {
      // two octaves: coarse lattice plus a finer, weaker one
      let v = 0, amp = 1, tot = 0;
      for (const c of [cell, cell / 2]) {
        const gx = x / c, gy = y / c, n = NOISE_N / c;
        const x0 = Math.floor(gx), y0 = Math.floor(gy);
        let fx = gx - x0, fy = gy - y0;
        fx = fx * fx * (3 - 2 * fx), fy = fy * fy * (3 - 2 * fy);
        const L = (i: number, j: number) =>
          lattice[
            ((j % n) * 7 + (i % n) * 13 + (c === cell ? 0 : 5)) % lattice.length
          ];
        const a = L(x0, y0),
          b = L(x0 + 1, y0),
          cc = L(x0, y0 + 1),
          d = L(x0 + 1, y0 + 1);
        v += amp *
          (a + (b - a) * fx + (cc - a) * fy + (a - b - cc + d) * fx * fy);
        tot += amp;
        amp *= 0.5;
      }
      t[y * NOISE_N + x] = v / tot;
    }
  }
  noiseTable = t;
  return t;
}

/**
 * Smooth value noise in [0, 1) at (x, y) (one lattice cell = 8 units), from
 * the shared table; `seed` shifts the sampling window.
 */
export function valueNoise(x: number, y: number, seed: number): number {
  const t = noiseTile();
  const ox = (seed * 37) & 255, oy = (seed * 91) & 255;
  const gx = x + ox, gy = y + oy;
  const x0 = Math.floor(gx), y0 = Math.floor(gy);
  const fx = gx - x0, fy = gy - y0;
  const xa = x0 & 255,
    xb = (x0 + 1) & 255,
    ya = (y0 & 255) * NOISE_N,
    yb = ((y0 + 1) & 255) * NOISE_N;
  const a = t[ya + xa], b = t[ya + xb], c = t[yb + xa], d = t[yb + xb];
  return a + (b - a) * fx + (c - a) * fy + (a - b - c + d) * fx * fy;
}

/** A Paint with every field present (one hidden class for the hot loops). */
class Ink {
  r: number;
  g: number;
  b: number;
  alpha: number;
  feather: number;
  sphere: number;
  /** Shadow factor, or -1 when painting colour. */
  shadow: number;
  tex: number;
  tfu: number;
  tfv: number;
  seed: number;
  constructor(p: Paint) {
    this.r = p.color[0];
    this.g = p.color[1];
    this.b = p.color[2];
    this.alpha = p.alpha ?? 1;
    this.feather = p.feather ?? 0;
    this.sphere = p.sphere ?? 0;
    this.shadow = p.shadow ?? -1;
    this.tex = p.tex ?? 0;
    this.tfu = (p.texFreq ?? [20, 20])[0] * 8;
    this.tfv = (p.texFreq ?? [20, 20])[1] * 8;
    this.seed = p.texSeed ?? 1;
  }
}

interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** Pixel bounding box of face-space points, padded, clipped to the canvas. */
function pixelBox(
  cv: Canvas,
  f: Frame,
  pts: readonly number[],
  pad: number,
): Box | null {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (let i = 0; i < pts.length; i += 2) {
    const [x, y] = toPixel(f, pts[i], pts[i + 1]);
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
  }
  const p = pad * f.s + 2;
  const b = {
    x0: Math.max(0, Math.floor(x0 - p)),
    y0: Math.max(0, Math.floor(y0 - p)),
    x1: Math.min(cv.w - 1, Math.ceil(x1 + p)),
    y1: Math.min(cv.h - 1, Math.ceil(y1 + p)),
  };
  return b.x0 > b.x1 || b.y0 > b.y1 ? null : b;
}

/** Blends one pixel: colour (with texture) or shadow. */
function blend(
  albedo: Float32Array,
  shade: Float32Array,
  idx: number,
  a: number,
  p: Ink,
  texVal: number,
): void {
  if (p.shadow >= 0) {
    shade[idx] *= 1 - a * (1 - p.shadow);
    return;
  }
  const k = idx * 3;
  const t = 1 + texVal;
  albedo[k] += (p.r * t - albedo[k]) * a;
  albedo[k + 1] += (p.g * t - albedo[k + 1]) * a;
  albedo[k + 2] += (p.b * t - albedo[k + 2]) * a;
}

/** An ellipse in face space; `taper` narrows its lower half (egg / chin). */
export interface Ellipse {
  cu: number;
  cv: number;
  /** Semi-axes. */
  ru: number;
  rv: number;
  /** Rotation in the face frame (radians). */
  rot?: number;
  /** Lower-half narrowing: half-width x (1 - taper * y^jaw), y = v / rv > 0. */
  taper?: number;
  /** Exponent of the taper: 2 = pointed chin, 4+ = square jaw. */
  jaw?: number;
  /** Upper-half widening (negative) or narrowing: half-width x (1 - taperTop y^2), y < 0. */
  taperTop?: number;
  /** Paint only the outline, this thick (face units). */
  ring?: number;
  /** Keep only the part with local v/rv >= clipTop (-1..1): a lower cap. */
  clipTop?: number;
  /** Keep only the part with local v/rv <= clipBottom. */
  clipBottom?: number;
  /**
   * Keep only the part with local v <= below(u): a curve sampled at equal
   * steps over local u in [-ru, ru] (a hairline, the top of a beard...).
   */
  below?: readonly number[];
  /** Keep only the part with local v >= above(u), sampled like `below`. */
  above?: readonly number[];
}

/** Paints an ellipse. */
export function fillEllipse(
  cv: Canvas,
  f: Frame,
  e: Ellipse,
  p: Paint,
): void {
  const rot = e.rot ?? 0;
  const cr = Math.cos(rot), sr = Math.sin(rot);
  const ink = new Ink(p);
  const pad = ink.feather + (e.ring ?? 0);
  const pts: number[] = [];
  for (const [a, b] of [[-1, -1], [1, -1], [1, 1], [-1, 1]]) {
    const lu = a * e.ru, lv = b * e.rv;
    pts.push(e.cu + cr * lu - sr * lv, e.cv + sr * lu + cr * lv);
  }
  const box = pixelBox(cv, f, pts, pad);
  if (!box) return;
  const px = 1 / f.s; // face units per pixel
  const soft = ink.feather + px;
  const alpha = ink.alpha;
  const taper = e.taper ?? 0, jaw = e.jaw ?? 2, taperTop = e.taperTop ?? 0;
  const ring = e.ring ?? 0;
  const clipTop = e.clipTop ?? -2, clipBottom = e.clipBottom ?? 2;
  const below = e.below, above = e.above;
  const sphere = ink.sphere;
  const L = cv.light;
  // light direction in the ellipse's local frame
  const tr = f.rot + rot;
  const lx = Math.cos(tr) * L.dir[0] + Math.sin(tr) * L.dir[1];
  const ly = -Math.sin(tr) * L.dir[0] + Math.cos(tr) * L.dir[1];
  const lz = L.dir[2];
  const amb = L.ambient, dif = L.diffuse;
  const tex = ink.tex, tfu = ink.tfu, tfv = ink.tfv, tseed = ink.seed;
  const albedo = cv.albedo, shade = cv.shade, W = cv.w;
  const ru2 = e.ru, rv2 = e.rv;
  // pixel -> ellipse-local is one similarity: l = px R(-T) (p - t) - R(-rot) c
  const cT = Math.cos(tr), sT = Math.sin(tr);
  const ou = cr * e.cu + sr * e.cv, ov = -sr * e.cu + cr * e.cv;
  // row spans from the enclosing ellipse (margin m) in pixel space
  const m = pad + soft + px + (taperTop < 0 ? -taperTop * ru2 : 0);
  const ea = (ru2 + m) * f.s, eb = (rv2 + m) * f.s;
  const [xc, yc] = toPixel(f, e.cu, e.cv);
  const qa = cT * cT / (ea * ea) + sT * sT / (eb * eb);
  const qb = 2 * cT * sT * (1 / (ea * ea) - 1 / (eb * eb));
  const qc = sT * sT / (ea * ea) + cT * cT / (eb * eb);
  for (let y = box.y0; y <= box.y1; y++) {
    const ry = y - yc;
    const disc = qb * qb * ry * ry - 4 * qa * (qc * ry * ry - 1);
    if (disc < 0) continue;
    const sq = Math.sqrt(disc);
    const xa = Math.max(
      box.x0,
      Math.floor(xc + (-qb * ry - sq) / (2 * qa)) - 1,
    );
    const xb = Math.min(box.x1, Math.ceil(xc + (-qb * ry + sq) / (2 * qa)) + 1);
    const dyp = (y - f.ty) * px;
    for (let x = xa; x <= xb; x++) {
      const dxp = (x - f.tx) * px;
      const lu = cT * dxp + sT * dyp - ou, lv = -sT * dxp + cT * dyp - ov;
      const ny = lv / rv2;
      let hw = ru2;
      if (taper !== 0 && ny > 0) {
        hw = ru2 * (1 - taper * (jaw === 2 ? ny * ny : Math.pow(ny, jaw)));
        if (hw < 1e-3) hw = 1e-3;
      } else if (taperTop !== 0 && ny < 0) {
        hw = ru2 * (1 - taperTop * ny * ny);
      }
      const nx = lu / hw;
      const g = nx * nx + ny * ny - 1;
      const gl = 2 * Math.sqrt(nx * nx / (hw * hw) + ny * ny / (rv2 * rv2)) +
        1e-9;
      let d = g / gl;
      if (ring > 0) d = Math.abs(d) - ring / 2;
      if (ny < clipTop) d = Math.max(d, (clipTop - ny) * rv2);
      if (ny > clipBottom) d = Math.max(d, (ny - clipBottom) * rv2);
      if (below || above) {
        const t = (lu + ru2) / (2 * ru2);
        if (below) d = Math.max(d, lv - sampleCurve(below, t));
        if (above) d = Math.max(d, sampleCurve(above, t) - lv);
      }
      const cov = clamp01(0.5 - d / soft);
      if (cov <= 0) continue;
      const a = cov * alpha;
      const idx = y * W + x;
      const tv = tex !== 0
        ? tex * (valueNoise(lu * tfu, lv * tfv, tseed) - 0.5)
        : 0;
      blend(albedo, shade, idx, a, ink, tv);
      if (sphere > 0) {
        const r2 = nx * nx + ny * ny;
        const nz = r2 < 1 ? Math.sqrt(1 - r2) : 0;
        // flatten the normal towards the viewer by (1 - sphere)
        let sx = nx * sphere, sy = ny * sphere, sz = nz * sphere + 1 - sphere;
        const nl = Math.sqrt(sx * sx + sy * sy + sz * sz) + 1e-9;
        sx /= nl, sy /= nl, sz /= nl;
        const lam = sx * lx + sy * ly + sz * lz;
        const sh = amb + dif * (lam > 0 ? lam : 0);
        shade[idx] += (sh - shade[idx]) * a;
      }
    }
  }
}

/**
 * A region between two curves over u in [u0, u1] of a local frame centred at
 * (cu, cv) and rotated by `rot`: top(u) <= v <= bottom(u). Curves are sampled
 * at equal steps (linear interpolation between samples).
 */
export interface Band {
  cu: number;
  cv: number;
  rot?: number;
  u0: number;
  u1: number;
  top: readonly number[];
  bottom: readonly number[];
}

function sampleCurve(c: readonly number[], t: number): number {
  const n = c.length - 1;
  const x = t * n;
  const i = x <= 0 ? 0 : x >= n ? n - 1 : Math.floor(x);
  const fr = x - i;
  return c[i] + (c[i + 1] - c[i]) * fr;
}

/** Paints a band between two curves. */
export function fillBand(cv: Canvas, f: Frame, b: Band, p: Paint): void {
  const rot = b.rot ?? 0;
  const cr = Math.cos(rot), sr = Math.sin(rot);
  let vmin = Infinity, vmax = -Infinity;
  for (const v of b.top) vmin = Math.min(vmin, v);
  for (const v of b.bottom) vmax = Math.max(vmax, v);
  const pts: number[] = [];
  for (
    const [lu, lv] of [[b.u0, vmin], [b.u1, vmin], [b.u1, vmax], [b.u0, vmax]]
  ) {
    pts.push(b.cu + cr * lu - sr * lv, b.cv + sr * lu + cr * lv);
  }
  const ink = new Ink(p);
  const box = pixelBox(cv, f, pts, ink.feather);
  if (!box) return;
  const px = 1 / f.s;
  const soft = ink.feather + px;
  const alpha = ink.alpha;
  const fc = Math.cos(f.rot), fs = Math.sin(f.rot);
  const span = b.u1 - b.u0;
  const tex = ink.tex, tfu = ink.tfu, tfv = ink.tfv, tseed = ink.seed;
  const albedo = cv.albedo, shade = cv.shade, W = cv.w;
  const top = b.top, bottom = b.bottom;
  for (let y = box.y0; y <= box.y1; y++) {
    for (let x = box.x0; x <= box.x1; x++) {
      const dx = (x - f.tx) * px, dy = (y - f.ty) * px;
      const fu = fc * dx + fs * dy, fv = -fs * dx + fc * dy;
      const qu = fu - b.cu, qv = fv - b.cv;
      const lu = cr * qu + sr * qv, lv = -sr * qu + cr * qv;
      const t = (lu - b.u0) / span;
      const tp = sampleCurve(top, t), bt = sampleCurve(bottom, t);
      let d = Math.max(tp - lv, lv - bt);
      d = Math.max(d, b.u0 - lu, lu - b.u1);
      const cov = clamp01(0.5 - d / soft);
      if (cov <= 0) continue;
      const tv = tex !== 0
        ? tex * (valueNoise(lu * tfu, lv * tfv, tseed) - 0.5)
        : 0;
      blend(albedo, shade, y * W + x, cov * alpha, ink, tv);
    }
  }
}

/**
 * Strokes a polyline in face space; `widths` (one per point, face units) are
 * interpolated along each segment, so strokes can taper.
 */
export function strokePolyline(
  cv: Canvas,
  f: Frame,
  pts: readonly number[],
  widths: readonly number[],
  p: Paint,
): void {
  const wmax = Math.max(...widths);
  const ink = new Ink(p);
  const box = pixelBox(cv, f, pts, wmax / 2 + ink.feather);
  if (!box) return;
  const px = 1 / f.s;
  const soft = ink.feather + px;
  const alpha = ink.alpha;
  const fc = Math.cos(f.rot), fs = Math.sin(f.rot);
  const n = pts.length / 2;
  const tex = ink.tex, tfu = ink.tfu, tfv = ink.tfv, tseed = ink.seed;
  const albedo = cv.albedo, shade = cv.shade, W = cv.w;
  const P = Float64Array.from(pts), Wd = Float64Array.from(widths);
  for (let y = box.y0; y <= box.y1; y++) {
    for (let x = box.x0; x <= box.x1; x++) {
      const dx = (x - f.tx) * px, dy = (y - f.ty) * px;
      const fu = fc * dx + fs * dy, fv = -fs * dx + fc * dy;
      let d = Infinity;
      for (let i = 0; i < n - 1; i++) {
        const ax = P[2 * i], ay = P[2 * i + 1];
        const bx = P[2 * i + 2] - ax, by = P[2 * i + 3] - ay;
        const l2 = bx * bx + by * by + 1e-12;
        let t = ((fu - ax) * bx + (fv - ay) * by) / l2;
        t = t < 0 ? 0 : t > 1 ? 1 : t;
        const ex = fu - ax - t * bx, ey = fv - ay - t * by;
        const w = Wd[i] + (Wd[i + 1] - Wd[i]) * t;
        const di = Math.sqrt(ex * ex + ey * ey) - w / 2;
        if (di < d) d = di;
      }
      const cov = clamp01(0.5 - d / soft);
      if (cov <= 0) continue;
      const tv = tex !== 0
        ? tex * (valueNoise(fu * tfu, fv * tfv, tseed) - 0.5)
        : 0;
      blend(albedo, shade, y * W + x, cov * alpha, ink, tv);
    }
  }
}

/** Points of a quadratic Bezier curve (p0, control p1, p2), `n` segments. */
export function quadPoints(
  p0: readonly [number, number],
  p1: readonly [number, number],
  p2: readonly [number, number],
  n = 8,
): number[] {
  const out: number[] = [];
  for (let i = 0; i <= n; i++) {
    const t = i / n, a = (1 - t) * (1 - t), b = 2 * (1 - t) * t, c = t * t;
    out.push(
      a * p0[0] + b * p1[0] + c * p2[0],
      a * p0[1] + b * p1[1] + c * p2[1],
    );
  }
  return out;
}

/** Fills the whole canvas with a vertical gradient from `top` to `bottom`. */
export function fillGradient(cv: Canvas, top: Rgb, bottom: Rgb): void {
  const al = cv.albedo;
  for (let y = 0; y < cv.h; y++) {
    const t = y / Math.max(1, cv.h - 1);
    const r = top[0] + (bottom[0] - top[0]) * t;
    const g = top[1] + (bottom[1] - top[1]) * t;
    const b = top[2] + (bottom[2] - top[2]) * t;
    for (let x = 0, k = y * cv.w * 3; x < cv.w; x++, k += 3) {
      al[k] = r, al[k + 1] = g, al[k + 2] = b;
    }
  }
}

/** Sets the whole illumination buffer to a horizontal ramp from `left` to `right`. */
export function fillShade(cv: Canvas, left: number, right: number): void {
  for (let y = 0; y < cv.h; y++) {
    for (let x = 0; x < cv.w; x++) {
      cv.shade[y * cv.w + x] = left +
        (right - left) * x / Math.max(1, cv.w - 1);
    }
  }
}

/** Options for {@linkcode compose}. */
export interface ComposeOptions {
  /** Light colour multiplier per channel. */
  lightColor: Rgb;
  /** Exposure multiplier. */
  exposure: number;
  /** Contrast about mid-gray (1 = unchanged). */
  contrast: number;
  /** 0 = colour, 1 = fully desaturated (a gray photo). */
  desaturate: number;
  /** Box-blur radius in pixels (0 = none; fractional radii blend). */
  blur: number;
  /** Gaussian-ish noise standard deviation, 0..255 scale. */
  noise: number;
  /** Seed of the noise. */
  seed: number;
}

/** Separable box blur of integer radius r on a [h, w, 3] buffer (running sums). */
function boxBlur(buf: Float32Array, w: number, h: number, r: number): void {
  const n = Math.max(w, h);
  const line = new Float32Array(n * 3), out = new Float32Array(n * 3);
  const norm = 1 / (2 * r + 1);
  const pass = (len: number, base: number, stride: number) => {
    for (let i = 0; i < len; i++) {
      const k = base + i * stride;
      line[i * 3] = buf[k],
        line[i * 3 + 1] = buf[k + 1],
        line[i * 3 + 2] = buf[k + 2];
    }
    let s0 = 0, s1 = 0, s2 = 0;
    for (let k = -r; k <= r; k++) {
      const j = (k < 0 ? 0 : k >= len ? len - 1 : k) * 3;
      s0 += line[j], s1 += line[j + 1], s2 += line[j + 2];
    }
    for (let i = 0; i < len; i++) {
      out[i * 3] = s0 * norm,
        out[i * 3 + 1] = s1 * norm,
        out[i * 3 + 2] = s2 * norm;
      const add = (i + r + 1 >= len ? len - 1 : i + r + 1) * 3;
      const sub = (i - r < 0 ? 0 : i - r) * 3;
      s0 += line[add] - line[sub];
      s1 += line[add + 1] - line[sub + 1];
      s2 += line[add + 2] - line[sub + 2];
    }
    for (let i = 0; i < len; i++) {
      const k = base + i * stride;
      buf[k] = out[i * 3],
        buf[k + 1] = out[i * 3 + 1],
        buf[k + 2] = out[i * 3 + 2];
    }
  };
  for (let y = 0; y < h; y++) pass(w, y * w * 3, 3);
  for (let x = 0; x < w; x++) pass(h, x * 3, w * 3);
}

/**
 * Composes albedo x illumination x light colour, applies exposure, contrast,
 * desaturation, blur and noise, and returns [h, w, 3] uint8 sRGB-ish pixels.
 */
export function compose(cv: Canvas, o: ComposeOptions): Uint8Array {
  const n = cv.w * cv.h;
  const buf = new Float32Array(n * 3);
  const [lr, lg, lb] = o.lightColor;
  const shade = cv.shade, al = cv.albedo;
  const exposure = o.exposure, desat = o.desaturate, contrast = o.contrast;
  const off = 0.5 - 0.5 * contrast;
  for (let i = 0; i < n; i++) {
    const s = shade[i] * exposure;
    const k = 3 * i;
    let r = al[k] * s * lr;
    let g = al[k + 1] * s * lg;
    let b = al[k + 2] * s * lb;
    if (desat > 0) {
      const y = 0.299 * r + 0.587 * g + 0.114 * b;
      r += (y - r) * desat;
      g += (y - g) * desat;
      b += (y - b) * desat;
    }
    buf[k] = r * contrast + off;
    buf[k + 1] = g * contrast + off;
    buf[k + 2] = b * contrast + off;
  }
  if (o.blur > 0) {
    const r = Math.ceil(o.blur);
    const blurred = buf.slice();
    boxBlur(blurred, cv.w, cv.h, r);
    const t = o.blur / r; // fractional radius: blend towards the blurred copy
    for (let i = 0; i < buf.length; i++) buf[i] += (blurred[i] - buf[i]) * t;
  }
  const out = new Uint8Array(n * 3);
  const table = normalTable();
  let pos = (o.seed >>> 0) & NORMAL_MASK;
  const step = (((o.seed >>> 12) & 1023) << 1) + 1; // odd: visits every entry
  const sigma = o.noise / 255;
  const len = buf.length;
  if (sigma > 0) {
    for (let i = 0; i < len; i++) {
      buf[i] += table[pos] * sigma;
      pos = (pos + step) & NORMAL_MASK;
    }
  }
  for (let i = 0; i < len; i++) {
    const q = (buf[i] * 255 + 0.5) | 0;
    out[i] = q < 0 ? 0 : q > 255 ? 255 : q;
  }
  return out;
}

const NORMAL_MASK = (1 << 16) - 1;
let normals: Float32Array | null = null;

/** 65536 standard normal samples (fixed seed), built once, for pixel noise. */
function normalTable(): Float32Array {
  if (normals) return normals;
  const t = new Float32Array(NORMAL_MASK + 1);
  let st = 0x1b873593;
  const u = () => {
    st ^= st << 13, st ^= st >>> 17, st ^= st << 5;
    return ((st >>> 0) + 0.5) / 4294967296;
  };
  for (let i = 0; i < t.length; i++) {
    t[i] = Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  }
  normals = t;
  return t;
}
