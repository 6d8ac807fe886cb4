import assert from "node:assert/strict";
import {
  barPlot,
  linePlot,
  rocPlot,
  scatterPlot,
  spectrumPlot,
  writeSvg,
} from "./plot.ts";

/** Elements of kind `tag` inside the mark containers `mark-<type> role-<role>`. */
function items(
  svg: string,
  type: string,
  role: string,
  tag = "path",
): string[] {
  const out: string[] = [];
  const re = new RegExp(`<g class="mark-${type} role-${role}[ "][^>]*>`, "g");
  for (const m of svg.matchAll(re)) {
    const start = m.index! + m[0].length;
    const body = svg.slice(start, svg.indexOf("</g>", start));
    const parts = body.split(`<${tag}`).slice(1);
    out.push(...parts.map((p) => `<${tag}${p}`));
  }
  return out;
}

function texts(svg: string, role: string): string[] {
  return items(svg, "text", role, "text").map((t) => t.replace(/<[^>]*>/g, ""));
}

function assertSvg(svg: string) {
  assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.match(svg, /<\/svg>$/);
  assert.ok(!svg.includes("NaN"), "no NaN coordinates");
}

Deno.test("rocPlot draws one line per curve, a chance line, a legend", async () => {
  const n = 2000;
  const fpr = Array.from({ length: n }, (_, i) => i / (n - 1));
  const tpr = fpr.map((f) => Math.sqrt(f));
  const t0 = performance.now();
  const svg = await rocPlot([
    { name: "lambda=0", fpr, tpr },
    { name: "lambda=0.05", fpr, tpr: tpr.map((t) => Math.min(1, t + 0.1)) },
  ], { title: "ROC", logFpr: true });
  assert.ok(performance.now() - t0 < 1000, "renders in under a second");
  assertSvg(svg);
  // Two curves + the chance diagonal.
  assert.equal(items(svg, "line", "mark").length, 3);
  assert.deepEqual(texts(svg, "legend-label"), ["lambda=0", "lambda=0.05"]);
  assert.deepEqual(texts(svg, "title-text"), ["ROC"]);
  // fpr = 0 is clamped onto the log axis, whose floor is below 1/1999.
  assert.ok(texts(svg, "axis-label").includes("1e-4"));
});

Deno.test("rocPlot facets curves by panel", async () => {
  const curve = { fpr: [0, 0.5, 1], tpr: [0, 0.9, 1] };
  const svg = await rocPlot([
    { name: "a", panel: "l2", ...curve },
    { name: "b", panel: "l2", ...curve },
    { name: "a", panel: "joint_bayesian", ...curve },
  ]);
  assertSvg(svg);
  // 3 curves + one chance line per panel.
  assert.equal(items(svg, "line", "mark").length, 5);
  assert.ok(svg.includes(">joint_bayesian<") && svg.includes(">l2<"));
});

Deno.test("linePlot: band x with 0 and Infinity, error bars", async () => {
  const x = [0, 0.0005, 0.05, 5, Infinity];
  const svg = await linePlot([
    { name: "L2", x, y: [90, 91, 94, 90, 80], yErr: [1, 1, 1, 1, 2] },
    { name: "Joint Bayesian", x, y: [91, 92, 95, 91, 81] },
  ], {
    title: "Fig. 3",
    xLabel: "lambda",
    yLabel: "accuracy (%)",
    xScale: "band",
  });
  assertSvg(svg);
  assert.equal(items(svg, "line", "mark").length, 2);
  assert.equal(items(svg, "symbol", "mark").length, 10);
  assert.equal(
    items(svg, "rule", "mark", "line").length,
    5,
    "error bars for L2 only",
  );
  const labels = texts(svg, "axis-label");
  for (const l of ["0", "0.0005", "0.05", "5", "∞"]) {
    assert.ok(labels.includes(l), `x label ${l}`);
  }
  assert.deepEqual(texts(svg, "legend-label"), ["L2", "Joint Bayesian"]);
});

Deno.test("linePlot: log2 x scale; non-finite x needs a band scale", async () => {
  const svg = await linePlot(
    [{ name: "s", x: [32, 64, 128, 256], y: [80, 83, 86, 88] }],
    {
      title: "Fig. 6",
      xLabel: "identities",
      yLabel: "acc",
      xScale: "log",
      logBase: 2,
    },
  );
  assertSvg(svg);
  assert.equal(items(svg, "symbol", "mark").length, 4);
  assert.ok(texts(svg, "axis-label").includes("128"));
  await assert.rejects(
    linePlot([{ name: "s", x: [0, Infinity], y: [1, 2] }], {
      title: "",
      xLabel: "",
      yLabel: "",
    }),
    /band/,
  );
});

Deno.test("spectrumPlot: one line per (name, kind), non-positive values dropped", async () => {
  const svg = await spectrumPlot([
    { name: "lambda=0", kind: "between", values: [4, 2, 1, 0] },
    { name: "lambda=0", kind: "within", values: [2, 1, 0.5, -1e-9] },
    { name: "lambda=inf", kind: "between", values: [3, 1, 0.1, 0.01] },
  ], { title: "Fig. 4" });
  assertSvg(svg);
  assert.equal(items(svg, "line", "mark").length, 3);
  assert.deepEqual(
    texts(svg, "legend-label"),
    ["lambda=0", "lambda=inf", "between", "within"],
  );
});

Deno.test("scatterPlot: one symbol per point, one legend entry per group", async () => {
  const points = Array.from({ length: 30 }, (_, i) => ({
    x: i % 7,
    y: i % 5,
    group: `id ${i % 3}`,
  }));
  const svg = await scatterPlot(points, { title: "Fig. 5" });
  assertSvg(svg);
  assert.equal(items(svg, "symbol", "mark").length, 30);
  assert.deepEqual(texts(svg, "legend-label"), ["id 0", "id 1", "id 2"]);
});

Deno.test("barPlot: grouped bars with error bars", async () => {
  const signals = ["L2", "L2+", "L2-", "L1", "cosine", "none"];
  const svg = await barPlot(
    signals.flatMap((s, i) => [
      { category: s, value: 94 - i, err: 0.5, group: "l2" },
      { category: s, value: 95 - i, group: "joint_bayesian" },
    ]),
    { title: "Table 1", yLabel: "accuracy (%)" },
  );
  assertSvg(svg);
  assert.equal(items(svg, "rect", "mark").length, 12);
  assert.equal(items(svg, "rule", "mark", "line").length, 6);
  for (const s of signals) assert.ok(texts(svg, "axis-label").includes(s));
});

Deno.test("writeSvg writes atomically and leaves no temp file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/sub/fig.svg`;
    const svg = await scatterPlot([{ x: 0, y: 0, group: "a" }]);
    await writeSvg(path, svg);
    assert.equal(await Deno.readTextFile(path), `${svg}\n`);
    const names = [...Deno.readDirSync(`${dir}/sub`)].map((e) => e.name);
    assert.deepEqual(names, ["fig.svg"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
