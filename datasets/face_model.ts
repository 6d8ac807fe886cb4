/**
 * The procedural face of the synthetic data set (datasets/synthfaces.ts):
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
  type Light,
  type Paint,
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
  // 72 % never wear glasses, 18 % sometimes, 10 % mostly
  const glassesHabit = rng.next();
  const glassesProb = glassesHabit < 0.72
    ? 0
    : glassesHabit < 0.9
    ? 0.35
    : 0.85;
  const frames: Rgb[] = [
    [0.05, 0.05, 0.05],
    [0.3, 0.18, 0.1],
    [0.6, 0.6, 0.62],
    [0.5, 0.1, 0.1],
    [0.1, 0.12, 0.3],
  ];
  const moles: [number, number, number][] = [];
  const moleCount = rng.next() < 0.4 ? 1 + rng.int(3) : 0;
  for (let i = 0; i < moleCount; i++) {
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

/** A key drawn with probability proportional to its weight. */
function weighted<K extends string>(
  rng: Rng,
  weights: Record<K, number>,
): K {
  const keys = Object.keys(weights) as K[];
  let total = 0;
  for (const k of keys) total += weights[k];
  let remaining = rng.next() * total;
  for (const k of keys) {
    remaining -= weights[k];
    if (remaining < 0) return k;
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

/** Trait values of one photo: the identity's traits plus this photo's drift. */
type Traits = Record<TraitName, number>;

/** Image-level variation of one photo, all drawn before anything is painted. */
interface PhotoVariation {
  /** Head turn (radians); positive moves the nose towards image right. */
  yaw: number;
  /** Head nod (radians); positive moves the nose down. */
  pitch: number;
  /** In-plane rotation of the whole face (radians). */
  roll: number;
  /** 0 (neutral) .. 1 (broad smile). */
  smile: number;
  /** 0 = closed, else 0.2 .. 1 of the widest gap. */
  mouthOpen: number;
  /** Face units upwards (negative lowers the brows). */
  browRaise: number;
  /** Lid opening as a fraction of the eye height (0.15 = a blink). */
  eyeOpen: number;
  /** Iris offset from the eye centre (face units). */
  gaze: [number, number];
  hairStyle: HairStyle;
  beard: Beard;
  glasses: "" | "clear" | "sun";
  hand: boolean;
  hat: boolean;
}

/** Maps face points (u, v, depth z) to the turned and nodded head. */
interface Pose {
  cosYaw: number;
  sinYaw: number;
  cosPitch: number;
  /** Posed position (face units) of the face point (u, v) at depth z. */
  project(u: number, v: number, z: number): [number, number];
  /** Width factor under yaw of a feature at horizontal position u. */
  foreshorten(u: number): number;
}

/** Colours of one photo, linear 0..1, before the light colour. */
interface Palette {
  skin: Rgb;
  hair: Rgb;
  brow: Rgb;
  iris: Rgb;
  lip: Rgb;
  beard: Rgb;
}

/**
 * The head outline (posed face units): `ru` / `rv` are the half-width and
 * the half-height (centre to chin).
 */
interface HeadOutline {
  cu: number;
  cv: number;
  ru: number;
  rv: number;
  taper: number;
  jaw: number;
  taperTop: number;
}

/** Everything the painting steps of one photo share. */
interface FaceContext {
  canvas: Canvas;
  frame: Frame;
  /** The photo's RNG: steps that draw from it must keep their order. */
  rng: Rng;
  identity: Identity;
  /** Seed of the photo (textures of clothing and hat, noise). */
  imageSeed: number;
  /** Scale of pose, lighting, occlusion and blur: 0.5 + difficulty. */
  nuisance: number;
  traits: Traits;
  variation: PhotoVariation;
  pose: Pose;
  colors: Palette;
  /** Distance between the eye centres (face units, about 1). */
  eyeSpacing: number;
  head: HeadOutline;
  /** Posed v of the chin (face units). */
  chinV: number;
  /** How far hair stands off the skull (face units). */
  hairVolume: number;
}

/** Where the mouth is drawn, shared by the painter and the landmarks. */
interface MouthPlacement {
  /** Posed centre (face units). */
  center: [number, number];
  /** Half-width before foreshortening (face units). */
  halfWidth: number;
  /** Height of the corners relative to the centre (face units, + = down). */
  curve: number;
}

/**
 * Renders one photo of `id`. `seed` drives all image-level variation;
 * `difficulty` scales it (module doc).
 */
export function renderFace(
  id: Identity,
  options: { seed: number; difficulty: number; layout: Layout },
): RenderedFace {
  const rng = new Rng(options.seed);
  const difficulty = clamp(options.difficulty, 0, 1);
  const drift = 0.1 + 0.5 * difficulty;
  const nuisance = 0.5 + difficulty;
  const layout = options.layout;
  const traits = drawPhotoTraits(id, rng, drift);
  const variation = sampleVariation(
    id,
    rng,
    difficulty,
    nuisance,
    layout.jitter.roll,
  );
  const lighting = sampleLighting(rng, nuisance);
  const colors = paletteOf(traits, id);
  const eyeSpacing = clamp(traits.eyeSpacing, 0.85, 1.15);
  const frame = placeFace(layout, eyeSpacing, variation.roll, rng, nuisance);
  const pose = poseOf(variation.yaw, variation.pitch);
  const canvas = reusedCanvas(layout.width, layout.height);
  canvas.light = lighting.light;
  const face: FaceContext = {
    canvas,
    frame,
    rng,
    identity: id,
    imageSeed: options.seed,
    nuisance,
    traits,
    variation,
    pose,
    colors,
    eyeSpacing,
    ...headGeometry(traits, pose),
  };

  // Painter's order: each step covers what the earlier ones drew.
  paintBackground(canvas, rng, nuisance);
  paintNeckAndShoulders(face);
  paintHairBehindHead(face);
  paintEars(face);
  paintHeadSkin(face);
  paintBlush(face);
  paintFrecklesAndMoles(face);
  paintWrinkles(face);
  paintJawBeard(face);
  paintNose(face);
  paintEyes(face);
  paintBrows(face);
  const mouth = mouthPlacement(face);
  paintMouth(face, mouth);
  paintMustache(face);
  paintFrontHair(face);
  paintGlasses(face);
  paintHat(face);
  paintHand(face);

  const landmarks = faceLandmarks(face, mouth);
  const pixels = developPhoto(face, lighting.color);
  return {
    pixels,
    width: layout.width,
    height: layout.height,
    landmarks,
    quality: Math.round(rng.uniform(72, 95)),
  };
}

/**
 * One canvas per image size, reused by every photo of that size (a fresh
 * 178x218 canvas is 0.6 MB of new memory per photo). Safe because
 * `paintBackground` first sets every albedo and shade value
 * (`fillGradient`, `fillShade`) and rendering is synchronous.
 */
const canvases = new Map<string, Canvas>();

function reusedCanvas(width: number, height: number): Canvas {
  const key = `${width}x${height}`;
  let canvas = canvases.get(key);
  if (!canvas) canvases.set(key, canvas = new Canvas(width, height));
  return canvas;
}

/**
 * This photo's traits: each identity z-score drifts by `drift` (times the
 * trait's own factor) and maps to mean + std * z.
 */
function drawPhotoTraits(id: Identity, rng: Rng, drift: number): Traits {
  const traits = {} as Traits;
  for (const name of TRAIT_NAMES) {
    const [mean, std, driftFactor = 1] = TRAITS[name] as readonly number[];
    traits[name] = mean +
      std * clamp(id.z[name] + driftFactor * drift * rng.normal(), -3, 3);
  }
  return traits;
}

/** Pose, expression, hair/beard changes and occluders of one photo. */
function sampleVariation(
  id: Identity,
  rng: Rng,
  difficulty: number,
  nuisance: number,
  rollStd: number,
): PhotoVariation {
  const yaw = clamp(rng.normal() * 0.2 * nuisance, -0.6, 0.6);
  const pitch = clamp(rng.normal() * 0.1 * nuisance, -0.35, 0.35);
  const roll = rng.normal() * rollStd * nuisance;
  const smile = Math.pow(rng.next(), 1.6);
  const mouthOpen = rng.next() < 0.25 * nuisance ? rng.uniform(0.2, 1) : 0;
  const browRaise = rng.normal() * 0.03 * nuisance;
  const blink = rng.next() < 0.04 * nuisance;
  // smiling narrows the eyes
  const eyeOpen = blink
    ? 0.15
    : clamp(1 - 0.25 * smile + rng.normal() * 0.08 * nuisance, 0.4, 1.15);
  const gaze: [number, number] = [
    rng.normal() * 0.025 * nuisance,
    rng.normal() * 0.015 * nuisance,
  ];
  let hairStyle = id.hairStyle;
  if (rng.next() < 0.04 + 0.2 * difficulty) {
    const neighbours = NEIGHBOUR_STYLE[hairStyle];
    hairStyle = neighbours[rng.int(neighbours.length)];
  }
  let beard = id.beard;
  if (beard !== "none" && rng.next() < 0.08 + 0.2 * difficulty) {
    beard = rng.next() < 0.5 ? "none" : "stubble";
  }
  const glasses = rng.next() < id.glassesProb
    ? "clear"
    : rng.next() < 0.02 * nuisance
    ? "sun"
    : "";
  const hand = rng.next() < 0.025 + 0.06 * difficulty;
  const hat = rng.next() < 0.02 + 0.04 * difficulty;
  return {
    yaw,
    pitch,
    roll,
    smile,
    mouthOpen,
    browRaise,
    eyeOpen,
    gaze,
    hairStyle,
    beard,
    glasses,
    hand,
    hat,
  };
}

/** Light direction, ambient share and colour temperature of one photo. */
function sampleLighting(
  rng: Rng,
  nuisance: number,
): { light: Light; color: Rgb } {
  const azimuth = rng.uniform(-Math.PI, Math.PI);
  // angle of the light from the view axis (radians)
  const elevation = clamp(0.25 + rng.next() * 0.55 * nuisance, 0.1, 1.3);
  // towards the light in image axes (x right, y down, z viewer); light from
  // above is more common (the -0.25)
  const towards: [number, number, number] = [
    Math.sin(elevation) * Math.cos(azimuth),
    Math.sin(elevation) * Math.sin(azimuth) * 0.6 - 0.25,
    Math.cos(elevation),
  ];
  const length = Math.hypot(...towards);
  const ambient = clamp(0.42 + rng.normal() * 0.08, 0.25, 0.6);
  // > 0: warmer (more red, less blue)
  const warmth = rng.normal() * 0.08 * nuisance;
  return {
    light: {
      dir: [towards[0] / length, towards[1] / length, towards[2] / length],
      ambient,
      diffuse: 1 - ambient + 0.1,
    },
    color: [1 + warmth, 1, 1 - warmth * 1.3],
  };
}

/** Skin, hair (red tint, graying), brow, iris, lip and beard colours. */
function paletteOf(traits: Traits, id: Identity): Palette {
  const skinBase = ramp(SKIN, traits.skinTone);
  const warm = traits.skinWarm * 0.04;
  const skin: Rgb = [
    skinBase[0] * (1 + warm),
    skinBase[1],
    skinBase[2] * (1 - warm * 1.5),
  ];
  const hairBase = ramp(HAIR, traits.hairMel);
  // red shows less in dark hair
  let hair = mix(
    hairBase,
    [0.62, 0.24, 0.09],
    clamp(traits.hairRed, 0, 0.8) * (1 - traits.hairMel * 0.6),
  );
  // graying with age (the wrinkle trait)
  const gray = clamp(
    id.z.wrinkle * 0.3 + (traits.wrinkle - 0.2) * 1.5,
    0,
    0.9,
  );
  hair = mix(hair, [0.72, 0.72, 0.72], gray);
  const brow = mix(
    scale(hair, 0.8),
    [0.08, 0.06, 0.05],
    clamp(traits.browDark, 0, 1) * 0.6,
  );
  const lip = mix(
    scale(skin, 0.78),
    [0.7, 0.25, 0.28],
    0.15 + clamp(traits.lipRed, 0, 1) * 0.55,
  );
  return {
    skin,
    hair,
    brow,
    iris: ramp(IRIS, traits.irisHue),
    lip,
    beard: mix(hair, [0.1, 0.08, 0.07], 0.3),
  };
}

/**
 * Face -> pixel frame: the layout's inter-ocular distance over the person's
 * eye spacing, with scale, shift and roll jitter.
 */
function placeFace(
  layout: Layout,
  eyeSpacing: number,
  roll: number,
  rng: Rng,
  nuisance: number,
): Frame {
  const pixelsPerUnit = layout.iod / eyeSpacing *
    Math.exp(rng.normal() * layout.jitter.scale * nuisance);
  return {
    s: pixelsPerUnit,
    rot: roll,
    tx: layout.eyeX + rng.normal() * layout.jitter.shift * nuisance,
    ty: layout.eyeY + rng.normal() * layout.jitter.shift * nuisance,
  };
}

/** Yaw and pitch as depth-dependent feature shifts. */
function poseOf(yaw: number, pitch: number): Pose {
  const cosYaw = Math.cos(yaw),
    sinYaw = Math.sin(yaw),
    cosPitch = Math.cos(pitch),
    sinPitch = Math.sin(pitch);
  // keeps the eye midpoint (depth 0.75) where the layout puts it
  const offset: [number, number] = [0.75 * sinYaw, 0.75 * sinPitch];
  return {
    cosYaw,
    sinYaw,
    cosPitch,
    project: (u, v, z) => [
      u * cosYaw + z * sinYaw - offset[0],
      v * cosPitch + z * sinPitch - offset[1],
    ],
    // a feature on a cylinder of radius 1.4 face units turned by yaw
    foreshorten: (u) =>
      clamp(
        Math.cos(yaw + Math.asin(clamp(u / 1.4, -0.9, 0.9))) /
          Math.cos(Math.asin(clamp(u / 1.4, -0.9, 0.9))),
        0.35,
        1.1,
      ),
  };
}

/** The posed head outline, chin height and hair volume. */
function headGeometry(
  traits: Traits,
  pose: Pose,
): { head: HeadOutline; chinV: number; hairVolume: number } {
  const headW = clamp(traits.headW, 0.9, 1.4),
    headH = clamp(traits.headH, 1.6, 2.1);
  const [centerU, centerV] = pose.project(0, traits.headCv, 0);
  return {
    head: {
      cu: centerU,
      cv: centerV,
      ru: headW,
      rv: headH,
      taper: clamp(traits.taper, 0.05, 0.6),
      jaw: clamp(traits.jaw, 1.8, 5),
      taperTop: clamp(traits.headTop, -0.3, 0.05),
    },
    chinV: centerV + headH * pose.cosPitch,
    hairVolume: clamp(traits.hairVolume, 0.02, 0.3),
  };
}

/** Hair paint: vertical strands (texture 38 x 5 cycles per face unit). */
function hairPaint(face: FaceContext, alpha = 1): Paint {
  return {
    color: face.colors.hair,
    alpha,
    sphere: 0.55,
    tex: 0.5,
    texFreq: [38, 5] as const,
    texSeed: face.identity.seed,
  };
}

/** Gradient, side shading and random clutter (ellipses, boxes, strokes). */
function paintBackground(canvas: Canvas, rng: Rng, nuisance: number): void {
  const top: Rgb = [
    rng.uniform(0.1, 0.9),
    rng.uniform(0.1, 0.9),
    rng.uniform(0.1, 0.9),
  ];
  const bottom = mix(
    top,
    [rng.next(), rng.next(), rng.next()],
    rng.uniform(0.1, 0.6),
  );
  fillGradient(canvas, top, bottom);
  const leftShade = rng.uniform(0.7, 1.1);
  fillShade(canvas, leftShade, leftShade + rng.normal() * 0.15);
  const clutter = 2 + rng.int(Math.round(4 + 4 * nuisance));
  const width = canvas.w, height = canvas.h;
  for (let i = 0; i < clutter; i++) {
    const color: Rgb = [rng.next(), rng.next(), rng.next()];
    const kind = rng.int(3);
    // position, edge softness and sizes in pixels
    const x = rng.uniform(0, width), y = rng.uniform(0, height);
    const feather = rng.uniform(0, 6);
    const alpha = rng.uniform(0.4, 1);
    if (kind === 0) {
      fillEllipse(canvas, PIXEL_FRAME, {
        cu: x,
        cv: y,
        ru: rng.uniform(8, width * 0.4),
        rv: rng.uniform(8, height * 0.4),
        rot: rng.uniform(0, 3),
      }, { color, alpha, feather });
    } else if (kind === 1) {
      const boxW = rng.uniform(10, width * 0.6),
        boxH = rng.uniform(10, height * 0.6);
      fillBand(canvas, PIXEL_FRAME, {
        cu: x,
        cv: y,
        rot: rng.normal() * 0.3,
        u0: -boxW / 2,
        u1: boxW / 2,
        top: [-boxH / 2, -boxH / 2],
        bottom: [boxH / 2, boxH / 2],
      }, { color, alpha, feather });
    } else {
      strokePolyline(
        canvas,
        PIXEL_FRAME,
        [x, y, rng.uniform(0, width), rng.uniform(0, height)],
        [rng.uniform(1, 8), rng.uniform(1, 8)],
        { color, alpha, feather: feather * 0.3 },
      );
    }
  }
}

/** Neck (with the chin's shadow on it) and clothed shoulders. */
function paintNeckAndShoulders(face: FaceContext): void {
  const { canvas, frame, rng, head, chinV } = face;
  const skin = face.colors.skin;
  const cloth: Rgb = [
    rng.uniform(0.05, 0.85),
    rng.uniform(0.05, 0.85),
    rng.uniform(0.05, 0.85),
  ];
  // the neck and shoulders turn less than the head
  fillEllipse(canvas, frame, {
    cu: head.cu * 0.7,
    cv: chinV + 0.4,
    ru: head.ru * 0.62,
    rv: 1.2,
    clipTop: -0.6,
  }, { color: scale(skin, 0.97), sphere: 0.45 });
  fillEllipse(canvas, frame, {
    cu: head.cu * 0.7,
    cv: chinV + 0.02,
    ru: head.ru * 0.55,
    rv: 0.3,
  }, { color: skin, shadow: 0.72, feather: 0.18 });
  fillEllipse(
    canvas,
    frame,
    { cu: head.cu * 0.5, cv: chinV + 1.85, ru: 3.2, rv: 1.35 },
    {
      color: cloth,
      sphere: 0.5,
      tex: 0.15,
      texFreq: [6, 6],
      texSeed: face.imageSeed,
    },
  );
}

/** Hair that hangs behind the head (longer styles) or a bun on top. */
function paintHairBehindHead(face: FaceContext): void {
  const { canvas, frame, head } = face;
  const style = face.variation.hairStyle;
  if (
    style === "long" || style === "medium" || style === "curly" ||
    style === "bangs"
  ) {
    // length in head heights
    const length = style === "long"
      ? 1.55
      : style === "curly"
      ? 1.05
      : style === "bangs"
      ? 1.2
      : 0.95;
    fillEllipse(canvas, frame, {
      cu: head.cu,
      cv: head.cv + (length - 1) * 0.9,
      ru: head.ru + face.hairVolume + (style === "curly" ? 0.35 : 0.12),
      rv: head.rv * length * 0.95,
      taper: style === "long" ? -0.1 : 0.15,
    }, hairPaint(face));
  }
  if (style === "bun") {
    fillEllipse(canvas, frame, {
      cu: head.cu + 0.1 * face.pose.sinYaw,
      cv: head.cv - head.rv - 0.1,
      ru: 0.42,
      rv: 0.33,
    }, hairPaint(face));
  }
}

/** Ears with a shaded hollow; the near ear widens, the far one narrows. */
function paintEars(face: FaceContext): void {
  const { canvas, frame, traits, pose, head } = face;
  const skin = face.colors.skin;
  const earSize = clamp(traits.earSize, 0.7, 1.3);
  for (const side of [-1, 1]) {
    const [earU, earV] = pose.project(
      side * head.ru * 0.97,
      traits.earY,
      -0.15,
    );
    const visible = clamp(1 + side * pose.sinYaw * 1.6, 0.25, 1.3);
    fillEllipse(canvas, frame, {
      cu: earU,
      cv: earV,
      ru: 0.17 * earSize * visible,
      rv: 0.3 * earSize,
      rot: side * 0.12,
    }, { color: scale(skin, 0.95), sphere: 0.7 });
    fillEllipse(canvas, frame, {
      cu: earU + side * 0.03,
      cv: earV,
      ru: 0.08 * earSize * visible,
      rv: 0.18 * earSize,
    }, { color: skin, shadow: 0.75, feather: 0.03 });
  }
}

/** The head outline in skin with a faint pore texture (30 cycles per unit). */
function paintHeadSkin(face: FaceContext): void {
  fillEllipse(face.canvas, face.frame, face.head, {
    color: face.colors.skin,
    sphere: 0.75,
    tex: 0.05,
    texFreq: [30, 30],
    texSeed: face.identity.seed,
  });
}

/** Reddish cheeks. */
function paintBlush(face: FaceContext): void {
  const { pose } = face;
  for (const side of [-1, 1]) {
    const [cheekU, cheekV] = pose.project(side * 0.55, 0.62, 0.6);
    fillEllipse(face.canvas, face.frame, {
      cu: cheekU,
      cv: cheekV,
      ru: 0.26 * pose.foreshorten(side * 0.55),
      rv: 0.18,
    }, {
      color: [0.85, 0.35, 0.35],
      alpha: clamp(face.traits.blush, 0, 0.4),
      feather: 0.15,
    });
  }
}

/**
 * Freckles (their own RNG from the identity seed, so they stay put across
 * photos) and moles (hidden when they would fall off the face).
 */
function paintFrecklesAndMoles(face: FaceContext): void {
  const { canvas, frame, identity, pose } = face;
  if (identity.freckles > 0) {
    const freckleRng = new Rng(identity.seed ^ 0x51f);
    for (let i = 0; i < 40 * identity.freckles; i++) {
      const [freckleU, freckleV] = pose.project(
        freckleRng.uniform(-0.75, 0.75),
        freckleRng.uniform(0.2, 0.8),
        0.8,
      );
      fillEllipse(canvas, frame, {
        cu: freckleU,
        cv: freckleV,
        ru: 0.018,
        rv: 0.018,
      }, {
        color: scale(face.colors.skin, 0.72),
        alpha: 0.6,
      });
    }
  }
  for (const [moleU, moleV, radius] of identity.moles) {
    if (Math.abs(moleU) > face.head.ru * 0.85) continue;
    const [posedU, posedV] = pose.project(moleU, moleV, 0.7);
    fillEllipse(
      canvas,
      frame,
      { cu: posedU, cv: posedV, ru: radius, rv: radius },
      { color: [0.22, 0.13, 0.09] },
    );
  }
}

/** Forehead lines (with age) and nasolabial folds (deepened by a smile). */
function paintWrinkles(face: FaceContext): void {
  const { canvas, frame, traits } = face;
  const project = face.pose.project;
  const skin = face.colors.skin;
  const smile = face.variation.smile;
  const age = clamp(traits.wrinkle, 0, 0.8);
  if (age > 0.15) {
    for (let k = 0; k < 3; k++) {
      const lineV = -0.62 - k * 0.12;
      strokePolyline(
        canvas,
        frame,
        [
          ...project(-0.5, lineV + 0.02, 0.8),
          ...project(0, lineV, 0.9),
          ...project(0.5, lineV + 0.02, 0.8),
        ],
        [0.012, 0.018, 0.012],
        { color: skin, shadow: 0.8, alpha: age, feather: 0.01 },
      );
    }
  }
  for (const side of [-1, 1]) {
    const besideNose = project(
      side * (traits.noseW + 0.05),
      traits.noseY + 0.02,
      0.95,
    );
    const besideMouth = project(
      side * (traits.mouthW + 0.08 + 0.06 * smile),
      traits.mouthY + 0.02,
      0.8,
    );
    const control = project(
      side * (traits.noseW + 0.22),
      (traits.noseY + traits.mouthY) / 2,
      0.9,
    );
    strokePolyline(
      canvas,
      frame,
      quadPoints(besideNose, control, besideMouth, 6),
      [0.02, 0.03, 0.03, 0.025, 0.02, 0.015, 0.01],
      {
        color: skin,
        shadow: 0.82,
        alpha: clamp(0.25 + smile * 0.6 + age, 0, 1),
        feather: 0.03,
      },
    );
  }
}

/**
 * Facial hair on the jaw and chin, painted before the mouth so that the
 * lips sit on top: full, stubble and chinstrap cover the head outline below
 * a cheek line, a goatee is an ellipse under the mouth.
 */
function paintJawBeard(face: FaceContext): void {
  const { canvas, frame, traits, head } = face;
  const project = face.pose.project;
  const beard = face.variation.beard;
  const beardColor = face.colors.beard;
  if (beard === "full" || beard === "stubble" || beard === "chinstrap") {
    const samples = 17;
    const above: number[] = [];
    for (let i = 0; i < samples; i++) {
      const u = -1 + 2 * i / (samples - 1);
      // top of the beard region, local v relative to the head centre
      const cheek = beard === "chinstrap" ? 1.35 : 0.28;
      above.push(
        project(0, traits.noseY + cheek, 0.9)[1] - head.cv - 0.45 * u * u,
      );
    }
    fillEllipse(canvas, frame, {
      ...head,
      ru: head.ru + 0.02,
      rv: head.rv + 0.05,
      above,
    }, {
      color: beard === "stubble"
        ? mix(face.colors.skin, beardColor, 0.5)
        : beardColor,
      alpha: beard === "stubble" ? 0.45 : clamp(traits.beardDensity, 0.4, 1),
      tex: beard === "stubble" ? 1.2 : 0.7,
      texFreq: beard === "stubble" ? [90, 90] : [50, 12],
      texSeed: face.identity.seed + 7,
      feather: 0.06,
    });
  }
  if (beard === "goatee") {
    const [goateeU, goateeV] = project(0, traits.mouthY + 0.4, 0.85);
    fillEllipse(canvas, frame, {
      cu: goateeU,
      cv: goateeV,
      ru: 0.3 * face.pose.cosYaw,
      rv: 0.35,
    }, {
      color: beardColor,
      alpha: clamp(traits.beardDensity, 0.5, 1),
      tex: 0.7,
      texFreq: [50, 12],
      texSeed: face.identity.seed + 7,
      feather: 0.05,
    });
  }
}

/** Bridge shadow, wings, nostrils, tip with its highlight and cast shadow. */
function paintNose(face: FaceContext): void {
  const { canvas, frame, traits, pose } = face;
  const project = pose.project;
  const skin = face.colors.skin;
  const lightDir = canvas.light.dir;
  const noseY = traits.noseY, noseW = clamp(traits.noseW, 0.14, 0.3);
  const [tipU, tipV] = project(0, noseY, 1.15);
  const lightSide = lightDir[0] >= 0 ? 1 : -1;
  // bridge shadow on the side away from the light (and the far side under yaw)
  {
    const side = Math.abs(pose.sinYaw) > 0.12
      ? (pose.sinYaw > 0 ? -1 : 1)
      : -lightSide;
    const root = project(side * 0.09, -0.05, 0.85),
      lower = project(side * 0.11, noseY - 0.08, 1.05);
    strokePolyline(canvas, frame, [...root, ...lower], [0.04, 0.08], {
      color: skin,
      shadow: 0.88 - 0.1 * clamp(traits.bridge, 0, 1),
      feather: 0.09,
    });
  }
  for (const side of [-1, 1]) {
    const [wingU, wingV] = project(side * noseW * 0.82, noseY + 0.03, 1.0);
    fillEllipse(canvas, frame, {
      cu: wingU,
      cv: wingV,
      ru: 0.085 * pose.foreshorten(side * 0.2),
      rv: 0.075,
    }, { color: scale(skin, 0.93), sphere: 0.5, feather: 0.01 });
    const [nostrilU, nostrilV] = project(
      side * noseW * 0.45,
      noseY + 0.07,
      1.05,
    );
    const nostrilR = clamp(traits.nostril, 0.015, 0.06);
    fillEllipse(canvas, frame, {
      cu: nostrilU,
      cv: nostrilV,
      ru: nostrilR * 1.3 * pose.foreshorten(side * 0.2),
      rv: nostrilR * 0.75,
      rot: side * 0.3,
    }, { color: scale(skin, 0.3), alpha: 0.9, feather: 0.01 });
  }
  fillEllipse(
    canvas,
    frame,
    { cu: tipU, cv: tipV - 0.02, ru: 0.1, rv: 0.085 },
    { color: skin, sphere: 0.6 },
  );
  fillEllipse(canvas, frame, {
    cu: tipU + lightDir[0] * 0.04,
    cv: tipV - 0.04,
    ru: 0.04,
    rv: 0.03,
  }, { color: scale(skin, 1.15), alpha: 0.5, feather: 0.03 });
  // cast shadow of the nose, opposite the light
  fillEllipse(canvas, frame, {
    cu: tipU - lightDir[0] * 0.15,
    cv: tipV + 0.13,
    ru: 0.12,
    rv: 0.05,
  }, { color: skin, shadow: 0.75, feather: 0.05 });
}

/** Both eyes, at ± half the eye spacing, depth 0.75. */
function paintEyes(face: FaceContext): void {
  const { traits, pose, variation, eyeSpacing } = face;
  for (const side of [-1, 1]) {
    paintEye(face.canvas, face.frame, {
      side,
      center: pose.project(side * eyeSpacing / 2, 0, 0.75),
      gaze: variation.gaze,
      halfWidth: clamp(traits.eyeW, 0.16, 0.3) *
        pose.foreshorten(side * eyeSpacing / 2),
      height: clamp(traits.eyeH, 0.05, 0.14) * pose.cosPitch,
      open: variation.eyeOpen,
      tilt: traits.eyeTilt,
      irisColor: face.colors.iris,
      irisR: clamp(traits.irisR, 0.07, 0.12),
      lidHeavy: clamp(traits.lidHeavy, 0, 1),
      skin: face.colors.skin,
    });
  }
}

/** Brows: a quadratic arch from the inner end, thinning towards the tail. */
function paintBrows(face: FaceContext): void {
  const { traits } = face;
  const project = face.pose.project;
  const browRaise = face.variation.browRaise;
  for (const side of [-1, 1]) {
    const inner = clamp(traits.browInner, 0.04, 0.25);
    const length = clamp(traits.browLen, 0.45, 0.75);
    const browV = traits.browY - browRaise;
    const innerEnd = project(
      side * inner,
      browV + traits.browSlope * 0.5,
      0.8,
    );
    const tail = project(
      side * (inner + length),
      browV - traits.browSlope * 0.5 + 0.06,
      0.7,
    );
    const control = project(
      side * (inner + length * 0.6),
      browV - clamp(traits.browArch, 0, 0.15) * 2 - browRaise,
      0.78,
    );
    const thick = clamp(traits.browThick, 0.03, 0.13);
    strokePolyline(
      face.canvas,
      face.frame,
      quadPoints(innerEnd, control, tail, 8),
      [
        thick * 1.1,
        thick * 1.15,
        thick * 1.1,
        thick,
        thick * 0.9,
        thick * 0.8,
        thick * 0.65,
        thick * 0.5,
        thick * 0.3,
      ],
      {
        color: face.colors.brow,
        alpha: 0.92,
        tex: 0.6,
        texFreq: [60, 60],
        texSeed: face.identity.seed + side,
        feather: 0.008,
      },
    );
  }
}

/** Mouth centre, width and corner height; a smile widens and lifts it. */
function mouthPlacement(face: FaceContext): MouthPlacement {
  const { traits } = face;
  const smile = face.variation.smile;
  return {
    center: face.pose.project(0, traits.mouthY, 0.9),
    halfWidth: clamp(traits.mouthW, 0.32, 0.55) * (1 + 0.12 * smile),
    curve: traits.mouthCurve - 0.09 * smile,
  };
}

/** The lips (and teeth when open) at `mouth`. */
function paintMouth(face: FaceContext, mouth: MouthPlacement): void {
  const { traits } = face;
  drawLips(face.canvas, face.frame, {
    center: mouth.center,
    halfWidth: mouth.halfWidth,
    upper: clamp(traits.upperLip, 0.03, 0.11),
    lower: clamp(traits.lowerLip, 0.05, 0.15),
    curve: mouth.curve,
    open: face.variation.mouthOpen,
    smile: face.variation.smile,
    lipColor: face.colors.lip,
    skin: face.colors.skin,
    cosYaw: face.pose.cosYaw,
  });
}

/** Mustache (also part of full beards and goatees) above the upper lip. */
function paintMustache(face: FaceContext): void {
  const beard = face.variation.beard;
  if (beard !== "mustache" && beard !== "full" && beard !== "goatee") return;
  const { traits } = face;
  const cosYaw = face.pose.cosYaw;
  const halfWidth = clamp(traits.mouthW, 0.32, 0.55) + 0.06;
  const [centerU, centerV] = face.pose.project(
    0,
    traits.mouthY - clamp(traits.upperLip, 0.03, 0.11) - 0.07,
    0.95,
  );
  const top: number[] = [], bottom: number[] = [];
  for (let i = 0; i <= 10; i++) {
    const x = -1 + i / 5;
    top.push(-0.07 + 0.05 * x * x);
    bottom.push(0.05 + 0.1 * x * x);
  }
  fillBand(face.canvas, face.frame, {
    cu: centerU,
    cv: centerV,
    u0: -halfWidth * cosYaw,
    u1: halfWidth * cosYaw,
    top,
    bottom,
  }, {
    color: face.colors.beard,
    alpha: clamp(traits.beardDensity, 0.5, 1),
    tex: 0.7,
    texFreq: [60, 10],
    texSeed: face.identity.seed + 9,
    feather: 0.03,
  });
}

/** Clear or sun glasses: lenses, rims, temples to the ears and the bridge. */
function paintGlasses(face: FaceContext): void {
  const glasses = face.variation.glasses;
  if (!glasses) return;
  const { canvas, frame, identity, pose, eyeSpacing } = face;
  const [aspect, size] = identity.glassesShape;
  const rimColor = glasses === "sun"
    ? [0.05, 0.05, 0.05] as Rgb
    : identity.glassesColor;
  const centers = [-1, 1].map((side) =>
    pose.project(side * eyeSpacing / 2, 0.03, 0.95)
  );
  for (let k = 0; k < 2; k++) {
    const side = k === 0 ? -1 : 1;
    const [lensU, lensV] = centers[k];
    const ru = size * pose.foreshorten(side * eyeSpacing / 2),
      rv = size * aspect * 1.1;
    fillEllipse(
      canvas,
      frame,
      { cu: lensU, cv: lensV, ru, rv },
      glasses === "sun"
        ? { color: [0.04, 0.04, 0.05], alpha: 0.92 }
        : { color: [0.85, 0.9, 0.95], alpha: 0.1 },
    );
    fillEllipse(canvas, frame, {
      cu: lensU,
      cv: lensV,
      ru,
      rv,
      ring: 0.035,
    }, {
      color: rimColor,
    });
    const [templeU, templeV] = pose.project(side * face.head.ru * 0.98, 0, 0.2);
    strokePolyline(
      canvas,
      frame,
      [lensU + side * ru, lensV - rv * 0.3, templeU, templeV],
      [0.03, 0.03],
      { color: rimColor },
    );
  }
  strokePolyline(
    canvas,
    frame,
    [...quadPoints(
      [centers[0][0] + size * 0.9, centers[0][1] - 0.05],
      [(centers[0][0] + centers[1][0]) / 2, centers[0][1] - 0.12],
      [centers[1][0] - size * 0.9, centers[1][1] - 0.05],
      4,
    )],
    [0.03, 0.03, 0.03, 0.03, 0.03],
    { color: rimColor },
  );
}

/** A hat: crown over the skull above a random line, and a brim. */
function paintHat(face: FaceContext): void {
  if (!face.variation.hat) return;
  const { canvas, frame, rng, head, hairVolume } = face;
  const hatColor: Rgb = [
    rng.uniform(0.05, 0.8),
    rng.uniform(0.05, 0.8),
    rng.uniform(0.05, 0.8),
  ];
  // face-space v of the lower edge (the hairline is near -1.08)
  const edgeV = -0.95 - rng.uniform(0, 0.25);
  const below: number[] = [];
  for (let i = 0; i < 9; i++) below.push(edgeV - head.cv);
  fillEllipse(canvas, frame, {
    cu: head.cu,
    cv: head.cv,
    ru: head.ru + hairVolume + 0.12,
    rv: head.rv + hairVolume + 0.15,
    below,
  }, {
    color: hatColor,
    sphere: 0.6,
    tex: 0.1,
    texFreq: [8, 8],
    texSeed: face.imageSeed,
  });
  const brim = face.pose.project(0, edgeV, 1.0);
  fillEllipse(canvas, frame, {
    cu: brim[0],
    cv: brim[1],
    ru: head.ru + 0.35,
    rv: 0.12,
  }, { color: scale(hatColor, 0.85), sphere: 0.4 });
}

/** A hand raised to the face: palm low (often cut by the frame), fingers up. */
function paintHand(face: FaceContext): void {
  if (!face.variation.hand) return;
  const { canvas, frame, rng } = face;
  const side = rng.next() < 0.5 ? -1 : 1;
  const [handU, handV] = face.pose.project(
    side * rng.uniform(0.15, 0.75),
    rng.uniform(1.1, 1.8),
    1.2,
  );
  const handColor = scale(face.colors.skin, rng.uniform(0.92, 1.05));
  // tilt of the hand from upright (radians)
  const angle = rng.uniform(-0.5, 0.5) + side * 0.2;
  const cosA = Math.cos(angle), sinA = Math.sin(angle);
  fillEllipse(canvas, frame, {
    cu: handU - sinA * 0.55,
    cv: handV + cosA * 0.55,
    ru: 0.36,
    rv: 0.5,
    rot: angle,
  }, { color: handColor, sphere: 0.6 });
  const fingerLengths = [0.5, 0.62, 0.66, 0.58];
  for (let k = 0; k < 4; k++) {
    // fingers 0.165 face units apart across the knuckle line
    const across = (k - 1.5) * 0.165;
    const baseU = handU + across * cosA, baseV = handV + across * sinA;
    const length = fingerLengths[k];
    const tipU = baseU + sinA * length, tipV = baseV - cosA * length;
    strokePolyline(
      canvas,
      frame,
      [baseU - sinA * 0.2, baseV + cosA * 0.2, tipU, tipV],
      [0.16, 0.13],
      { color: handColor },
    );
    // the gap to the previous finger
    if (k > 0) {
      strokePolyline(
        canvas,
        frame,
        [
          baseU - 0.0825 * cosA,
          baseV - 0.0825 * sinA,
          baseU - 0.0825 * cosA + sinA * length * 0.8,
          baseV - 0.0825 * sinA - cosA * length * 0.8,
        ],
        [0.012, 0.008],
        { color: handColor, shadow: 0.6, feather: 0.012 },
      );
    }
    // fingernail
    fillEllipse(canvas, frame, {
      cu: tipU - sinA * 0.05,
      cv: tipV + cosA * 0.05,
      ru: 0.04,
      rv: 0.03,
      rot: angle,
    }, { color: scale(handColor, 1.1), alpha: 0.5, feather: 0.02 });
  }
}

/**
 * Landmarks as drawn (pixels, CelebA order): eye centres, nose tip, mouth
 * corners (the mouth is drawn `halfWidth * cos(yaw)` wide about its centre).
 */
function faceLandmarks(face: FaceContext, mouth: MouthPlacement): number[] {
  const { pose, eyeSpacing } = face;
  const [mouthU, mouthV] = mouth.center;
  const points: [number, number][] = [
    pose.project(-eyeSpacing / 2, 0, 0.75),
    pose.project(eyeSpacing / 2, 0, 0.75),
    pose.project(0, face.traits.noseY, 1.15),
    [mouthU - mouth.halfWidth * pose.cosYaw, mouthV + mouth.curve],
    [mouthU + mouth.halfWidth * pose.cosYaw, mouthV + mouth.curve],
  ];
  return points.flatMap(([u, v]) => toPixel(face.frame, u, v));
}

/**
 * Camera and post-processing: light colour, exposure, contrast, rare
 * black-and-white, blur (pixels) and noise (0..255 scale).
 */
function developPhoto(face: FaceContext, lightColor: Rgb): Uint8Array {
  const { rng, nuisance } = face;
  return compose(face.canvas, {
    lightColor,
    exposure: Math.exp(rng.normal() * 0.12 * nuisance) * 0.97,
    contrast: clamp(1 + rng.normal() * 0.1 * nuisance, 0.7, 1.3),
    desaturate: rng.next() < 0.03 ? 1 : 0,
    blur: rng.next() < 0.3 * nuisance ? rng.uniform(0.3, 1.6) * nuisance : 0,
    noise: rng.uniform(0, 5) * nuisance,
    seed: face.imageSeed,
  });
}

/** One eye in posed face units. */
interface EyeShape {
  /** -1 = the image-left eye, 1 = the image-right one. */
  side: number;
  center: [number, number];
  gaze: [number, number];
  halfWidth: number;
  /** Fully open height of the upper lid above the centre line. */
  height: number;
  /** Lid opening, fraction of `height`. */
  open: number;
  /** Outer corners up (radians). */
  tilt: number;
  irisColor: Rgb;
  irisR: number;
  /** 0..1: thicker lash line, crease closer to the lid. */
  lidHeavy: number;
  skin: Rgb;
}

/** Lid curves of an eye: v offsets at `EYE_SAMPLES + 1` points across it. */
interface EyeOutline {
  /** In-plane rotation of the eye (radians). */
  rot: number;
  /** Height of the upper lid's opening. */
  upperOpening: number;
  top: number[];
  bottom: number[];
}

/** Segments across an eye's width. */
const EYE_SAMPLES = 12;

/** Eyeball (white, iris, pupil, catchlight), lids and lid lines. */
function paintEye(canvas: Canvas, frame: Frame, eye: EyeShape): void {
  const outline = eyelidCurves(eye);
  paintEyeball(canvas, frame, eye, outline);
  paintEyelids(canvas, frame, eye, outline);
  paintLidLines(canvas, frame, eye, outline);
}

/** Lid curves of `eye`, opened by `eye.open`. */
function eyelidCurves(eye: EyeShape): EyeOutline {
  const n = EYE_SAMPLES;
  const upperOpening = eye.height * eye.open,
    lowerOpening = eye.height * 0.55 * Math.min(1, eye.open + 0.3);
  const top: number[] = [], bottom: number[] = [];
  for (let i = 0; i <= n; i++) {
    const x = -1 + 2 * i / n;
    // the upper lid peaks towards the inner corner, the lower towards the outer
    const xs = x * eye.side;
    top.push(-upperOpening * (1 - x * x) * (1 - 0.18 * xs));
    bottom.push(lowerOpening * (1 - x * x) * (1 + 0.15 * xs));
  }
  return { rot: -eye.side * eye.tilt, upperOpening, top, bottom };
}

/** Socket shadow, white between the lids, rimmed iris, pupil, catchlight. */
function paintEyeball(
  canvas: Canvas,
  frame: Frame,
  eye: EyeShape,
  outline: EyeOutline,
): void {
  const [centerU, centerV] = eye.center;
  const { rot, top, bottom } = outline;
  fillEllipse(canvas, frame, {
    cu: centerU,
    cv: centerV - eye.height * 0.6,
    ru: eye.halfWidth * 1.35,
    rv: eye.height * 2.2,
    rot,
  }, { color: eye.skin, shadow: 0.82, feather: 0.08 });
  fillBand(canvas, frame, {
    cu: centerU,
    cv: centerV,
    rot,
    u0: -eye.halfWidth,
    u1: eye.halfWidth,
    top,
    bottom,
  }, {
    color: [0.9, 0.88, 0.85],
  });
  // the upper lid pushes the iris down a little
  const iris: [number, number] = [
    centerU + eye.gaze[0],
    centerV + eye.gaze[1] - outline.upperOpening * 0.1,
  ];
  fillEllipse(canvas, frame, {
    cu: iris[0],
    cv: iris[1],
    ru: eye.irisR,
    rv: eye.irisR,
  }, {
    color: eye.irisColor,
    tex: 0.5,
    texFreq: [70, 70],
    texSeed: 3,
  });
  fillEllipse(canvas, frame, {
    cu: iris[0],
    cv: iris[1],
    ru: eye.irisR,
    rv: eye.irisR,
    ring: 0.018,
  }, { color: scale(eye.irisColor, 0.45), alpha: 0.8 });
  fillEllipse(canvas, frame, {
    cu: iris[0],
    cv: iris[1],
    ru: eye.irisR * 0.42,
    rv: eye.irisR * 0.42,
  }, { color: [0.03, 0.03, 0.03] });
  const lightDir = canvas.light.dir;
  fillEllipse(canvas, frame, {
    cu: iris[0] + lightDir[0] * 0.04,
    cv: iris[1] + lightDir[1] * 0.04 - 0.02,
    ru: 0.018,
    rv: 0.018,
  }, { color: [1, 1, 1], alpha: 0.9 });
}

/**
 * Lid skin above the upper curve and below the lower one hides the iris
 * where it overflows.
 */
function paintEyelids(
  canvas: Canvas,
  frame: Frame,
  eye: EyeShape,
  outline: EyeOutline,
): void {
  const [centerU, centerV] = eye.center;
  const { rot, top, bottom } = outline;
  const lidTop = top.map((t) => t - 0.2),
    lidBottom = bottom.map((b) => b + 0.12);
  fillBand(canvas, frame, {
    cu: centerU,
    cv: centerV,
    rot,
    u0: -eye.halfWidth - 0.01,
    u1: eye.halfWidth + 0.01,
    top: lidTop,
    bottom: top,
  }, { color: scale(eye.skin, 0.96) });
  fillBand(canvas, frame, {
    cu: centerU,
    cv: centerV,
    rot,
    u0: -eye.halfWidth - 0.01,
    u1: eye.halfWidth + 0.01,
    top: bottom,
    bottom: lidBottom,
  }, { color: eye.skin });
}

/**
 * Lash line (thickest mid-lid, flicked out at the outer corner), lower lid
 * line and lid crease.
 */
function paintLidLines(
  canvas: Canvas,
  frame: Frame,
  eye: EyeShape,
  outline: EyeOutline,
): void {
  const n = EYE_SAMPLES;
  const [centerU, centerV] = eye.center;
  const { rot, top, bottom } = outline;
  const cosRot = Math.cos(rot), sinRot = Math.sin(rot);
  /** `curve` shifted by `dv`, its outer end `extend` (fraction) further out. */
  const lidLine = (curve: number[], dv: number, extend: number) => {
    const points: number[] = [];
    for (let i = 0; i <= n; i++) {
      const x = (-1 + 2 * i / n) * eye.halfWidth *
        (1 + (i === (eye.side > 0 ? n : 0) ? extend : 0));
      const v = curve[i] + dv;
      points.push(
        centerU + cosRot * x - sinRot * v,
        centerV + sinRot * x + cosRot * v,
      );
    }
    return points;
  };
  const lashWidth = 0.028 + 0.02 * eye.lidHeavy;
  strokePolyline(
    canvas,
    frame,
    lidLine(top, 0, 0.12),
    Array(n + 1).fill(lashWidth).map((w, i) =>
      w * (0.5 + 0.5 * Math.sin(Math.PI * i / n) + 0.3)
    ),
    { color: [0.06, 0.04, 0.04], alpha: 0.9 },
  );
  strokePolyline(
    canvas,
    frame,
    lidLine(bottom, 0, 0),
    Array(n + 1).fill(0.012),
    { color: scale(eye.skin, 0.6), alpha: 0.5 },
  );
  strokePolyline(
    canvas,
    frame,
    lidLine(top.map((t) => t * 1.2), -0.06 - 0.04 * (1 - eye.lidHeavy), 0),
    Array(n + 1).fill(0.018),
    { color: eye.skin, shadow: 0.75, feather: 0.015 },
  );
}

/** A mouth in posed face units. */
interface MouthShape {
  center: [number, number];
  /** Half-width before foreshortening by `cosYaw`. */
  halfWidth: number;
  /** Lip thicknesses at the centre. */
  upper: number;
  lower: number;
  /** Corner height relative to the centre (+ = down). */
  curve: number;
  /** 0..1 of the widest gap (0.12 face units). */
  open: number;
  smile: number;
  lipColor: Rgb;
  skin: Rgb;
  cosYaw: number;
}

/** Lip edges: v offsets at `MOUTH_SAMPLES + 1` points across the mouth. */
interface LipCurves {
  /** Foreshortened half-width. */
  halfWidth: number;
  gap: number;
  /** Where the lips meet when closed. */
  parting: number[];
  upperTop: number[];
  upperBottom: number[];
  lowerTop: number[];
  lowerBottom: number[];
}

/** Segments across the mouth's width. */
const MOUTH_SAMPLES = 16;

/** Lip edges of `mouth`, the lips parted by `mouth.open`. */
function lipCurves(mouth: MouthShape): LipCurves {
  const n = MOUTH_SAMPLES;
  const gap = mouth.open * 0.12;
  const parting: number[] = [],
    upperTop: number[] = [],
    upperBottom: number[] = [];
  const lowerTop: number[] = [], lowerBottom: number[] = [];
  for (let i = 0; i <= n; i++) {
    const x = -1 + 2 * i / n;
    const line = mouth.curve * x * x;
    const body = Math.pow(Math.max(0, 1 - x * x), 0.6);
    // Cupid's bow: the upper lip dips at the centre
    const bow = 1 - 0.4 * Math.exp(-(x * x) / 0.012);
    parting.push(line);
    upperBottom.push(line - gap * 0.35 * body);
    upperTop.push(
      line - gap * 0.35 * body - mouth.upper * body * bow - 0.004,
    );
    lowerTop.push(line + gap * 0.65 * body);
    lowerBottom.push(
      line + gap * 0.65 * body +
        mouth.lower * Math.pow(Math.max(0, 1 - x * x), 0.8) +
        0.004,
    );
  }
  return {
    halfWidth: mouth.halfWidth * mouth.cosYaw,
    gap,
    parting,
    upperTop,
    upperBottom,
    lowerTop,
    lowerBottom,
  };
}

/**
 * Shadow under the lower lip, the opening (teeth when smiling), the lips and
 * the line where they part.
 */
function drawLips(canvas: Canvas, frame: Frame, mouth: MouthShape): void {
  const n = MOUTH_SAMPLES;
  const [centerU, centerV] = mouth.center;
  const lips = lipCurves(mouth);
  const { halfWidth, gap, upperBottom, lowerTop } = lips;
  fillEllipse(canvas, frame, {
    cu: centerU,
    cv: centerV + mouth.lower + 0.09 + gap * 0.6,
    ru: halfWidth * 0.55,
    rv: 0.06,
  }, { color: mouth.skin, shadow: 0.8, feather: 0.05 });
  if (gap > 0) {
    fillBand(canvas, frame, {
      cu: centerU,
      cv: centerV,
      u0: -halfWidth,
      u1: halfWidth,
      top: upperBottom,
      bottom: lowerTop,
    }, { color: [0.18, 0.05, 0.05] });
    if (mouth.smile > 0.3) {
      // upper teeth fill 45 % of the gap
      const teethBottom = upperBottom.map((v, i) =>
        v + (lowerTop[i] - v) * 0.45
      );
      fillBand(canvas, frame, {
        cu: centerU,
        cv: centerV,
        u0: -halfWidth * 0.75,
        u1: halfWidth * 0.75,
        top: upperBottom,
        bottom: teethBottom,
      }, { color: [0.88, 0.86, 0.8] });
    }
  }
  fillBand(canvas, frame, {
    cu: centerU,
    cv: centerV,
    u0: -halfWidth,
    u1: halfWidth,
    top: lips.upperTop,
    bottom: upperBottom,
  }, { color: scale(mouth.lipColor, 0.9) });
  fillBand(canvas, frame, {
    cu: centerU,
    cv: centerV,
    u0: -halfWidth,
    u1: halfWidth,
    top: lowerTop,
    bottom: lips.lowerBottom,
  }, { color: mouth.lipColor });
  fillEllipse(canvas, frame, {
    cu: centerU,
    cv: centerV + gap * 0.65 + mouth.lower * 0.45,
    ru: halfWidth * 0.4,
    rv: mouth.lower * 0.25,
  }, { color: scale(mouth.lipColor, 1.15), alpha: 0.4, feather: 0.02 });
  const points: number[] = [];
  for (let i = 0; i <= n; i++) {
    const x = (-1 + 2 * i / n) * halfWidth * 1.03;
    points.push(
      centerU + x,
      centerV + (gap > 0 ? upperBottom[i] : lips.parting[i]),
    );
  }
  strokePolyline(canvas, frame, points, Array(n + 1).fill(0.022), {
    color: scale(mouth.lipColor, 0.45),
    alpha: 0.85,
  });
}

/** Samples of a hairline across the head. */
const HAIRLINE_SAMPLES = 25;

/**
 * Hair over the skull, `extra` face units thicker than it, kept above
 * (v <=) the face-space hairline `hairlineAt(x)`, x in -1..1 across the head.
 */
function paintHairCap(
  face: FaceContext,
  extra: number,
  hairlineAt: (x: number) => number,
  alpha = 1,
): void {
  const n = HAIRLINE_SAMPLES;
  const { head } = face;
  // hair follows the skull, not the features
  const shift = -face.pose.sinYaw * 0.3;
  const capV = head.cv - extra * 0.6;
  const below: number[] = [];
  for (let i = 0; i < n; i++) {
    below.push(hairlineAt(-1 + 2 * i / (n - 1)) - capV);
  }
  fillEllipse(face.canvas, face.frame, {
    cu: head.cu + shift * 0.2,
    cv: capV,
    ru: head.ru + extra * 0.8,
    rv: head.rv + extra,
    taperTop: head.taperTop - extra * 0.3,
    below,
  }, hairPaint(face, alpha));
}

/** The hair in front of the head, by style. */
function paintFrontHair(face: FaceContext): void {
  const { traits } = face;
  const style = face.variation.hairStyle;
  const volume = face.hairVolume;
  const hairline = traits.hairline;
  const part = traits.hairPart;
  /** The hairline receding at the temples and tilted towards the parting. */
  const temple = (x: number) =>
    hairline + 0.95 * Math.pow(Math.abs(x), 2.5) + 0.05 * x * part;
  switch (style) {
    case "bald": {
      // only the sides of the head, down to ear level (v 0.15)
      paintHairCap(face, 0.03, (x) => Math.abs(x) > 0.82 ? 0.15 : -3, 0.9);
      break;
    }
    case "buzz":
      paintHairCap(face, 0.04, (x) => temple(x) + 0.05, 0.8);
      break;
    case "short":
      paintHairCap(face, volume, (x) => temple(x));
      break;
    case "sidepart":
      paintSidePart(face, temple);
      break;
    case "bangs": {
      const fringe = traits.browY - 0.12 + 0.04 * part;
      paintHairCap(
        face,
        volume,
        (x) =>
          Math.min(
            0.55,
            fringe + 0.035 * Math.sin(x * 37 + part * 5) +
              0.25 * x * x * x * x,
          ),
      );
      break;
    }
    case "medium":
    case "long":
    case "curly":
      paintHangingHair(face, style, temple);
      break;
    case "bun":
      paintHairCap(face, 0.06, (x) => temple(x) - 0.03);
      break;
  }
}

/** Hair parted on the `hairPart` side with a sweep over the forehead. */
function paintSidePart(face: FaceContext, temple: (x: number) => number): void {
  const partSide = face.traits.hairPart >= 0 ? 1 : -1;
  paintHairCap(
    face,
    face.hairVolume,
    (x) =>
      temple(x) - 0.05 +
      (x * partSide > 0 ? 0.12 * (1 - Math.abs(x)) : -0.04),
  );
  // hair follows the skull, not the features
  const shift = -face.pose.sinYaw * 0.3;
  const [sweepU, sweepV] = face.pose.project(
    -partSide * 0.35,
    face.traits.hairline + 0.05,
    0.9,
  );
  fillEllipse(face.canvas, face.frame, {
    cu: sweepU + shift * 0.2,
    cv: sweepV,
    ru: 0.75,
    rv: 0.22,
    rot: partSide * 0.25,
  }, hairPaint(face));
}

/**
 * Medium, long and curly hair: the sides drop from the temples to `drop`
 * face units below the hairline; curly hair adds curls round the crown.
 */
function paintHangingHair(
  face: FaceContext,
  style: "medium" | "long" | "curly",
  temple: (x: number) => number,
): void {
  const { head } = face;
  const volume = face.hairVolume;
  const hairline = face.traits.hairline;
  const drop = style === "long" ? 2.3 : style === "curly" ? 1.2 : 1.45;
  paintHairCap(face, volume + (style === "curly" ? 0.3 : 0.05), (x) => {
    const ax = Math.abs(x);
    const front = temple(x) - 0.05;
    return ax > 0.78
      ? front + (ax - 0.78) / 0.22 * (drop - front + hairline)
      : front;
  });
  if (style === "curly") {
    for (let k = 0; k < 14; k++) {
      // curls over the upper half of the outline (radians round the centre)
      const angle = Math.PI * (1.05 + 0.9 * k / 13);
      const [curlU, curlV] = [
        head.cu + Math.cos(angle) * (head.ru + volume + 0.25),
        head.cv + Math.sin(angle) * (head.rv + volume + 0.2),
      ];
      fillEllipse(
        face.canvas,
        face.frame,
        { cu: curlU, cv: curlV, ru: 0.28, rv: 0.28 },
        hairPaint(face),
      );
    }
  }
}
