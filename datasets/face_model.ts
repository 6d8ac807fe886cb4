/**
 * The procedural face of the synthetic data set (issue 3, "Synthetic faces"):
 * identity-level parameters (head shape, skin tone, hair colour and style,
 * eye spacing and size, iris colour, brows, nose, mouth, ears, marks, facial
 * hair, glasses habit), image-level variation (yaw and pitch as feature
 * shifts, in-plane rotation, scale and translation jitter, illumination
 * direction and colour, expression, occasional occlusion by glasses, a hand
 * or a hat, background clutter, blur, noise) and a renderer that paints one
 * face with datasets/raster.ts.
 *
 * `difficulty` (0..1) sets how close identities are relative to the
 * within-identity variation: identity traits are drawn with spread
 * `1 - 0.75 d` (in units of the population spread), every image perturbs them
 * by `0.1 + 0.5 d` (times a per-trait factor: colours drift less), hair
 * style and facial hair change in 4-24 % / 8-28 % of photos, and pose /
 * lighting / occlusion / blur scale with `0.5 + d`.
 *
 * Face coordinates: u right, v down, origin between the eyes, unit = the
 * nominal inter-ocular distance; z (depth, towards the viewer) only moves
 * features under yaw and pitch.
 *
 * @module
 */
import { Rng } from "../lib/base/rng.ts";
import {
  Canvas,
  compose,
  fillBand,
  fillEllipse,
  fillGradient,
  fillShade,
  type Frame,
  PIXEL_FRAME,
  quadPoints,
  type Rgb,
  strokePolyline,
  toPixel,
} from "./raster.ts";

/** Hair styles. */
export const HAIR_STYLES = [
  "bald",
  "buzz",
  "short",
  "sidepart",
  "bangs",
  "medium",
  "long",
  "curly",
  "bun",
] as const;
/** A hair style. */
export type HairStyle = typeof HAIR_STYLES[number];

/** Facial hair kinds. */
export const BEARDS = [
  "none",
  "stubble",
  "mustache",
  "goatee",
  "full",
  "chinstrap",
] as const;
/** A facial-hair kind. */
export type Beard = typeof BEARDS[number];

/**
 * Continuous traits: population mean and standard deviation (face units or
 * 0..1 indices), and optionally how much a photo may drift from the person's
 * value relative to the other traits (colours of skin, hair and iris drift
 * little, expression-like traits more). An identity draws z ~ N(0, 1) per
 * trait.
 */
const TRAITS = {
  headW: [1.13, 0.07],
  headTop: [-0.12, 0.06],
  headH: [1.86, 0.08],
  headCv: [0.08, 0.05],
  taper: [0.32, 0.1],
  jaw: [2.8, 0.7],
  skinTone: [0.4, 0.26, 0.35],
  skinWarm: [0, 0.45, 0.5],
  blush: [0.12, 0.07, 1.5],
  hairMel: [0.62, 0.3, 0.3],
  hairRed: [0.12, 0.18, 0.3],
  hairline: [-1.08, 0.1, 0.5],
  hairVolume: [0.2, 0.07],
  hairPart: [0, 0.6],
  eyeSpacing: [1.0, 0.05, 0.6],
  eyeW: [0.235, 0.022],
  eyeH: [0.11, 0.016],
  eyeTilt: [0.04, 0.06],
  irisHue: [0.3, 0.32, 0.3],
  irisR: [0.098, 0.01],
  lidHeavy: [0.3, 0.2],
  browY: [-0.37, 0.045],
  browThick: [0.072, 0.02],
  browArch: [0.06, 0.03],
  browLen: [0.6, 0.06],
  browInner: [0.13, 0.035],
  browSlope: [0, 0.06],
  browDark: [0.5, 0.25, 0.5],
  noseY: [0.6, 0.06],
  noseW: [0.21, 0.03],
  nostril: [0.036, 0.009],
  bridge: [0.5, 0.25],
  mouthY: [1.06, 0.065],
  mouthW: [0.42, 0.045],
  upperLip: [0.065, 0.016],
  lowerLip: [0.095, 0.022],
  lipRed: [0.45, 0.22],
  mouthCurve: [0, 0.03, 1.5],
  earSize: [1, 0.12],
  earY: [0.22, 0.06],
  wrinkle: [0.12, 0.12, 0.5],
  beardDensity: [0.75, 0.15],
} as const;
type TraitName = keyof typeof TRAITS;
const TRAIT_NAMES = Object.keys(TRAITS) as TraitName[];

/** What stays fixed for one person. */
export interface Identity {
  /** Trait z-scores, already multiplied by the identity spread. */
  z: Record<TraitName, number>;
  hairStyle: HairStyle;
  beard: Beard;
  /** Probability of wearing glasses in a photo. */
  glassesProb: number;
  glassesColor: Rgb;
  /** Glasses frame aspect (rv / ru) and size. */
  glassesShape: [number, number];
  /** Moles: [u, v, radius] in face units. */
  moles: [number, number, number][];
  freckles: number;
  seed: number;
}

/** Where and how large the face sits in the image. */
export interface Layout {
  width: number;
  height: number;
  /** Target position of the midpoint between the eyes (pixels). */
  eyeX: number;
  eyeY: number;
  /** Target inter-ocular distance (pixels). */
  iod: number;
  /** Std of translation jitter (pixels), scale jitter (fraction), roll (rad). */
  jitter: { shift: number; scale: number; roll: number };
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

function mix(a: Rgb, b: Rgb, t: number): Rgb {
  return [
    a[0] + (b[0] - a[0]) * t,
    a[1] + (b[1] - a[1]) * t,
    a[2] + (b[2] - a[2]) * t,
  ];
}

function scale(a: Rgb, k: number): Rgb {
  return [a[0] * k, a[1] * k, a[2] * k];
}

/** Piecewise-linear colour ramp at t in [0, 1]. */
function ramp(stops: readonly Rgb[], t: number): Rgb {
  const x = clamp(t, 0, 1) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  return mix(stops[i], stops[i + 1], x - i);
}

const SKIN: Rgb[] = [
  [0.96, 0.82, 0.72],
  [0.9, 0.72, 0.58],
  [0.78, 0.57, 0.42],
  [0.6, 0.41, 0.29],
  [0.42, 0.27, 0.18],
  [0.28, 0.18, 0.12],
];
const HAIR: Rgb[] = [
  [0.86, 0.74, 0.5], // blond
  [0.62, 0.46, 0.28],
  [0.38, 0.25, 0.15], // brown
  [0.2, 0.13, 0.08],
  [0.07, 0.055, 0.05], // black
];
const IRIS: Rgb[] = [
  [0.25, 0.14, 0.07], // dark brown
  [0.42, 0.27, 0.12], // brown
  [0.45, 0.4, 0.2], // hazel
  [0.32, 0.45, 0.3], // green
  [0.3, 0.45, 0.62], // blue
  [0.5, 0.56, 0.62], // gray
];

/** Draws a new identity. `difficulty` 0..1 (see module doc). */
export function sampleIdentity(seed: number, difficulty: number): Identity {
  const rng = new Rng(seed);
  const spread = 1 - 0.75 * clamp(difficulty, 0, 1);
  const z = {} as Record<TraitName, number>;
  for (const t of TRAIT_NAMES) z[t] = clamp(rng.normal(), -2.5, 2.5) * spread;
  // A latent that correlates traits (jaw, brows, facial hair, hair length).
  const masc = rng.next();
  z.taper += (0.5 - masc) * 1.2 * spread;
  z.browThick += (masc - 0.5) * 1.2 * spread;
  z.lipRed += (0.5 - masc) * 1.5 * spread;
  const styleWeights: Record<HairStyle, number> = masc > 0.5
    ? {
      bald: 0.1,
      buzz: 0.18,
      short: 0.3,
      sidepart: 0.25,
      bangs: 0.04,
      medium: 0.07,
      long: 0.02,
      curly: 0.04,
      bun: 0,
    }
    : {
      bald: 0,
      buzz: 0.02,
      short: 0.08,
      sidepart: 0.1,
      bangs: 0.18,
      medium: 0.22,
      long: 0.28,
      curly: 0.06,
      bun: 0.06,
    };
  const hairStyle = weighted(rng, styleWeights);
  const beardWeights: Record<Beard, number> = masc > 0.5
    ? {
      none: 0.45,
      stubble: 0.2,
      mustache: 0.1,
      goatee: 0.1,
      full: 0.12,
      chinstrap: 0.03,
    }
    : { none: 1, stubble: 0, mustache: 0, goatee: 0, full: 0, chinstrap: 0 };
  const beard = weighted(rng, beardWeights);
  const g = rng.next();
  const glassesProb = g < 0.72 ? 0 : g < 0.9 ? 0.35 : 0.85;
  const frames: Rgb[] = [
    [0.05, 0.05, 0.05],
    [0.3, 0.18, 0.1],
    [0.6, 0.6, 0.62],
    [0.5, 0.1, 0.1],
    [0.1, 0.12, 0.3],
  ];
  const moles: [number, number, number][] = [];
  const nm = rng.next() < 0.4 ? 1 + rng.int(3) : 0;
  for (let i = 0; i < nm; i++) {
    moles.push([
      rng.uniform(-0.8, 0.8),
      rng.uniform(-0.5, 1.5),
      rng.uniform(0.015, 0.035),
    ]);
  }
  return {
    z,
    hairStyle,
    beard,
    glassesProb,
    glassesColor: frames[rng.int(frames.length)],
    glassesShape: [rng.uniform(0.55, 0.85), rng.uniform(0.27, 0.34)],
    moles,
    freckles: rng.next() < 0.15 ? rng.uniform(0.2, 1) : 0,
    seed: rng.nextUint32(),
  };
}

function weighted<K extends string>(rng: Rng, w: Record<K, number>): K {
  const keys = Object.keys(w) as K[];
  let total = 0;
  for (const k of keys) total += w[k];
  let r = rng.next() * total;
  for (const k of keys) {
    r -= w[k];
    if (r < 0) return k;
  }
  return keys[keys.length - 1];
}

/** The rendered image and its 5 landmarks (CelebA order, pixels). */
export interface RenderedFace {
  /** [height, width, 3] uint8. */
  pixels: Uint8Array;
  width: number;
  height: number;
  landmarks: number[];
  /** Suggested JPEG quality for this photo. */
  quality: number;
}

const NEIGHBOUR_STYLE: Record<HairStyle, HairStyle[]> = {
  bald: ["buzz"],
  buzz: ["short", "bald"],
  short: ["sidepart", "buzz"],
  sidepart: ["short", "medium"],
  bangs: ["medium", "long"],
  medium: ["long", "sidepart", "bun"],
  long: ["medium", "bun", "bangs"],
  curly: ["medium", "bun"],
  bun: ["long", "medium"],
};

/**
 * Renders one photo of `id`. `seed` drives all image-level variation;
 * `difficulty` scales it (module doc).
 */
export function renderFace(
  id: Identity,
  options: { seed: number; difficulty: number; layout: Layout },
): RenderedFace {
  const rng = new Rng(options.seed);
  const d = clamp(options.difficulty, 0, 1);
  const drift = 0.1 + 0.5 * d;
  const nuis = 0.5 + d;
  const L = options.layout;
  const T = {} as Record<TraitName, number>;
  for (const t of TRAIT_NAMES) {
    const [m, s, k = 1] = TRAITS[t] as readonly number[];
    T[t] = m + s * clamp(id.z[t] + k * drift * rng.normal(), -3, 3);
  }

  // ---- image-level variation ----
  const yaw = clamp(rng.normal() * 0.2 * nuis, -0.6, 0.6);
  const pitch = clamp(rng.normal() * 0.1 * nuis, -0.35, 0.35);
  const roll = rng.normal() * L.jitter.roll * nuis;
  const smile = Math.pow(rng.next(), 1.6);
  const mouthOpen = rng.next() < 0.25 * nuis ? rng.uniform(0.2, 1) : 0;
  const browRaise = rng.normal() * 0.03 * nuis;
  const blink = rng.next() < 0.04 * nuis;
  const eyeOpen = blink
    ? 0.15
    : clamp(1 - 0.25 * smile + rng.normal() * 0.08 * nuis, 0.4, 1.15);
  const gaze: [number, number] = [
    rng.normal() * 0.025 * nuis,
    rng.normal() * 0.015 * nuis,
  ];
  let style = id.hairStyle;
  if (rng.next() < 0.04 + 0.2 * d) {
    const nb = NEIGHBOUR_STYLE[style];
    style = nb[rng.int(nb.length)];
  }
  let beard = id.beard;
  if (beard !== "none" && rng.next() < 0.08 + 0.2 * d) {
    beard = rng.next() < 0.5 ? "none" : "stubble";
  }
  const glasses = rng.next() < id.glassesProb
    ? "clear"
    : rng.next() < 0.02 * nuis
    ? "sun"
    : "";
  const hand = rng.next() < 0.025 + 0.06 * d;
  const hat = rng.next() < 0.02 + 0.04 * d;

  // light: direction towards the light in image axes (x right, y down, z viewer)
  const az = rng.uniform(-Math.PI, Math.PI);
  const el = clamp(0.25 + rng.next() * 0.55 * nuis, 0.1, 1.3); // angle from the view axis
  const ldir: [number, number, number] = [
    Math.sin(el) * Math.cos(az),
    Math.sin(el) * Math.sin(az) * 0.6 - 0.25,
    Math.cos(el),
  ];
  const ln = Math.hypot(...ldir);
  const ambient = clamp(0.42 + rng.normal() * 0.08, 0.25, 0.6);
  const temp = rng.normal() * 0.08 * nuis;
  const lightColor: Rgb = [1 + temp, 1, 1 - temp * 1.3];

  // ---- colours ----
  const skin = ramp(SKIN, T.skinTone);
  const warm = T.skinWarm * 0.04;
  const skinC: Rgb = [
    skin[0] * (1 + warm),
    skin[1],
    skin[2] * (1 - warm * 1.5),
  ];
  const hairBase = ramp(HAIR, T.hairMel);
  let hairC = mix(
    hairBase,
    [0.62, 0.24, 0.09],
    clamp(T.hairRed, 0, 0.8) * (1 - T.hairMel * 0.6),
  );
  const gray = clamp(id.z.wrinkle * 0.3 + (T.wrinkle - 0.2) * 1.5, 0, 0.9);
  hairC = mix(hairC, [0.72, 0.72, 0.72], gray);
  const browC = mix(
    scale(hairC, 0.8),
    [0.08, 0.06, 0.05],
    clamp(T.browDark, 0, 1) * 0.6,
  );
  const irisC = ramp(IRIS, T.irisHue);
  const lipC = mix(
    scale(skinC, 0.78),
    [0.7, 0.25, 0.28],
    0.15 + clamp(T.lipRed, 0, 1) * 0.55,
  );

  // ---- frame ----
  const es = clamp(T.eyeSpacing, 0.85, 1.15);
  const s = L.iod / es * Math.exp(rng.normal() * L.jitter.scale * nuis);
  const frame: Frame = {
    s,
    rot: roll,
    tx: L.eyeX + rng.normal() * L.jitter.shift * nuis,
    ty: L.eyeY + rng.normal() * L.jitter.shift * nuis,
  };
  const cy = Math.cos(yaw),
    sy = Math.sin(yaw),
    cp = Math.cos(pitch),
    sp = Math.sin(pitch);
  const off: [number, number] = [0.75 * sy, 0.75 * sp];
  /** Posed position of a face point at depth z. */
  const P = (u: number, v: number, z: number): [number, number] => [
    u * cy + z * sy - off[0],
    v * cp + z * sp - off[1],
  ];
  /** Foreshortening of a feature at horizontal position u. */
  const fore = (u: number) =>
    clamp(
      Math.cos(yaw + Math.asin(clamp(u / 1.4, -0.9, 0.9))) /
        Math.cos(Math.asin(clamp(u / 1.4, -0.9, 0.9))),
      0.35,
      1.1,
    );

  const cv = new Canvas(L.width, L.height);
  cv.light = {
    dir: [ldir[0] / ln, ldir[1] / ln, ldir[2] / ln],
    ambient,
    diffuse: 1 - ambient + 0.1,
  };

  // ---- background ----
  background(cv, rng, nuis);

  const headW = clamp(T.headW, 0.9, 1.4), headH = clamp(T.headH, 1.6, 2.1);
  const [hcU, hcV] = P(0, T.headCv, 0);
  const chinV = hcV + headH * cp;
  const hairVol = clamp(T.hairVolume, 0.02, 0.3);
  const hairPaint = (alpha = 1) => ({
    color: hairC,
    alpha,
    sphere: 0.55,
    tex: 0.5,
    texFreq: [38, 5] as const,
    texSeed: id.seed,
  });

  // ---- shoulders, neck ----
  const cloth: Rgb = [
    rng.uniform(0.05, 0.85),
    rng.uniform(0.05, 0.85),
    rng.uniform(0.05, 0.85),
  ];
  fillEllipse(cv, frame, {
    cu: hcU * 0.7,
    cv: chinV + 0.4,
    ru: headW * 0.62,
    rv: 1.2,
    clipTop: -0.6,
  }, { color: scale(skinC, 0.97), sphere: 0.45 });
  fillEllipse(cv, frame, {
    cu: hcU * 0.7,
    cv: chinV + 0.02,
    ru: headW * 0.55,
    rv: 0.3,
  }, { color: skinC, shadow: 0.72, feather: 0.18 });
  fillEllipse(
    cv,
    frame,
    { cu: hcU * 0.5, cv: chinV + 1.85, ru: 3.2, rv: 1.35 },
    {
      color: cloth,
      sphere: 0.5,
      tex: 0.15,
      texFreq: [6, 6],
      texSeed: options.seed,
    },
  );

  // ---- hair behind the head ----
  if (
    style === "long" || style === "medium" || style === "curly" ||
    style === "bangs"
  ) {
    const len = style === "long"
      ? 1.55
      : style === "curly"
      ? 1.05
      : style === "bangs"
      ? 1.2
      : 0.95;
    fillEllipse(cv, frame, {
      cu: hcU,
      cv: hcV + (len - 1) * 0.9,
      ru: headW + hairVol + (style === "curly" ? 0.35 : 0.12),
      rv: headH * len * 0.95,
      taper: style === "long" ? -0.1 : 0.15,
    }, hairPaint());
  }
  if (style === "bun") {
    fillEllipse(cv, frame, {
      cu: hcU + 0.1 * sy,
      cv: hcV - headH - 0.1,
      ru: 0.42,
      rv: 0.33,
    }, hairPaint());
  }

  // ---- ears ----
  const earS = clamp(T.earSize, 0.7, 1.3);
  for (const side of [-1, 1]) {
    const [eu, ev] = P(side * headW * 0.97, T.earY, -0.15);
    const vis = clamp(1 + side * sy * 1.6, 0.25, 1.3);
    fillEllipse(cv, frame, {
      cu: eu,
      cv: ev,
      ru: 0.17 * earS * vis,
      rv: 0.3 * earS,
      rot: side * 0.12,
    }, { color: scale(skinC, 0.95), sphere: 0.7 });
    fillEllipse(cv, frame, {
      cu: eu + side * 0.03,
      cv: ev,
      ru: 0.08 * earS * vis,
      rv: 0.18 * earS,
    }, { color: skinC, shadow: 0.75, feather: 0.03 });
  }

  // ---- head ----
  const head = {
    cu: hcU,
    cv: hcV,
    ru: headW,
    rv: headH,
    taper: clamp(T.taper, 0.05, 0.6),
    jaw: clamp(T.jaw, 1.8, 5),
    taperTop: clamp(T.headTop, -0.3, 0.05),
  };
  fillEllipse(cv, frame, head, {
    color: skinC,
    sphere: 0.75,
    tex: 0.05,
    texFreq: [30, 30],
    texSeed: id.seed,
  });
  // cheek blush, forehead sheen
  for (const side of [-1, 1]) {
    const [bu, bv] = P(side * 0.55, 0.62, 0.6);
    fillEllipse(cv, frame, {
      cu: bu,
      cv: bv,
      ru: 0.26 * fore(side * 0.55),
      rv: 0.18,
    }, {
      color: [0.85, 0.35, 0.35],
      alpha: clamp(T.blush, 0, 0.4),
      feather: 0.15,
    });
  }
  // freckles and moles
  if (id.freckles > 0) {
    const fr = new Rng(id.seed ^ 0x51f);
    for (let i = 0; i < 40 * id.freckles; i++) {
      const [fu, fv] = P(fr.uniform(-0.75, 0.75), fr.uniform(0.2, 0.8), 0.8);
      fillEllipse(cv, frame, { cu: fu, cv: fv, ru: 0.018, rv: 0.018 }, {
        color: scale(skinC, 0.72),
        alpha: 0.6,
      });
    }
  }
  for (const [mu, mv, mr] of id.moles) {
    if (Math.abs(mu) > headW * 0.85) continue;
    const [pu, pv] = P(mu, mv, 0.7);
    fillEllipse(cv, frame, { cu: pu, cv: pv, ru: mr, rv: mr }, {
      color: [0.22, 0.13, 0.09],
    });
  }
  // wrinkles: forehead lines and nasolabial folds (deepened by a smile)
  const age = clamp(T.wrinkle, 0, 0.8);
  if (age > 0.15) {
    for (let k = 0; k < 3; k++) {
      const v = -0.62 - k * 0.12;
      strokePolyline(
        cv,
        frame,
        [...P(-0.5, v + 0.02, 0.8), ...P(0, v, 0.9), ...P(0.5, v + 0.02, 0.8)],
        [0.012, 0.018, 0.012],
        { color: skinC, shadow: 0.8, alpha: age, feather: 0.01 },
      );
    }
  }
  for (const side of [-1, 1]) {
    const a = P(side * (T.noseW + 0.05), T.noseY + 0.02, 0.95);
    const c = P(side * (T.mouthW + 0.08 + 0.06 * smile), T.mouthY + 0.02, 0.8);
    const ctrl = P(side * (T.noseW + 0.22), (T.noseY + T.mouthY) / 2, 0.9);
    strokePolyline(cv, frame, quadPoints(a, ctrl, c, 6), [
      0.02,
      0.03,
      0.03,
      0.025,
      0.02,
      0.015,
      0.01,
    ], {
      color: skinC,
      shadow: 0.82,
      alpha: clamp(0.25 + smile * 0.6 + age, 0, 1),
      feather: 0.03,
    });
  }

  // ---- facial hair on the jaw (before the mouth, so lips sit on top) ----
  const beardC = mix(hairC, [0.1, 0.08, 0.07], 0.3);
  if (beard === "full" || beard === "stubble" || beard === "chinstrap") {
    const n = 17;
    const above: number[] = [];
    for (let i = 0; i < n; i++) {
      const u = -1 + 2 * i / (n - 1);
      // top of the beard region, local v relative to the head centre
      const cheek = beard === "chinstrap" ? 1.35 : 0.28;
      above.push(P(0, T.noseY + cheek, 0.9)[1] - hcV - 0.45 * u * u);
    }
    fillEllipse(cv, frame, {
      ...head,
      ru: headW + 0.02,
      rv: headH + 0.05,
      above,
    }, {
      color: beard === "stubble" ? mix(skinC, beardC, 0.5) : beardC,
      alpha: beard === "stubble" ? 0.45 : clamp(T.beardDensity, 0.4, 1),
      tex: beard === "stubble" ? 1.2 : 0.7,
      texFreq: beard === "stubble" ? [90, 90] : [50, 12],
      texSeed: id.seed + 7,
      feather: 0.06,
    });
  }
  if (beard === "goatee") {
    const [gu, gv] = P(0, T.mouthY + 0.4, 0.85);
    fillEllipse(cv, frame, { cu: gu, cv: gv, ru: 0.3 * cy, rv: 0.35 }, {
      color: beardC,
      alpha: clamp(T.beardDensity, 0.5, 1),
      tex: 0.7,
      texFreq: [50, 12],
      texSeed: id.seed + 7,
      feather: 0.05,
    });
  }

  // ---- nose ----
  const noseY = T.noseY, noseW = clamp(T.noseW, 0.14, 0.3);
  const [ntU, ntV] = P(0, noseY, 1.15);
  const lightSide = cv.light.dir[0] >= 0 ? 1 : -1;
  // bridge shadow on the side away from the light (and the far side under yaw)
  {
    const side = Math.abs(sy) > 0.12 ? (sy > 0 ? -1 : 1) : -lightSide;
    const a = P(side * 0.09, -0.05, 0.85),
      b = P(side * 0.11, noseY - 0.08, 1.05);
    strokePolyline(cv, frame, [...a, ...b], [0.04, 0.08], {
      color: skinC,
      shadow: 0.88 - 0.1 * clamp(T.bridge, 0, 1),
      feather: 0.09,
    });
  }
  for (const side of [-1, 1]) {
    const [wu, wv] = P(side * noseW * 0.82, noseY + 0.03, 1.0);
    fillEllipse(cv, frame, {
      cu: wu,
      cv: wv,
      ru: 0.085 * fore(side * 0.2),
      rv: 0.075,
    }, { color: scale(skinC, 0.93), sphere: 0.5, feather: 0.01 });
    const [nu, nv] = P(side * noseW * 0.45, noseY + 0.07, 1.05);
    const nr = clamp(T.nostril, 0.015, 0.06);
    fillEllipse(cv, frame, {
      cu: nu,
      cv: nv,
      ru: nr * 1.3 * fore(side * 0.2),
      rv: nr * 0.75,
      rot: side * 0.3,
    }, { color: scale(skinC, 0.3), alpha: 0.9, feather: 0.01 });
  }
  fillEllipse(cv, frame, { cu: ntU, cv: ntV - 0.02, ru: 0.1, rv: 0.085 }, {
    color: skinC,
    sphere: 0.6,
  });
  fillEllipse(cv, frame, {
    cu: ntU + cv.light.dir[0] * 0.04,
    cv: ntV - 0.04,
    ru: 0.04,
    rv: 0.03,
  }, { color: scale(skinC, 1.15), alpha: 0.5, feather: 0.03 });
  // cast shadow of the nose, opposite the light
  fillEllipse(cv, frame, {
    cu: ntU - cv.light.dir[0] * 0.15,
    cv: ntV + 0.13,
    ru: 0.12,
    rv: 0.05,
  }, { color: skinC, shadow: 0.75, feather: 0.05 });

  // ---- eyes ----
  for (const side of [-1, 1]) {
    eye(cv, frame, {
      side,
      center: P(side * es / 2, 0, 0.75),
      gaze,
      w: clamp(T.eyeW, 0.16, 0.3) * fore(side * es / 2),
      h: clamp(T.eyeH, 0.05, 0.14) * cp,
      open: eyeOpen,
      tilt: T.eyeTilt,
      irisC,
      irisR: clamp(T.irisR, 0.07, 0.12),
      lidHeavy: clamp(T.lidHeavy, 0, 1),
      skinC,
    });
  }
  // ---- brows ----
  for (const side of [-1, 1]) {
    const inner = clamp(T.browInner, 0.04, 0.25);
    const len = clamp(T.browLen, 0.45, 0.75);
    const by = T.browY - browRaise;
    const a = P(side * inner, by + T.browSlope * 0.5, 0.8);
    const c = P(side * (inner + len), by - T.browSlope * 0.5 + 0.06, 0.7);
    const ctrl = P(
      side * (inner + len * 0.6),
      by - clamp(T.browArch, 0, 0.15) * 2 - browRaise,
      0.78,
    );
    const bt = clamp(T.browThick, 0.03, 0.13);
    strokePolyline(cv, frame, quadPoints(a, ctrl, c, 8), [
      bt * 1.1,
      bt * 1.15,
      bt * 1.1,
      bt,
      bt * 0.9,
      bt * 0.8,
      bt * 0.65,
      bt * 0.5,
      bt * 0.3,
    ], {
      color: browC,
      alpha: 0.92,
      tex: 0.6,
      texFreq: [60, 60],
      texSeed: id.seed + side,
      feather: 0.008,
    });
  }

  // ---- mouth ----
  const mouthC = P(0, T.mouthY, 0.9);
  const mouthHalfW = clamp(T.mouthW, 0.32, 0.55) * (1 + 0.12 * smile);
  const mouthCurve = T.mouthCurve - 0.09 * smile; // corners' height vs centre
  mouth(cv, frame, {
    center: mouthC,
    w: mouthHalfW,
    upper: clamp(T.upperLip, 0.03, 0.11),
    lower: clamp(T.lowerLip, 0.05, 0.15),
    curve: mouthCurve,
    open: mouthOpen,
    smile,
    lipC,
    skinC,
    cy,
  });
  if (beard === "mustache" || beard === "full" || beard === "goatee") {
    const mw = clamp(T.mouthW, 0.32, 0.55) + 0.06;
    const [mu, mv] = P(
      0,
      T.mouthY - clamp(T.upperLip, 0.03, 0.11) - 0.07,
      0.95,
    );
    const top: number[] = [], bottom: number[] = [];
    for (let i = 0; i <= 10; i++) {
      const x = -1 + i / 5;
      top.push(-0.07 + 0.05 * x * x);
      bottom.push(0.05 + 0.1 * x * x);
    }
    fillBand(cv, frame, {
      cu: mu,
      cv: mv,
      u0: -mw * cy,
      u1: mw * cy,
      top,
      bottom,
    }, {
      color: beardC,
      alpha: clamp(T.beardDensity, 0.5, 1),
      tex: 0.7,
      texFreq: [60, 10],
      texSeed: id.seed + 9,
      feather: 0.03,
    });
  }

  // ---- hair on top ----
  frontHair(cv, frame, {
    style,
    head,
    hairline: T.hairline,
    part: T.hairPart,
    vol: hairVol,
    paint: hairPaint,
    P,
    sy,
    browY: T.browY,
  });

  // ---- occlusions ----
  if (glasses) {
    const [ga, gs] = id.glassesShape;
    const ringC = glasses === "sun"
      ? [0.05, 0.05, 0.05] as Rgb
      : id.glassesColor;
    const centers = [-1, 1].map((side) => P(side * es / 2, 0.03, 0.95));
    for (let k = 0; k < 2; k++) {
      const side = k === 0 ? -1 : 1;
      const [gu, gv] = centers[k];
      const ru = gs * fore(side * es / 2), rv = gs * ga * 1.1;
      fillEllipse(
        cv,
        frame,
        { cu: gu, cv: gv, ru, rv },
        glasses === "sun"
          ? { color: [0.04, 0.04, 0.05], alpha: 0.92 }
          : { color: [0.85, 0.9, 0.95], alpha: 0.1 },
      );
      fillEllipse(cv, frame, { cu: gu, cv: gv, ru, rv, ring: 0.035 }, {
        color: ringC,
      });
      const [tu, tv] = P(side * headW * 0.98, 0, 0.2);
      strokePolyline(cv, frame, [gu + side * ru, gv - rv * 0.3, tu, tv], [
        0.03,
        0.03,
      ], { color: ringC });
    }
    strokePolyline(
      cv,
      frame,
      [...quadPoints(
        [centers[0][0] + gs * 0.9, centers[0][1] - 0.05],
        [(centers[0][0] + centers[1][0]) / 2, centers[0][1] - 0.12],
        [centers[1][0] - gs * 0.9, centers[1][1] - 0.05],
        4,
      )],
      [0.03, 0.03, 0.03, 0.03, 0.03],
      { color: ringC },
    );
  }
  if (hat) {
    const hatC: Rgb = [
      rng.uniform(0.05, 0.8),
      rng.uniform(0.05, 0.8),
      rng.uniform(0.05, 0.8),
    ];
    const line = -0.95 - rng.uniform(0, 0.25);
    const below: number[] = [];
    for (let i = 0; i < 9; i++) below.push(line - hcV);
    fillEllipse(cv, frame, {
      cu: hcU,
      cv: hcV,
      ru: headW + hairVol + 0.12,
      rv: headH + hairVol + 0.15,
      below,
    }, {
      color: hatC,
      sphere: 0.6,
      tex: 0.1,
      texFreq: [8, 8],
      texSeed: options.seed,
    });
    const brim = P(0, line, 1.0);
    fillEllipse(cv, frame, {
      cu: brim[0],
      cv: brim[1],
      ru: headW + 0.35,
      rv: 0.12,
    }, { color: scale(hatC, 0.85), sphere: 0.4 });
  }
  if (hand) {
    // a hand raised to the face: palm low (often cut by the frame), fingers up
    const side = rng.next() < 0.5 ? -1 : 1;
    const [hu, hv] = P(
      side * rng.uniform(0.15, 0.75),
      rng.uniform(1.1, 1.8),
      1.2,
    );
    const handC = scale(skinC, rng.uniform(0.92, 1.05));
    const ang = rng.uniform(-0.5, 0.5) + side * 0.2;
    const ca = Math.cos(ang), sa = Math.sin(ang);
    fillEllipse(cv, frame, {
      cu: hu - sa * 0.55,
      cv: hv + ca * 0.55,
      ru: 0.36,
      rv: 0.5,
      rot: ang,
    }, { color: handC, sphere: 0.6 });
    const lens = [0.5, 0.62, 0.66, 0.58];
    for (let k = 0; k < 4; k++) {
      const o = (k - 1.5) * 0.165;
      const fx = hu + o * ca, fy = hv + o * sa;
      const len = lens[k];
      const tipx = fx + sa * len, tipy = fy - ca * len;
      strokePolyline(cv, frame, [fx - sa * 0.2, fy + ca * 0.2, tipx, tipy], [
        0.16,
        0.13,
      ], { color: handC });
      if (k > 0) {
        strokePolyline(
          cv,
          frame,
          [
            fx - 0.0825 * ca,
            fy - 0.0825 * sa,
            fx - 0.0825 * ca + sa * len * 0.8,
            fy - 0.0825 * sa - ca * len * 0.8,
          ],
          [0.012, 0.008],
          { color: handC, shadow: 0.6, feather: 0.012 },
        );
      }
      fillEllipse(cv, frame, {
        cu: tipx - sa * 0.05,
        cv: tipy + ca * 0.05,
        ru: 0.04,
        rv: 0.03,
        rot: ang,
      }, { color: scale(handC, 1.1), alpha: 0.5, feather: 0.02 });
    }
  }

  // landmarks as drawn: eye centres, nose tip, mouth corners (the mouth is
  // drawn `mouthHalfW * cos(yaw)` wide about its posed centre)
  const lm: [number, number][] = [
    P(-es / 2, 0, 0.75),
    P(es / 2, 0, 0.75),
    P(0, noseY, 1.15),
    [mouthC[0] - mouthHalfW * cy, mouthC[1] + mouthCurve],
    [mouthC[0] + mouthHalfW * cy, mouthC[1] + mouthCurve],
  ];
  const landmarks = lm.flatMap(([u, v]) => toPixel(frame, u, v));

  const pixels = compose(cv, {
    lightColor,
    exposure: Math.exp(rng.normal() * 0.12 * nuis) * 0.97,
    contrast: clamp(1 + rng.normal() * 0.1 * nuis, 0.7, 1.3),
    desaturate: rng.next() < 0.03 ? 1 : 0,
    blur: rng.next() < 0.3 * nuis ? rng.uniform(0.3, 1.6) * nuis : 0,
    noise: rng.uniform(0, 5) * nuis,
    seed: options.seed,
  });
  return {
    pixels,
    width: L.width,
    height: L.height,
    landmarks,
    quality: Math.round(rng.uniform(72, 95)),
  };
}

function background(cv: Canvas, rng: Rng, nuis: number): void {
  const base: Rgb = [
    rng.uniform(0.1, 0.9),
    rng.uniform(0.1, 0.9),
    rng.uniform(0.1, 0.9),
  ];
  const base2 = mix(
    base,
    [rng.next(), rng.next(), rng.next()],
    rng.uniform(0.1, 0.6),
  );
  fillGradient(cv, base, base2);
  const l = rng.uniform(0.7, 1.1);
  fillShade(cv, l, l + rng.normal() * 0.15);
  const n = 2 + rng.int(Math.round(4 + 4 * nuis));
  const W = cv.w, H = cv.h;
  for (let i = 0; i < n; i++) {
    const c: Rgb = [rng.next(), rng.next(), rng.next()];
    const kind = rng.int(3);
    const x = rng.uniform(0, W), y = rng.uniform(0, H);
    const feather = rng.uniform(0, 6);
    const alpha = rng.uniform(0.4, 1);
    if (kind === 0) {
      fillEllipse(cv, PIXEL_FRAME, {
        cu: x,
        cv: y,
        ru: rng.uniform(8, W * 0.4),
        rv: rng.uniform(8, H * 0.4),
        rot: rng.uniform(0, 3),
      }, { color: c, alpha, feather });
    } else if (kind === 1) {
      const w = rng.uniform(10, W * 0.6), h = rng.uniform(10, H * 0.6);
      fillBand(cv, PIXEL_FRAME, {
        cu: x,
        cv: y,
        rot: rng.normal() * 0.3,
        u0: -w / 2,
        u1: w / 2,
        top: [-h / 2, -h / 2],
        bottom: [h / 2, h / 2],
      }, { color: c, alpha, feather });
    } else {
      strokePolyline(
        cv,
        PIXEL_FRAME,
        [x, y, rng.uniform(0, W), rng.uniform(0, H)],
        [rng.uniform(1, 8), rng.uniform(1, 8)],
        { color: c, alpha, feather: feather * 0.3 },
      );
    }
  }
}

function eye(
  cv: Canvas,
  frame: Frame,
  o: {
    side: number;
    center: [number, number];
    gaze: [number, number];
    w: number;
    h: number;
    open: number;
    tilt: number;
    irisC: Rgb;
    irisR: number;
    lidHeavy: number;
    skinC: Rgb;
  },
): void {
  const [cu, cvv] = o.center;
  const rot = -o.side * o.tilt;
  const n = 12;
  const up = o.h * o.open, lo = o.h * 0.55 * Math.min(1, o.open + 0.3);
  const top: number[] = [], bottom: number[] = [];
  for (let i = 0; i <= n; i++) {
    const x = -1 + 2 * i / n;
    // the upper lid peaks towards the inner corner, the lower towards the outer
    const xs = x * o.side;
    top.push(-up * (1 - x * x) * (1 - 0.18 * xs));
    bottom.push(lo * (1 - x * x) * (1 + 0.15 * xs));
  }
  // socket shadow
  fillEllipse(cv, frame, {
    cu,
    cv: cvv - o.h * 0.6,
    ru: o.w * 1.35,
    rv: o.h * 2.2,
    rot,
  }, { color: o.skinC, shadow: 0.82, feather: 0.08 });
  fillBand(cv, frame, { cu, cv: cvv, rot, u0: -o.w, u1: o.w, top, bottom }, {
    color: [0.9, 0.88, 0.85],
  });
  const ic: [number, number] = [cu + o.gaze[0], cvv + o.gaze[1] - up * 0.1];
  fillEllipse(cv, frame, { cu: ic[0], cv: ic[1], ru: o.irisR, rv: o.irisR }, {
    color: o.irisC,
    tex: 0.5,
    texFreq: [70, 70],
    texSeed: 3,
  });
  fillEllipse(cv, frame, {
    cu: ic[0],
    cv: ic[1],
    ru: o.irisR,
    rv: o.irisR,
    ring: 0.018,
  }, { color: scale(o.irisC, 0.45), alpha: 0.8 });
  fillEllipse(cv, frame, {
    cu: ic[0],
    cv: ic[1],
    ru: o.irisR * 0.42,
    rv: o.irisR * 0.42,
  }, { color: [0.03, 0.03, 0.03] });
  const L = cv.light.dir;
  fillEllipse(cv, frame, {
    cu: ic[0] + L[0] * 0.04,
    cv: ic[1] + L[1] * 0.04 - 0.02,
    ru: 0.018,
    rv: 0.018,
  }, { color: [1, 1, 1], alpha: 0.9 });
  // lids: skin above the upper curve and below the lower one hides the iris overflow
  const lidTop = top.map((t) => t - 0.2), lidBot = bottom.map((b) => b + 0.12);
  fillBand(cv, frame, {
    cu,
    cv: cvv,
    rot,
    u0: -o.w - 0.01,
    u1: o.w + 0.01,
    top: lidTop,
    bottom: top,
  }, { color: scale(o.skinC, 0.96) });
  fillBand(cv, frame, {
    cu,
    cv: cvv,
    rot,
    u0: -o.w - 0.01,
    u1: o.w + 0.01,
    top: bottom,
    bottom: lidBot,
  }, { color: o.skinC });
  // lash line and lid crease
  const cr = Math.cos(rot), sr = Math.sin(rot);
  const line = (curve: number[], dv: number, ext: number) => {
    const pts: number[] = [];
    for (let i = 0; i <= n; i++) {
      const x = (-1 + 2 * i / n) * o.w *
        (1 + (i === (o.side > 0 ? n : 0) ? ext : 0));
      const v = curve[i] + dv;
      pts.push(cu + cr * x - sr * v, cvv + sr * x + cr * v);
    }
    return pts;
  };
  const lw = 0.028 + 0.02 * o.lidHeavy;
  strokePolyline(
    cv,
    frame,
    line(top, 0, 0.12),
    Array(n + 1).fill(lw).map((w, i) =>
      w * (0.5 + 0.5 * Math.sin(Math.PI * i / n) + 0.3)
    ),
    { color: [0.06, 0.04, 0.04], alpha: 0.9 },
  );
  strokePolyline(cv, frame, line(bottom, 0, 0), Array(n + 1).fill(0.012), {
    color: scale(o.skinC, 0.6),
    alpha: 0.5,
  });
  strokePolyline(
    cv,
    frame,
    line(top.map((t) => t * 1.2), -0.06 - 0.04 * (1 - o.lidHeavy), 0),
    Array(n + 1).fill(0.018),
    { color: o.skinC, shadow: 0.75, feather: 0.015 },
  );
}

function mouth(
  cv: Canvas,
  frame: Frame,
  o: {
    center: [number, number];
    /** Half-width before foreshortening by `cy` = cos(yaw). */
    w: number;
    upper: number;
    lower: number;
    curve: number;
    open: number;
    smile: number;
    lipC: Rgb;
    skinC: Rgb;
    cy: number;
  },
): void {
  const [cu, cvv] = o.center;
  const n = 16;
  const w = o.w * o.cy;
  const gap = o.open * 0.12;
  const line: number[] = [], upTop: number[] = [], upBot: number[] = [];
  const loTop: number[] = [], loBot: number[] = [];
  for (let i = 0; i <= n; i++) {
    const x = -1 + 2 * i / n;
    const l = o.curve * x * x;
    const body = Math.pow(Math.max(0, 1 - x * x), 0.6);
    const bow = 1 - 0.4 * Math.exp(-(x * x) / 0.012);
    line.push(l);
    upBot.push(l - gap * 0.35 * body);
    upTop.push(l - gap * 0.35 * body - o.upper * body * bow - 0.004);
    loTop.push(l + gap * 0.65 * body);
    loBot.push(
      l + gap * 0.65 * body + o.lower * Math.pow(Math.max(0, 1 - x * x), 0.8) +
        0.004,
    );
  }
  // shadow under the lower lip
  fillEllipse(cv, frame, {
    cu,
    cv: cvv + o.lower + 0.09 + gap * 0.6,
    ru: w * 0.55,
    rv: 0.06,
  }, { color: o.skinC, shadow: 0.8, feather: 0.05 });
  if (gap > 0) {
    fillBand(cv, frame, {
      cu,
      cv: cvv,
      u0: -w,
      u1: w,
      top: upBot,
      bottom: loTop,
    }, { color: [0.18, 0.05, 0.05] });
    if (o.smile > 0.3) {
      const tb = upBot.map((v, i) => v + (loTop[i] - v) * 0.45);
      fillBand(cv, frame, {
        cu,
        cv: cvv,
        u0: -w * 0.75,
        u1: w * 0.75,
        top: upBot,
        bottom: tb,
      }, { color: [0.88, 0.86, 0.8] });
    }
  }
  fillBand(
    cv,
    frame,
    { cu, cv: cvv, u0: -w, u1: w, top: upTop, bottom: upBot },
    { color: scale(o.lipC, 0.9) },
  );
  fillBand(
    cv,
    frame,
    { cu, cv: cvv, u0: -w, u1: w, top: loTop, bottom: loBot },
    { color: o.lipC },
  );
  fillEllipse(cv, frame, {
    cu,
    cv: cvv + gap * 0.65 + o.lower * 0.45,
    ru: w * 0.4,
    rv: o.lower * 0.25,
  }, { color: scale(o.lipC, 1.15), alpha: 0.4, feather: 0.02 });
  const pts: number[] = [];
  for (let i = 0; i <= n; i++) {
    const x = (-1 + 2 * i / n) * w * 1.03;
    pts.push(cu + x, cvv + (gap > 0 ? upBot[i] : line[i]));
  }
  strokePolyline(cv, frame, pts, Array(n + 1).fill(0.022), {
    color: scale(o.lipC, 0.45),
    alpha: 0.85,
  });
}

function frontHair(
  cv: Canvas,
  frame: Frame,
  o: {
    style: HairStyle;
    head: { cu: number; cv: number; ru: number; rv: number; taperTop: number };
    hairline: number;
    part: number;
    vol: number;
    paint: (alpha?: number) => {
      color: Rgb;
      alpha: number;
      sphere: number;
      tex: number;
      texFreq: readonly [number, number];
      texSeed: number;
    };
    P: (u: number, v: number, z: number) => [number, number];
    sy: number;
    browY: number;
  },
): void {
  const { head, style, vol } = o;
  const n = 25;
  const shift = -o.sy * 0.3; // hair follows the skull, not the features
  /** Hair over the skull, `extra` thicker than it, below the face-space hairline f(x), x in -1..1 across. */
  const cap = (extra: number, f: (x: number) => number, alpha = 1) => {
    const ccv = head.cv - extra * 0.6;
    const below: number[] = [];
    for (let i = 0; i < n; i++) below.push(f(-1 + 2 * i / (n - 1)) - ccv);
    fillEllipse(cv, frame, {
      cu: head.cu + shift * 0.2,
      cv: ccv,
      ru: head.ru + extra * 0.8,
      rv: head.rv + extra,
      taperTop: head.taperTop - extra * 0.3,
      below,
    }, o.paint(alpha));
  };
  const hl = o.hairline;
  const temple = (x: number) =>
    hl + 0.95 * Math.pow(Math.abs(x), 2.5) + 0.05 * x * o.part;
  switch (style) {
    case "bald": {
      cap(0.03, (x) => Math.abs(x) > 0.82 ? 0.15 : -3, 0.9);
      break;
    }
    case "buzz":
      cap(0.04, (x) => temple(x) + 0.05, 0.8);
      break;
    case "short":
      cap(vol, (x) => temple(x));
      break;
    case "sidepart": {
      const p = o.part >= 0 ? 1 : -1;
      cap(
        vol,
        (x) =>
          temple(x) - 0.05 + (x * p > 0 ? 0.12 * (1 - Math.abs(x)) : -0.04),
      );
      const [su, sv] = o.P(-p * 0.35, hl + 0.05, 0.9);
      fillEllipse(cv, frame, {
        cu: su + shift * 0.2,
        cv: sv,
        ru: 0.75,
        rv: 0.22,
        rot: p * 0.25,
      }, o.paint());
      break;
    }
    case "bangs": {
      const fringe = o.browY - 0.12 + 0.04 * o.part;
      cap(
        vol,
        (x) =>
          Math.min(
            0.55,
            fringe + 0.035 * Math.sin(x * 37 + o.part * 5) +
              0.25 * x * x * x * x,
          ),
      );
      break;
    }
    case "medium":
    case "long":
    case "curly": {
      const drop = style === "long" ? 2.3 : style === "curly" ? 1.2 : 1.45;
      cap(vol + (style === "curly" ? 0.3 : 0.05), (x) => {
        const ax = Math.abs(x);
        const front = temple(x) - 0.05;
        return ax > 0.78
          ? front + (ax - 0.78) / 0.22 * (drop - front + hl)
          : front;
      });
      if (style === "curly") {
        for (let k = 0; k < 14; k++) {
          const t = Math.PI * (1.05 + 0.9 * k / 13);
          const [bu, bv] = [
            head.cu + Math.cos(t) * (head.ru + vol + 0.25),
            head.cv + Math.sin(t) * (head.rv + vol + 0.2),
          ];
          fillEllipse(
            cv,
            frame,
            { cu: bu, cv: bv, ru: 0.28, rv: 0.28 },
            o.paint(),
          );
        }
      }
      break;
    }
    case "bun":
      cap(0.06, (x) => temple(x) - 0.03);
      break;
  }
}
