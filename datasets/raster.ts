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
 * Speed without changing a bit: each pixel's value comes from the same
 * floating-point operations in the same order as the plain per-pixel
 * formulas (terms constant along a row or column are computed once; float32
 * roundings happen where the float32 buffers always rounded), and pixels
 * are skipped only where a bound, with 2 pixels of slack, shows they cannot
 * be covered (each row's span of a stroke, a band, an ellipse's clip or
 * curve). Work buffers are reused between photos.
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

const EMPTY = new Float32Array(0);
const scratchBuffers: Float64Array[] = [];

/** Reusable per-call buffer `slot` of at least `n` doubles (no allocation per shape). */
function scratch(slot: number, n: number): Float64Array {
  let b = scratchBuffers[slot];
  if (!b || b.length < n) b = scratchBuffers[slot] = new Float64Array(n * 2);
  return b;
}

const scratch32Buffers: Float32Array[] = [];

/** Reusable float32 work buffer `slot`, exactly `n` long (a view). */
function scratch32(slot: number, n: number): Float32Array {
  let b = scratch32Buffers[slot];
  if (!b || b.length < n) b = scratch32Buffers[slot] = new Float32Array(n);
  return b.subarray(0, n);
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
  // Per-pixel arithmetic below is the original expression for expression
  // (same operations in the same order, so the same doubles): only values
  // that do not change along a row or a column are computed once.
  const x0 = box.x0, nCols = box.x1 - x0 + 1;
  const colU = scratch(0, nCols), colV = scratch(1, nCols);
  for (let k = 0; k < nCols; k++) {
    const dxp = (x0 + k - f.tx) * px;
    colU[k] = cT * dxp;
    colV[k] = -sT * dxp;
  }
  const hw0sq = ru2 * ru2, rvsq = rv2 * rv2;
  const hasTaper = taper !== 0, hasTop = taperTop !== 0;
  const jaw2 = jaw === 2;
  const curves = below !== undefined || above !== undefined;
  // Deep inside (r2 <= inner, within the clips) the coverage is exactly 1
  // and its distance need not be computed: see interiorBound.
  const interior = !(ring > 0) && !curves;
  const inner0 = interiorBound(ru2, rv2, soft, interior);
  const shadow = ink.shadow >= 0, keep = 1 - ink.shadow;
  const cr0 = ink.r, cg0 = ink.g, cb0 = ink.b;
  const noise = tex !== 0 ? noiseTile() : EMPTY;
  const nox = (tseed * 37) & 255, noy = (tseed * 91) & 255;
  // Clips and curves bound local v where coverage can be positive: d is at
  // least each of their terms and a pixel paints only when d < soft / 2. A
  // hair cap kept above its hairline skips the rows below it. `lo`, `hi`
  // carry 2 pixels of slack, far more than any rounding.
  const half = soft / 2, slack = 2 * px;
  const slab = clipTop > -2 || clipBottom < 2 || curves;
  let lo = clipTop * rv2 - half - slack, hi = clipBottom * rv2 + half + slack;
  if (curves) {
    // t beyond [0, 1]: rows reach |lu| <= ru2 + m + 2 pixels
    const over = (m + 3 * px) / (2 * ru2);
    if (below) hi = Math.min(hi, curveBound(below, over, 1) + half + slack);
    if (above) lo = Math.max(lo, curveBound(above, over, -1) - half - slack);
  }
  for (let y = box.y0; y <= box.y1; y++) {
    const ry = y - yc;
    const disc = qb * qb * ry * ry - 4 * qa * (qc * ry * ry - 1);
    if (disc < 0) continue;
    const sq = Math.sqrt(disc);
    let xa = Math.max(
      box.x0,
      Math.floor(xc + (-qb * ry - sq) / (2 * qa)) - 1,
    );
    let xb = Math.min(box.x1, Math.ceil(xc + (-qb * ry + sq) / (2 * qa)) + 1);
    const dyp = (y - f.ty) * px;
    const rowU = sT * dyp, rowV = cT * dyp;
    const rowIdx = y * W;
    if (slab && xa <= xb) {
      // local v is linear along the row: keep the part within [lo, hi]
      const la = colV[xa - x0] + rowV - ov, lb = colV[xb - x0] + rowV - ov;
      if (Number.isFinite(la) && Number.isFinite(lb)) {
        if (la === lb) {
          if (la < lo || la > hi) continue;
        } else {
          let s0 = (lo - la) / (lb - la), s1 = (hi - la) / (lb - la);
          if (s0 > s1) [s0, s1] = [s1, s0];
          if (s0 < 0) s0 = 0;
          if (s1 > 1) s1 = 1;
          if (!(s0 <= s1)) continue;
          const span = xb - xa;
          const na = Math.floor(xa + s0 * span) - 1;
          const nb = Math.ceil(xa + s1 * span) + 1;
          if (na > xa) xa = na;
          if (nb < xb) xb = nb;
        }
      }
    }
    for (let x = xa; x <= xb; x++) {
      const lu = colU[x - x0] + rowU - ou, lv = colV[x - x0] + rowV - ov;
      const ny = lv / rv2;
      let hw = ru2, hwsq = hw0sq, inner = inner0;
      if (hasTaper && ny > 0) {
        hw = ru2 * (1 - taper * (jaw2 ? ny * ny : Math.pow(ny, jaw)));
        if (hw < 1e-3) hw = 1e-3;
        hwsq = hw * hw;
        inner = interiorBound(hw, rv2, soft, interior);
      } else if (hasTop && ny < 0) {
        hw = ru2 * (1 - taperTop * ny * ny);
        hwsq = hw * hw;
        inner = interiorBound(hw, rv2, soft, interior);
      }
      const nx = lu / hw;
      const r2 = nx * nx + ny * ny;
      let cov = 1;
      if (!(r2 <= inner && ny >= clipTop && ny <= clipBottom)) {
        const g = r2 - 1;
        const gl = 2 * Math.sqrt(nx * nx / hwsq + ny * ny / rvsq) + 1e-9;
        let d = g / gl;
        if (ring > 0) d = Math.abs(d) - ring / 2;
        if (ny < clipTop) d = Math.max(d, (clipTop - ny) * rv2);
        if (ny > clipBottom) d = Math.max(d, (ny - clipBottom) * rv2);
        if (curves) {
          const t = (lu + ru2) / (2 * ru2);
          if (below) d = Math.max(d, lv - sampleCurve(below, t));
          if (above) d = Math.max(d, sampleCurve(above, t) - lv);
        }
        cov = clamp01(0.5 - d / soft);
        if (cov <= 0) continue;
      }
      const a = cov * alpha;
      const idx = rowIdx + x;
      if (shadow) {
        shade[idx] *= 1 - a * keep;
      } else {
        // valueNoise (inlined): the same lookups and blends
        let tv = 0;
        if (tex !== 0) {
          const gx = lu * tfu + nox, gy = lv * tfv + noy;
          const ix = Math.floor(gx), iy = Math.floor(gy);
          const fx = gx - ix, fy = gy - iy;
          const xa = ix & 255, xb = (ix + 1) & 255;
          const ya = (iy & 255) * NOISE_N, yb = ((iy + 1) & 255) * NOISE_N;
          const na = noise[ya + xa], nb = noise[ya + xb];
          const nc = noise[yb + xa], nd = noise[yb + xb];
          tv = tex *
            (na + (nb - na) * fx + (nc - na) * fy +
              (na - nb - nc + nd) * fx * fy - 0.5);
        }
        const k = idx * 3;
        const t = 1 + tv;
        albedo[k] += (cr0 * t - albedo[k]) * a;
        albedo[k + 1] += (cg0 * t - albedo[k + 1]) * a;
        albedo[k + 2] += (cb0 * t - albedo[k + 2]) * a;
      }
      if (sphere > 0) {
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

/**
 * The r2 = (u / hw)^2 + (v / rv)^2 below which an ellipse pixel's coverage
 * is exactly 1, or -Infinity (never) for rings and curve-cut shapes. With
 * g = r2 - 1 and gl = 2 sqrt(u^2 / hw^4 + v^2 / rv^4) + 1e-9 <= 2 / m + 1e-9
 * (m = min(hw, rv), r2 <= 1), d = g / gl <= -soft / 2 once
 * 1 - r2 >= soft / m + 1e-6, so 0.5 - d / soft >= 1 and clamp01 gives 1;
 * the 1e-6 is far above rounding (1e-16 relative).
 */
function interiorBound(
  hw: number,
  rv: number,
  soft: number,
  interior: boolean,
): number {
  const m = hw < rv ? hw : rv;
  return interior && m > 0 ? 1 - soft / m - 1e-6 : -Infinity;
}

/**
 * An upper (`side` 1) or lower (-1) bound of {@linkcode sampleCurve} over t
 * in [-over, 1 + over]: the samples' extreme, widened by the steepest end
 * segment's linear extrapolation over `over`.
 */
function curveBound(c: readonly number[], over: number, side: 1 | -1): number {
  const n = c.length - 1;
  let v = side > 0 ? -Infinity : Infinity;
  for (const x of c) v = side > 0 ? Math.max(v, x) : Math.min(v, x);
  if (n < 1) return v;
  const slope = Math.max(Math.abs(c[1] - c[0]), Math.abs(c[n] - c[n - 1]));
  return v + side * slope * n * over;
}

function sampleCurve(c: readonly number[], t: number): number {
  const n = c.length - 1;
  const x = t * n;
  const i = x <= 0 ? 0 : x >= n ? n - 1 : Math.floor(x);
  const fr = x - i;
  return c[i] + (c[i + 1] - c[i]) * fr;
}

/**
 * The x range, widened by `r`, of the parts of segments `seg` (pixel
 * coordinates, [x0, y0, x1, y1] per segment) that lie within rows
 * [y - r, y + r], clipped to `box`; `[lo, hi]` in `out`, lo > hi when none.
 * Every point within `r` pixels of a segment, or inside a convex polygon
 * whose edges these are, lies in this range on its row: shapes paint only
 * there, so their pixels outside it need no evaluation.
 */
function stripSpan(
  seg: Float64Array,
  count: number,
  y: number,
  r: number,
  box: Box,
  out: Float64Array,
): void {
  let lo = Infinity, hi = -Infinity;
  const ylo = y - r, yhi = y + r;
  for (let k = 0; k < count; k++) {
    const ax = seg[4 * k], ay = seg[4 * k + 1];
    const bx = seg[4 * k + 2], by = seg[4 * k + 3];
    let t0 = 0, t1 = 1;
    const dy = by - ay;
    if (dy === 0) {
      if (ay < ylo || ay > yhi) continue;
    } else {
      let ta = (ylo - ay) / dy, tb = (yhi - ay) / dy;
      if (ta > tb) {
        const s = ta;
        ta = tb, tb = s;
      }
      if (ta > t0) t0 = ta;
      if (tb < t1) t1 = tb;
      if (t0 > t1) continue;
    }
    const xa = ax + (bx - ax) * t0, xb = ax + (bx - ax) * t1;
    if (xa < lo) lo = xa;
    if (xb < lo) lo = xb;
    if (xa > hi) hi = xa;
    if (xb > hi) hi = xb;
  }
  out[0] = Math.max(box.x0, Math.floor(lo - r));
  out[1] = Math.min(box.x1, Math.ceil(hi + r));
}

const spanOut = new Float64Array(2);

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
  // Where coverage can be positive (d < soft / 2): u within soft / 2 of
  // [u0, u1], and v within soft / 2 of the curves, which there stay within
  // their samples' range or its linear extrapolation over that soft / 2.
  const half = soft / 2;
  const over = span > 0 ? half / span : Infinity; // t beyond [0, 1]
  const reach = (c: readonly number[], end: number, next: number) =>
    Math.abs(c[next] - c[end]) * (c.length - 1) * over;
  const nt = top.length - 1, nb = bottom.length - 1;
  const lo = Math.min(vmin - reach(top, 0, 1), vmin - reach(top, nt, nt - 1)) -
    half;
  const hi = Math.max(
    vmax + reach(bottom, 0, 1),
    vmax + reach(bottom, nb, nb - 1),
  ) + half;
  const edges = scratch(2, 16);
  const corners = [
    [b.u0 - half, lo],
    [b.u1 + half, lo],
    [b.u1 + half, hi],
    [b.u0 - half, hi],
  ];
  const finite = Number.isFinite(lo) && Number.isFinite(hi) && span > 0;
  for (let k = 0; k < 4; k++) {
    const [u0, v0] = corners[k], [u1, v1] = corners[(k + 1) % 4];
    const a = toPixel(f, b.cu + cr * u0 - sr * v0, b.cv + sr * u0 + cr * v0);
    const c = toPixel(f, b.cu + cr * u1 - sr * v1, b.cv + sr * u1 + cr * v1);
    edges[4 * k] = a[0], edges[4 * k + 1] = a[1];
    edges[4 * k + 2] = c[0], edges[4 * k + 3] = c[1];
  }
  // Per-pixel arithmetic as before, expression for expression; only the
  // column and row terms of the frame mapping are computed once.
  const x0 = box.x0, nCols = box.x1 - x0 + 1;
  const colU = scratch(0, nCols), colV = scratch(1, nCols);
  for (let k = 0; k < nCols; k++) {
    const dx = (x0 + k - f.tx) * px;
    colU[k] = fc * dx;
    colV[k] = -fs * dx;
  }
  const bu0 = b.u0, bu1 = b.u1, bcu = b.cu, bcv = b.cv;
  for (let y = box.y0; y <= box.y1; y++) {
    let xa = box.x0, xb = box.x1;
    if (finite) {
      // 2 pixels of margin: far more than any rounding
      stripSpan(edges, 4, y, 2, box, spanOut);
      xa = spanOut[0], xb = spanOut[1];
    }
    const dy = (y - f.ty) * px;
    const rowU = fs * dy, rowV = fc * dy;
    for (let x = xa; x <= xb; x++) {
      const fu = colU[x - x0] + rowU, fv = colV[x - x0] + rowV;
      const qu = fu - bcu, qv = fv - bcv;
      const lu = cr * qu + sr * qv, lv = -sr * qu + cr * qv;
      const t = (lu - bu0) / span;
      const tp = sampleCurve(top, t), bt = sampleCurve(bottom, t);
      let d = Math.max(tp - lv, lv - bt);
      d = Math.max(d, bu0 - lu, lu - bu1);
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
  if (n < 2) return; // no segment: d stays Infinity, nothing is covered
  const tex = ink.tex, tfu = ink.tfu, tfv = ink.tfv, tseed = ink.seed;
  const albedo = cv.albedo, shade = cv.shade, W = cv.w;
  // Each segment's terms, as the per-pixel loop computed them.
  const nSeg = n - 1;
  const SA = scratch(2, nSeg * 7);
  const segPx = scratch(3, nSeg * 4);
  for (let i = 0; i < nSeg; i++) {
    const ax = pts[2 * i], ay = pts[2 * i + 1];
    const bx = pts[2 * i + 2] - ax, by = pts[2 * i + 3] - ay;
    SA[7 * i] = ax, SA[7 * i + 1] = ay, SA[7 * i + 2] = bx, SA[7 * i + 3] = by;
    SA[7 * i + 4] = bx * bx + by * by + 1e-12;
    SA[7 * i + 5] = widths[i];
    SA[7 * i + 6] = widths[i + 1] - widths[i];
    const a = toPixel(f, ax, ay),
      c = toPixel(f, pts[2 * i + 2], pts[2 * i + 3]);
    segPx[4 * i] = a[0], segPx[4 * i + 1] = a[1];
    segPx[4 * i + 2] = c[0], segPx[4 * i + 3] = c[1];
  }
  // A pixel farther than wmax / 2 + soft from every segment has d > soft / 2
  // and no coverage; 2 pixels of margin are far more than any rounding.
  const reach = (wmax / 2 + soft) * f.s + 2;
  const x0 = box.x0, nCols = box.x1 - x0 + 1;
  const colU = scratch(0, nCols), colV = scratch(1, nCols);
  for (let k = 0; k < nCols; k++) {
    const dx = (x0 + k - f.tx) * px;
    colU[k] = fc * dx;
    colV[k] = -fs * dx;
  }
  for (let y = box.y0; y <= box.y1; y++) {
    stripSpan(segPx, nSeg, y, reach, box, spanOut);
    const xa = spanOut[0], xb = spanOut[1];
    const dy = (y - f.ty) * px;
    const rowU = fs * dy, rowV = fc * dy;
    for (let x = xa; x <= xb; x++) {
      const fu = colU[x - x0] + rowU, fv = colV[x - x0] + rowV;
      let d = Infinity;
      for (let i = 0, q = 0; i < nSeg; i++, q += 7) {
        const ax = SA[q], ay = SA[q + 1], bx = SA[q + 2], by = SA[q + 3];
        let t = ((fu - ax) * bx + (fv - ay) * by) / SA[q + 4];
        t = t < 0 ? 0 : t > 1 ? 1 : t;
        const ex = fu - ax - t * bx, ey = fv - ay - t * by;
        const w = SA[q + 5] + SA[q + 6] * t;
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
  const al = cv.albedo, W3 = cv.w * 3;
  for (let y = 0; y < cv.h; y++) {
    const t = y / Math.max(1, cv.h - 1);
    const r = top[0] + (bottom[0] - top[0]) * t;
    const g = top[1] + (bottom[1] - top[1]) * t;
    const b = top[2] + (bottom[2] - top[2]) * t;
    const k0 = y * W3;
    al[k0] = r, al[k0 + 1] = g, al[k0 + 2] = b;
    // the row is one pixel repeated: double the filled part until full
    for (let done = 3; done < W3; done *= 2) {
      al.copyWithin(k0 + done, k0, k0 + Math.min(done, W3 - done));
    }
  }
}

/** Sets the whole illumination buffer to a horizontal ramp from `left` to `right`. */
export function fillShade(cv: Canvas, left: number, right: number): void {
  const sh = cv.shade, w = cv.w;
  for (let x = 0; x < w; x++) {
    sh[x] = left + (right - left) * x / Math.max(1, w - 1);
  }
  // every row is the first one
  for (let y = 1; y < cv.h; y++) sh.copyWithin(y * w, 0, w);
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

/**
 * Separable box blur of integer radius r on a [h, w, 3] buffer (running
 * sums, clamped at the borders), in place. Each row's and each column's
 * running sums take the same steps in the same order as a line-by-line
 * pass would; the column pass walks the rows with one sum per column, so
 * it reads memory in order.
 */
function boxBlur(buf: Float32Array, w: number, h: number, r: number): void {
  const norm = 1 / (2 * r + 1);
  const W3 = w * 3;
  const tmp = scratch32(0, buf.length);
  // rows: buf -> tmp
  for (let y = 0; y < h; y++) {
    const base = y * W3;
    let s0 = 0, s1 = 0, s2 = 0;
    for (let k = -r; k <= r; k++) {
      const j = base + (k < 0 ? 0 : k >= w ? w - 1 : k) * 3;
      s0 += buf[j], s1 += buf[j + 1], s2 += buf[j + 2];
    }
    for (let i = 0; i < w; i++) {
      const o = base + i * 3;
      tmp[o] = s0 * norm, tmp[o + 1] = s1 * norm, tmp[o + 2] = s2 * norm;
      const add = base + (i + r + 1 >= w ? w - 1 : i + r + 1) * 3;
      const sub = base + (i - r < 0 ? 0 : i - r) * 3;
      s0 += buf[add] - buf[sub];
      s1 += buf[add + 1] - buf[sub + 1];
      s2 += buf[add + 2] - buf[sub + 2];
    }
  }
  // columns: tmp -> buf, one running sum per column and channel
  const sums = new Float64Array(W3);
  for (let k = -r; k <= r; k++) {
    const row = (k < 0 ? 0 : k >= h ? h - 1 : k) * W3;
    for (let c = 0; c < W3; c++) sums[c] += tmp[row + c];
  }
  for (let i = 0; i < h; i++) {
    const o = i * W3;
    const add = (i + r + 1 >= h ? h - 1 : i + r + 1) * W3;
    const sub = (i - r < 0 ? 0 : i - r) * W3;
    for (let c = 0; c < W3; c++) {
      buf[o + c] = sums[c] * norm;
      sums[c] += tmp[add + c] - tmp[sub + c];
    }
  }
}

/**
 * Composes albedo x illumination x light colour, applies exposure, contrast,
 * desaturation, blur and noise, and returns [h, w, 3] uint8 sRGB-ish pixels.
 * Values are rounded to float32 where they always were (the working buffer
 * is float32): after contrast, after the blur blend and after the noise.
 */
export function compose(cv: Canvas, o: ComposeOptions): Uint8Array {
  const n = cv.w * cv.h;
  const len = n * 3;
  const [lr, lg, lb] = o.lightColor;
  const shade = cv.shade, al = cv.albedo;
  const exposure = o.exposure, desat = o.desaturate, contrast = o.contrast;
  const off = 0.5 - 0.5 * contrast;
  const out = new Uint8Array(len);
  const table = normalTable();
  let pos = (o.seed >>> 0) & NORMAL_MASK;
  const step = (((o.seed >>> 12) & 1023) << 1) + 1; // odd: visits every entry
  const sigma = o.noise / 255;
  const noisy = sigma > 0;
  const fround = Math.fround;
  if (o.blur > 0) {
    const buf = scratch32(1, len);
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
    const r = Math.ceil(o.blur);
    const blurred = scratch32(2, len);
    blurred.set(buf.subarray(0, len));
    boxBlur(blurred, cv.w, cv.h, r);
    const t = o.blur / r; // fractional radius: blend towards the blurred copy
    for (let i = 0; i < len; i++) {
      let v = fround(buf[i] + (blurred[i] - buf[i]) * t);
      if (noisy) {
        v = fround(v + table[pos] * sigma);
        pos = (pos + step) & NORMAL_MASK;
      }
      const q = (v * 255 + 0.5) | 0;
      out[i] = q < 0 ? 0 : q > 255 ? 255 : q;
    }
    return out;
  }
  // No blur: one pass, each value through the same float32 roundings.
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
    let vr = fround(r * contrast + off);
    let vg = fround(g * contrast + off);
    let vb = fround(b * contrast + off);
    if (noisy) {
      vr = fround(vr + table[pos] * sigma);
      pos = (pos + step) & NORMAL_MASK;
      vg = fround(vg + table[pos] * sigma);
      pos = (pos + step) & NORMAL_MASK;
      vb = fround(vb + table[pos] * sigma);
      pos = (pos + step) & NORMAL_MASK;
    }
    const qr = (vr * 255 + 0.5) | 0;
    const qg = (vg * 255 + 0.5) | 0;
    const qb = (vb * 255 + 0.5) | 0;
    out[k] = qr < 0 ? 0 : qr > 255 ? 255 : qr;
    out[k + 1] = qg < 0 ? 0 : qg > 255 ? 255 : qg;
    out[k + 2] = qb < 0 ? 0 : qb > 255 ? 255 : qb;
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
