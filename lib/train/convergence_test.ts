import assertStrict from "node:assert/strict";
import { Rng } from "../base/rng.ts";
import { convergence, type CurveCheck, DEFAULT_RULE } from "./convergence.ts";

/**
 * A curve of checks every 50 steps up to `steps`, validation accuracy
 * `acc(t)` (t = step / steps) plus seeded noise of `noise` (fraction), and
 * an identification loss falling from chance to `finalLoss`.
 */
function curve(
  acc: (t: number) => number,
  options: {
    steps?: number;
    noise?: number;
    finalLoss?: number;
    seed?: number;
  } = {},
): CurveCheck[] {
  const steps = options.steps ?? 2000;
  const rng = new Rng(options.seed ?? 1);
  const chance = 2 * Math.log(512);
  const final = options.finalLoss ?? 1;
  const out: CurveCheck[] = [];
  for (let step = 50; step <= steps; step += 50) {
    const t = step / steps;
    const e = () => (options.noise ?? 0) * rng.normal();
    out.push({
      step,
      l2: acc(t) + e(),
      cosine: acc(t) + e(),
      identLoss: chance * Math.pow(final / chance, t),
    });
  }
  return out;
}

const judge = (c: CurveCheck[], numIdentities = 512) =>
  convergence(c, { steps: c.at(-1)!.step, numIdentities });

Deno.test("convergence: a flat curve converged; a rising one still improving, with the gain in its reason", () => {
  const flat = judge(curve((t) => 0.6 + 0.2 * Math.min(1, t / 0.4)));
  assertStrict.equal(flat.converged, true, flat.reason);
  assertStrict.ok(Math.abs(flat.gain.l2) < 1e-9);
  const rising = judge(curve((t) => 0.6 + 0.2 * t));
  assertStrict.equal(rising.converged, false);
  // 0.2 × (0.95 − 0.70) = 5 points between the windows' centres.
  assertStrict.ok(Math.abs(rising.gain.l2 - 0.05) < 0.002, `${rising.gain.l2}`);
  assertStrict.match(
    rising.reason,
    /\(l2\) still rose 5\.0\d points over the last quarter/,
  );
});

Deno.test("convergence: noise of one check's standard error keeps a flat curve converged and a clearly rising one not", () => {
  // 1.6 points per check, four checks per window: a flat curve passes in
  // nearly every draw, one 2 points higher in its last window than in the
  // earlier one in a minority, one 4 points higher in none.
  const runs = 200;
  let flatOk = 0, slowOk = 0, fastOk = 0;
  for (let seed = 1; seed <= runs; seed++) {
    const n = { noise: 0.016, seed };
    if (judge(curve(() => 0.8, n)).converged) flatOk++;
    if (judge(curve((t) => 0.72 + 0.08 * t, n)).converged) slowOk++;
    if (judge(curve((t) => 0.64 + 0.16 * t, n)).converged) fastOk++;
  }
  console.log(
    `convergence under 1.6-point check noise: flat ${flatOk}/${runs}, +2 points between windows ${slowOk}/${runs}, +4 points ${fastOk}/${runs} converged`,
  );
  assertStrict.ok(flatOk >= 0.88 * runs, `flat: ${flatOk}`);
  assertStrict.ok(fastOk <= 0.12 * runs, `+4 points: ${fastOk}`);
  assertStrict.ok(slowOk < flatOk && slowOk > fastOk);
});

Deno.test("convergence: a curve that falls after its peak stopped rising (verification alone)", () => {
  const peak = judge(
    curve((t) => 0.72 - 0.08 * Math.max(0, t - 0.15), { noise: 0.005 }),
    0,
  );
  assertStrict.equal(peak.converged, true, peak.reason);
  assertStrict.ok(peak.gain.l2 < 0);
  assertStrict.ok(Number.isNaN(peak.identFraction), "no softmax: no loss rule");
});

Deno.test("convergence: a softmax still far from fitted is still improving, even on a flat curve", () => {
  const c = judge(curve(() => 0.8, { finalLoss: 4 }));
  assertStrict.equal(c.converged, false);
  assertStrict.ok(Math.abs(c.identFraction - 4 / (2 * Math.log(512))) < 1e-9);
  assertStrict.match(
    c.reason,
    /identification loss 4\.000 is 32 % of chance \(2 ln 512 = 12\.48; allowed 20 %\)/,
  );
  // A smaller softmax has a smaller chance: 2 ln 128.
  const small = convergence(curve(() => 0.8, { finalLoss: 1.5 }), {
    steps: 2000,
    numIdentities: 128,
  });
  assertStrict.equal(small.converged, true, small.reason);
});

Deno.test("convergence: too few checks in a window is said, not guessed; Infinity turns the rule off", () => {
  // Checks every 50 of 400 steps: one check per window.
  const sparse = curve(() => 0.8, { steps: 400 });
  const c = judge(sparse);
  assertStrict.equal(c.converged, false);
  assertStrict.match(
    c.reason,
    /the rule needs 3 in each \(check more often: evalEvery\)/,
  );
  const off = convergence(sparse, {
    steps: 400,
    numIdentities: 512,
    rule: { maxGain: Infinity, maxIdentFraction: Infinity, minChecks: 0 },
  });
  assertStrict.equal(off.converged, true);
  assertStrict.equal(DEFAULT_RULE.maxGain, 0.02);
});
