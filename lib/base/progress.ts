/**
 * Progress lines with rate and ETA: a live, rewritten line on a terminal,
 * plain lines (at most one every `plainEveryMs`) otherwise.
 *
 * @module
 */

/** Options for {@linkcode Progress}. */
export interface ProgressOptions {
  /** What the count measures, e.g. "images" or "steps". */
  unit?: string;
  /** Minimum time between plain (non-terminal) lines, ms. */
  plainEveryMs?: number;
  /** Where lines go; stderr by default. */
  write?: (text: string) => void;
  /** Force terminal (true) or plain (false) mode; detected by default. */
  tty?: boolean;
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return "?";
  if (s < 60) return `${s.toFixed(0)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${Math.round(s % 60)}s`;
  return `${Math.floor(s / 3600)}h${Math.round((s % 3600) / 60)}m`;
}

/** Reports `done / total` with rate and ETA. */
export class Progress {
  readonly #label: string;
  #total: number;
  readonly #unit: string;
  readonly #plainEveryMs: number;
  readonly #write: (text: string) => void;
  readonly #tty: boolean;
  readonly #start = performance.now();
  #lastPrint = -Infinity;
  #lastDone = -1;

  /**
   * @param label shown first on the line
   * @param total the count at which the work is done
   */
  constructor(label: string, total: number, options: ProgressOptions = {}) {
    this.#label = label;
    this.#total = total;
    this.#unit = options.unit ?? "items";
    this.#plainEveryMs = options.plainEveryMs ?? 10_000;
    const enc = new TextEncoder();
    this.#write = options.write ??
      ((t) => Deno.stderr.writeSync(enc.encode(t)));
    this.#tty = options.tty ?? Deno.stderr.isTerminal();
  }

  /** The work grew (or shrank): `done` now ends at `total`. */
  setTotal(total: number): void {
    this.#total = total;
  }

  /** The line for `done` items, e.g. `train 40/100 steps 12.0/s ETA 5s | loss 1.2`. */
  line(done: number, extra = ""): string {
    const secs = (performance.now() - this.#start) / 1000;
    const rate = done / Math.max(secs, 1e-9);
    const eta = rate > 0 ? (this.#total - done) / rate : Infinity;
    const pct = this.#total > 0 ? (100 * done / this.#total).toFixed(0) : "?";
    return `${this.#label} ${done}/${this.#total} ${this.#unit} (${pct}%) ` +
      `${rate.toFixed(1)}/s elapsed ${formatSeconds(secs)} ETA ${
        formatSeconds(eta)
      }${extra ? ` | ${extra}` : ""}`;
  }

  /** Reports progress; prints at most as often as the mode allows. */
  update(done: number, extra = ""): void {
    const now = performance.now();
    const last = done >= this.#total;
    if (this.#tty) {
      if (now - this.#lastPrint < 200 && !last) return;
      this.#write(`\r\x1b[2K${this.line(done, extra)}`);
    } else {
      if (now - this.#lastPrint < this.#plainEveryMs && !last) return;
      this.#write(`${this.line(done, extra)}\n`);
    }
    this.#lastPrint = now;
    this.#lastDone = done;
  }

  /** Ends the line (on a terminal) after the last update. */
  finish(done = this.#total, extra = ""): void {
    if (done !== this.#lastDone) {
      this.#lastPrint = -Infinity;
      this.update(done, extra);
    }
    if (this.#tty) this.#write("\n");
  }
}
