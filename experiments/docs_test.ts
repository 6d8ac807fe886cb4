/**
 * The front page and the docs (`README.md`, `docs/*.md`): every relative
 * link and image target resolves to a file in the repository, every
 * `#anchor` into a Markdown file to one of its headings (GitHub's slugs),
 * every docs page is linked from the README, and the README stays a front
 * page (at most {@linkcode README_MAX_LINES} lines). Text only: no network,
 * no backend; it runs in well under a second.
 *
 * @module
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";

const ROOT = normalize(new URL("../", import.meta.url).pathname);
const README_MAX_LINES = 250;

/** A link or image target found in a Markdown file. */
interface Link {
  /** 1-based line of the file. */
  line: number;
  /** The target as written, e.g. `docs/claims.md#profiles`. */
  target: string;
}

/** What the slugger and the link finder see of a Markdown file. */
interface Parsed {
  links: Link[];
  /** Anchors: GitHub's heading slugs (duplicates numbered) and HTML ids. */
  anchors: Set<string>;
}

/**
 * A heading's text as GitHub renders it: code spans keep their content,
 * links and images their text, emphasis markers and HTML tags go.
 */
function headingText(markdown: string): string {
  return markdown.split(/(`+[^`]*`+)/).map((part, i) => {
    if (i % 2 === 1) return part.replace(/^`+|`+$/g, "");
    return part
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
      .replace(/<[^>]+>/g, "")
      .replace(/\*+/g, "")
      .replace(/(^|[^\p{L}\p{N}])_+(.+?)_+(?=[^\p{L}\p{N}]|$)/gu, "$1$2");
  }).join("");
}

/**
 * GitHub's anchor for a heading's rendered text (github-slugger): lower
 * case, punctuation dropped except `-` and `_`, each space a `-`.
 */
function githubSlug(text: string): string {
  return text.trim().toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
    .replace(/ /g, "-");
}

/** Blanks out `…` code spans, keeping the line's length and columns. */
function withoutCodeSpans(line: string): string {
  return line.replace(/(`+)(.+?)\1/g, (m) => " ".repeat(m.length));
}

const INLINE_LINK =
  /!?\[((?:[^\[\]]|\[[^\]]*\])*)\]\(\s*(?:<([^>]*)>|([^)\s]*))(?:\s+(?:"[^"]*"|'[^']*'|\([^)]*\)))?\s*\)/g;
const REFERENCE_DEFINITION = /^ {0,3}\[[^\]]+\]:\s*<?([^\s>]+)>?/;
const HTML_TARGET = /<(?:a|img)\b[^>]*?\b(?:href|src)\s*=\s*"([^"]*)"/gi;
const HTML_ID = /<[a-z]+\b[^>]*?\b(?:id|name)\s*=\s*"([^"]*)"/gi;

/** Inline links and images on a line, those inside a link's text too. */
function inlineTargets(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(INLINE_LINK)) {
    out.push(...inlineTargets(m[1]), m[2] ?? m[3]);
  }
  return out;
}

/**
 * The links and anchors of a Markdown text. Fenced code blocks, code spans
 * and HTML comments are not Markdown and are skipped.
 */
function parseMarkdown(text: string): Parsed {
  const links: Link[] = [];
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fence: string | null = null;
  let inComment = false;
  text.split("\n").forEach((raw, i) => {
    const line = i + 1;
    const fenceMark = raw.match(/^ {0,3}(`{3,}|~{3,})/);
    if (fence !== null) {
      if (
        fenceMark && fenceMark[1][0] === fence[0] &&
        fenceMark[1].length >= fence.length
      ) fence = null;
      return;
    }
    if (!inComment && fenceMark) {
      fence = fenceMark[1];
      return;
    }
    // HTML comments, possibly over several lines.
    let s = "";
    let rest = raw;
    while (rest.length > 0) {
      if (inComment) {
        const end = rest.indexOf("-->");
        if (end < 0) rest = "";
        else {
          inComment = false;
          rest = rest.slice(end + 3);
        }
      } else {
        const start = rest.indexOf("<!--");
        if (start < 0) {
          s += rest;
          rest = "";
        } else {
          s += rest.slice(0, start);
          inComment = true;
          rest = rest.slice(start + 4);
        }
      }
    }
    const heading = s.match(/^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/);
    if (heading) {
      const base = githubSlug(headingText(heading[1]));
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      anchors.add(n === 0 ? base : `${base}-${n}`);
    }
    for (const m of s.matchAll(HTML_ID)) anchors.add(m[1]);
    const code = withoutCodeSpans(s);
    for (const target of inlineTargets(code)) links.push({ line, target });
    const def = code.match(REFERENCE_DEFINITION);
    if (def) links.push({ line, target: def[1] });
    for (const m of code.matchAll(HTML_TARGET)) {
      links.push({ line, target: m[1] });
    }
  });
  return { links, anchors };
}

/** README.md and every docs/*.md, relative to the repository root. */
function markdownPages(): string[] {
  const docs = existsSync(join(ROOT, "docs"))
    ? readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md")).sort()
      .map((f) => `docs/${f}`)
    : [];
  return ["README.md", ...docs];
}

const parsedCache = new Map<string, Parsed>();
function parsedFile(path: string): Parsed {
  let p = parsedCache.get(path);
  if (!p) {
    p = parseMarkdown(readFileSync(path, "utf8"));
    parsedCache.set(path, p);
  }
  return p;
}

/**
 * Why a link of `page` does not resolve, or null when it does (or is not
 * ours to check: a URL with a scheme, or protocol-relative).
 */
function brokenLink(page: string, target: string): string | null {
  if (
    target === "" || /^[a-z][a-z0-9+.-]*:/i.test(target) ||
    target.startsWith("//")
  ) {
    return target === "" ? "empty link target" : null;
  }
  const hash = target.indexOf("#");
  const pathPart = (hash < 0 ? target : target.slice(0, hash)).replace(
    /\?.*$/,
    "",
  );
  const anchor = hash < 0 ? null : decodeURIComponent(target.slice(hash + 1));
  const from = dirname(join(ROOT, page));
  const file = pathPart === ""
    ? join(ROOT, page)
    : pathPart.startsWith("/")
    ? join(ROOT, decodeURIComponent(pathPart))
    : join(from, decodeURIComponent(pathPart));
  const shown = relative(ROOT, file) || ".";
  if (shown.startsWith("..")) return `points outside the repository (${shown})`;
  if (!existsSync(file)) return `no such file: ${shown}`;
  if (anchor !== null && file.endsWith(".md")) {
    const { anchors } = parsedFile(file);
    if (!anchors.has(anchor)) {
      const known = [...anchors].map((a) => `#${a}`).join(", ");
      return `no heading #${anchor} in ${shown} (it has: ${known || "none"})`;
    }
  }
  return null;
}

Deno.test("githubSlug and headingText: GitHub's anchors, by hand", () => {
  const slug = (h: string) => githubSlug(headingText(h));
  assert.equal(slug("The wasm backend's threads"), "the-wasm-backends-threads");
  assert.equal(
    slug("Real data (CelebA + LFW), the native backend and the GPU"),
    "real-data-celeba--lfw-the-native-backend-and-the-gpu",
  );
  assert.equal(slug("The final system (Table 2)"), "the-final-system-table-2");
  assert.equal(
    slug("What the paper leaves open, and our defaults"),
    "what-the-paper-leaves-open-and-our-defaults",
  );
  assert.equal(
    slug("`make tables` and the `snake_case.ts` file"),
    "make-tables-and-the-snake_casets-file",
  );
  assert.equal(
    slug("A _reconstruction_, **bold** and [a link](x.md)"),
    "a-reconstruction-bold-and-a-link",
  );
  assert.equal(slug("λ = 0.05 vs λ = ∞"), "λ--005-vs-λ--");
});

Deno.test("parseMarkdown: links, images, anchors; code and comments skipped", () => {
  const text = [
    "# Title", //                                           1
    "See [a](a.md#x), ![img](fig.svg 'title') and [b](<b c.md>).", // 2
    "`[not](code.md)` <!-- [not](comment.md) -->", //       3
    "```sh", //                                             4
    "[not](fenced.md)", //                                  5
    "```", //                                               6
    "<!--", //                                              7
    "[not](multiline.md)", //                               8
    "-->", //                                               9
    '[![badge](badge.svg)](target.md) <a id="custom"></a>', // 10
    "## Title", //                                          11
    "[ref]: defined.md", //                                 12
  ].join("\n");
  const { links, anchors } = parseMarkdown(text);
  assert.deepEqual(links, [
    { line: 2, target: "a.md#x" },
    { line: 2, target: "fig.svg" },
    { line: 2, target: "b c.md" },
    { line: 10, target: "badge.svg" },
    { line: 10, target: "target.md" },
    { line: 12, target: "defined.md" },
  ]);
  assert.deepEqual([...anchors].sort(), ["custom", "title", "title-1"]);
});

Deno.test("README.md is a front page: at most 250 lines", () => {
  const text = readFileSync(join(ROOT, "README.md"), "utf8");
  const lines = text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
  assert.ok(
    lines <= README_MAX_LINES,
    `README.md has ${lines} lines, more than ${README_MAX_LINES}: move a topic to docs/`,
  );
});

Deno.test("README.md and docs/*.md: every relative link, image and #anchor resolves", () => {
  const problems: string[] = [];
  for (const page of markdownPages()) {
    for (const { line, target } of parsedFile(join(ROOT, page)).links) {
      const why = brokenLink(page, target);
      if (why) problems.push(`  ${page}:${line}  (${target})  ${why}`);
    }
  }
  assert.ok(
    problems.length === 0,
    `${problems.length} broken link(s) in README.md and docs/:\n${
      problems.join("\n")
    }`,
  );
});

Deno.test("every docs page is linked from README.md", () => {
  const linked = new Set(
    parsedFile(join(ROOT, "README.md")).links
      .map((l) => l.target.replace(/#.*$/, ""))
      .map((t) => normalize(t)),
  );
  const unlisted = markdownPages().filter((p) =>
    p !== "README.md" && !linked.has(p)
  );
  assert.deepEqual(
    unlisted,
    [],
    `docs pages the README does not link to: ${unlisted.join(", ")}`,
  );
});
