/**
 * The chunks of data preparation that run on worker threads
 * (datasets/workers.ts): rendering, encoding and writing synthetic photos
 * (datasets/synthfaces.ts), and reading, decoding and cropping images into
 * one or more crops (datasets/cache.ts). Each function takes one chunk of
 * work and returns its results; the same functions run inline when only
 * one worker is asked for, so the output never depends on the worker
 * count: every photo draws only from its own seed, every crop only from
 * its own file.
 *
 * @module
 */
import sharp from "sharp";
import { type Identity, type Layout, renderFace } from "./face_model.ts";
import { cropBytes, cropFace, decodeImage } from "./crop.ts";
import type { CropOptions } from "./types.ts";

/** One synthetic photo to render and write. */
export interface RenderJob {
  path: string;
  identity: Identity;
  seed: number;
  layout: Layout;
}

/** A chunk of photos (datasets/synthfaces.ts). */
export interface RenderChunk {
  jobs: RenderJob[];
  difficulty: number;
}

/** The rendered landmarks of a chunk's photos, in order (10 numbers each). */
export interface RenderResult {
  landmarks: number[][];
}

/** JPEG encodes in flight per thread while the next photo renders. */
const ENCODES_IN_FLIGHT = 3;

/**
 * Renders, JPEG-encodes (sharp, at the photo's own quality) and writes each
 * photo of the chunk. Encoding runs on sharp's threads while the next photo
 * renders.
 */
export async function renderChunk(chunk: RenderChunk): Promise<RenderResult> {
  sharp.concurrency(1); // one libvips thread per image; images in parallel
  sharp.cache(false);
  const landmarks: number[][] = new Array(chunk.jobs.length);
  const inflight = new Set<Promise<void>>();
  // The first failure, kept until every write in flight has settled, so that
  // none is left behind unobserved.
  let failure: Error | null = null;
  for (let i = 0; i < chunk.jobs.length && !failure; i++) {
    const job = chunk.jobs[i];
    const face = renderFace(job.identity, {
      seed: job.seed,
      difficulty: chunk.difficulty,
      layout: job.layout,
    });
    landmarks[i] = face.landmarks;
    const p = sharp(face.pixels, {
      raw: { width: face.width, height: face.height, channels: 3 },
    })
      .jpeg({ quality: face.quality })
      .toBuffer()
      .then((buf) => Deno.writeFile(job.path, buf))
      .catch((e) => {
        failure ??= new Error(`writing ${job.path}: ${(e as Error).message}`);
      });
    const tracked: Promise<void> = p.finally(() => inflight.delete(tracked));
    inflight.add(tracked);
    if (inflight.size >= ENCODES_IN_FLIGHT) await Promise.race(inflight);
  }
  await Promise.all(inflight);
  if (failure) throw failure;
  return { landmarks };
}

/** A chunk of images to crop (datasets/cache.ts). */
export interface CropChunk {
  /** Folder the paths are relative to. */
  root: string;
  /** Index of the chunk's first image among all sources. */
  start: number;
  paths: string[];
  /** 5 landmarks per image, or null for the fixed crop. */
  landmarks: (readonly number[] | null)[];
  /** Every crop to cut from each decoded image. */
  crops: CropOptions[];
  /** Decodes in flight at once. */
  inflight: number;
}

/** An image that failed to decode (index among all sources). */
export interface ChunkBadImage {
  index: number;
  path: string;
  error: string;
}

/** A chunk's crops: per crop, [n, H, W, C] uint8 of its images, in order. */
export interface CropResult {
  images: Uint8Array[];
  bad: ChunkBadImage[];
}

/**
 * Reads, decodes and crops the chunk's images, `inflight` decodes at a time;
 * each image is decoded once for all of `crops`. An undecodable image is
 * reported (its crops stay zero); a missing file throws (NotFound).
 */
export async function cropChunk(chunk: CropChunk): Promise<CropResult> {
  sharp.concurrency(1); // one libvips thread per image; images in parallel
  sharp.cache(false);
  const n = chunk.paths.length;
  const per = chunk.crops.map(cropBytes);
  const images = per.map((b) => new Uint8Array(b * n));
  const bad: ChunkBadImage[] = [];
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const path = chunk.paths[i];
      try {
        const img = await decodeImage(
          await Deno.readFile(`${chunk.root}/${path}`),
        );
        for (let c = 0; c < chunk.crops.length; c++) {
          cropFace(img, chunk.landmarks[i], {
            crop: chunk.crops[c],
            out: images[c],
            offset: i * per[c],
          });
        }
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) {
          next = n; // the chunk has failed: start no more
          throw e;
        }
        images.forEach((im, c) => im.fill(0, i * per[c], (i + 1) * per[c]));
        bad.push({
          index: chunk.start + i,
          path,
          error: (e as Error).message,
        });
      }
    }
  };
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(chunk.inflight, n)) }, worker),
  );
  bad.sort((x, y) => x.index - y.index);
  return { images, bad };
}

/** The tasks a worker runs, by name. */
export const TASKS = {
  render: renderChunk,
  crop: cropChunk,
} as const;

/** A task's name. */
export type TaskName = keyof typeof TASKS;

/** What a task takes. */
export type TaskInput<K extends TaskName> = Parameters<typeof TASKS[K]>[0];

/** What a task gives back. */
export type TaskOutput<K extends TaskName> = Awaited<
  ReturnType<typeof TASKS[K]>
>;

/** The buffers of an output that move to the receiving thread uncopied. */
export function transferables(output: unknown): ArrayBuffer[] {
  const images = (output as Partial<CropResult>).images;
  return images ? images.map((im) => im.buffer as ArrayBuffer) : [];
}
