import assertStrict from "node:assert/strict";
import {
  acquireLock,
  checkLockDir,
  inspectLock,
  judgeHolder,
  type LockInfo,
  lockPath,
  pidAlive,
  processStart,
  readLock,
  slurmJobId,
} from "./lock.ts";

const LOCK = new URL("./lock.ts", import.meta.url).href;

/** Runs `code` (with `acquireLock` etc. imported) in a child Deno process. */
function child(code: string): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `import { acquireLock } from "${LOCK}";\n${code}`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

async function text(s: ReadableStream<Uint8Array>): Promise<string> {
  return await new Response(s).text();
}

/** A pid that was just used and is now gone. */
async function deadPid(): Promise<number> {
  const p = new Deno.Command("true").spawn();
  await p.status;
  return p.pid;
}

function staleInfo(pid: number, host = Deno.hostname()): LockInfo {
  const t = new Date().toISOString();
  return {
    pid,
    host,
    slurm_job_id: null,
    started: t,
    heartbeat: t,
    label: "test",
    pid_start: null,
    token: crypto.randomUUID(),
  };
}

Deno.test("lock: acquire writes who holds it; release removes it; a second wanter in this process queues", async () => {
  const cache = await Deno.makeTempDir();
  try {
    const a = await acquireLock(cache, "model-abc", { label: "model abc" });
    const st = await readLock(lockPath(cache, "model-abc"));
    assertStrict.equal(st?.info?.pid, Deno.pid);
    assertStrict.equal(st?.info?.host, Deno.hostname());
    assertStrict.equal(st?.info?.label, "model abc");
    assertStrict.equal(st?.info?.pid_start, processStart("self"));
    let second = false;
    const b = acquireLock(cache, "model-abc").then((l) => {
      second = true;
      return l;
    });
    await new Promise((r) => setTimeout(r, 100));
    assertStrict.equal(second, false, "the second waits for the first");
    await a.release();
    const lb = await b;
    assertStrict.equal(second, true);
    await lb.release();
    assertStrict.equal(await readLock(lockPath(cache, "model-abc")), null);
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("lock: two processes contend; one waits (with a line naming the holder) until the other releases", async () => {
  const cache = await Deno.makeTempDir();
  try {
    const holder = child(`
      const l = await acquireLock(${JSON.stringify(cache)}, "data-seed1");
      console.log("held");
      await new Promise((r) => setTimeout(r, 1500));
      await l.release();
      console.log("released");
    `);
    const reader = holder.stdout.pipeThrough(new TextDecoderStream())
      .getReader();
    assertStrict.match((await reader.read()).value ?? "", /held/);
    const lines: string[] = [];
    const t0 = Date.now();
    const l = await acquireLock(cache, "data-seed1", {
      pollMs: 50,
      reportEveryMs: 1000,
      log: (s) => lines.push(s),
    });
    const waited = Date.now() - t0;
    await l.release();
    assertStrict.ok(waited >= 800, `waited ${waited} ms`);
    assertStrict.match(
      lines[0],
      new RegExp(
        `waiting for data-seed1: lock held by pid ${holder.pid} on host `,
      ),
    );
    while (!(await reader.read()).done) { /* the rest of its output */ }
    await text(holder.stderr);
    assertStrict.ok((await holder.status).success);
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("lock: three processes, starting from a stale lock, never overlap and lose no update", async () => {
  const cache = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${cache}/locks`);
    await Deno.writeTextFile(
      lockPath(cache, "count"),
      JSON.stringify(staleInfo(await deadPid())),
    );
    const n = 15;
    const kids = [0, 1, 2].map(() =>
      child(`
        const cache = ${JSON.stringify(cache)};
        for (let i = 0; i < ${n}; i++) {
          const l = await acquireLock(cache, "count", { pollMs: 5, log: () => {} });
          // Inside: nobody else may be inside.
          const inside = await Deno.open(cache + "/inside", { createNew: true, write: true });
          inside.close();
          const c = Number(await Deno.readTextFile(cache + "/count").catch(() => "0"));
          await new Promise((r) => setTimeout(r, 2));
          await Deno.writeTextFile(cache + "/count", String(c + 1));
          await Deno.remove(cache + "/inside");
          await l.release();
        }
      `)
    );
    for (const k of kids) {
      const [out, err] = await Promise.all([text(k.stdout), text(k.stderr)]);
      assertStrict.ok((await k.status).success, out + err);
    }
    assertStrict.equal(
      await Deno.readTextFile(`${cache}/count`),
      String(3 * n),
    );
    assertStrict.equal(await readLock(lockPath(cache, "count")), null);
    // No takeover leftovers.
    assertStrict.deepEqual(
      [...Deno.readDirSync(`${cache}/locks`)].map((e) => e.name),
      [],
    );
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("lock: a lock whose pid on this host is dead (or reused) is taken over at once", async () => {
  const cache = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${cache}/locks`);
    const dead = await deadPid();
    assertStrict.equal(pidAlive(dead), false);
    assertStrict.equal(pidAlive(Deno.pid), true);
    // This pid, but another start time: a reused pid, not the holder.
    assertStrict.equal(
      pidAlive(Deno.pid, (processStart("self") ?? 0) + 1),
      Deno.build.os !== "linux",
    );
    await Deno.writeTextFile(
      lockPath(cache, "model-k"),
      JSON.stringify(staleInfo(dead)),
    );
    assertStrict.equal((await inspectLock(cache, "model-k")).state, "stale");
    const lines: string[] = [];
    const l = await acquireLock(cache, "model-k", {
      log: (s) => lines.push(s),
    });
    assertStrict.match(
      lines.join("\n"),
      new RegExp(`took over a stale lock \\(pid ${dead} on this host is gone`),
    );
    assertStrict.equal((await readLock(l.path))?.info?.pid, Deno.pid);
    assertStrict.equal((await inspectLock(cache, "model-k")).state, "held");
    await l.release();
    assertStrict.equal((await inspectLock(cache, "model-k")).state, "none");
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("lock: the heartbeat touches the lock; another host's lock is stale only without heartbeat or when Slurm says its job is gone", async () => {
  const cache = await Deno.makeTempDir();
  try {
    const l = await acquireLock(cache, "beat", { heartbeatMs: 50 });
    const old = new Date(Date.now() - 3600_000);
    await Deno.utime(l.path, old, old);
    await new Promise((r) => setTimeout(r, 200));
    const st = await readLock(l.path);
    assertStrict.ok(Date.now() - st!.mtime < 5000, "touched since");
    await l.release();

    const other = { ...staleInfo(12345, "another-host") };
    const state = (mtime: number, info: LockInfo = other) => ({
      info,
      raw: JSON.stringify(info),
      ino: 1,
      mtime,
    });
    const now = Date.now();
    const opts = {
      staleAfterMs: 60_000,
      jobAlive: () => Promise.resolve(undefined),
    };
    assertStrict.equal(
      (await judgeHolder(state(now - 1000), opts)).alive,
      true,
    );
    assertStrict.equal(
      (await judgeHolder(state(now - 120_000), opts)).alive,
      false,
    );
    const job = { ...other, slurm_job_id: "77_3" };
    let asked = "";
    const gone = await judgeHolder(state(now - 1000, job), {
      jobAlive: (id) => {
        asked = id;
        return Promise.resolve(false);
      },
    });
    assertStrict.equal(asked, "77_3");
    assertStrict.deepEqual(gone, {
      alive: false,
      why: "Slurm job 77_3 is no longer pending or running",
    });
    // A running job keeps its lock even with an old heartbeat.
    assertStrict.equal(
      (await judgeHolder(state(now - 3600_000, job), {
        staleAfterMs: 60_000,
        jobAlive: () => Promise.resolve(true),
      })).alive,
      true,
    );
    // Half written (between create and write): alive for a while.
    assertStrict.equal(
      (await judgeHolder({ info: null, raw: "", ino: 1, mtime: now })).alive,
      true,
    );
    assertStrict.equal(
      (await judgeHolder({ info: null, raw: "", ino: 1, mtime: now - 120_000 }))
        .alive,
      false,
    );
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("lock: Slurm job ids; the filesystem probe", async () => {
  const env = (m: Record<string, string>) => (k: string) => m[k];
  assertStrict.equal(slurmJobId(env({})), null);
  assertStrict.equal(slurmJobId(env({ SLURM_JOB_ID: "9" })), "9");
  assertStrict.equal(
    slurmJobId(
      env({
        SLURM_JOB_ID: "12",
        SLURM_ARRAY_JOB_ID: "10",
        SLURM_ARRAY_TASK_ID: "2",
      }),
    ),
    "10_2",
  );
  const dir = await Deno.makeTempDir();
  try {
    await checkLockDir(`${dir}/locks`);
    assertStrict.deepEqual([...Deno.readDirSync(`${dir}/locks`)], []);
    // A "folder" that is a file: said clearly.
    await Deno.writeTextFile(`${dir}/file`, "");
    await assertStrict.rejects(
      () => checkLockDir(`${dir}/file/locks`),
      /lock folder .*file\/locks is on a filesystem without a writable folder.*exclusive create and rename/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
