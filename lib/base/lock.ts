/**
 * Lock files for a cache that many processes (Slurm array tasks, on one
 * host or many, over a shared filesystem) build into at once: one lock per
 * thing being built, so a second process that wants the same thing waits
 * for the first and then reads what it built, instead of building it twice.
 *
 * - A lock is the file `<cache>/locks/<name>.lock`, made with an exclusive
 *   create (`O_CREAT|O_EXCL`, `Deno.open({createNew: true})`): whoever
 *   creates it holds it. It holds JSON {@linkcode LockInfo}: pid, host,
 *   Slurm job id (`SLURM_ARRAY_JOB_ID_SLURM_ARRAY_TASK_ID` in an array task,
 *   else `SLURM_JOB_ID`), when it was taken, and a random token.
 * - While held, its mtime is the heartbeat: touched every `heartbeatMs`.
 * - A waiter polls, prints one line a minute naming the holder, and takes a
 *   lock over when its holder is gone: on the same host, the pid is dead (or
 *   is another process now: its start time differs); else, with a Slurm job
 *   id, `squeue` no longer lists the job as pending or running; else (or
 *   when squeue cannot say) the heartbeat is older than `staleAfterMs`.
 * - Takeover renames the stale lock to a unique name (one rename of one
 *   file wins), checks that the file it moved is the one it judged stale
 *   (the same inode and token), deletes it and competes again with
 *   `createNew`. Had the lock been replaced in between by a live one, the
 *   mover puts it back with a no-clobber `link`.
 *
 * {@linkcode checkLockDir} probes once per folder that the filesystem does
 * exclusive creates and renames (NFSv3+, NFSv4, Lustre, GPFS and local
 * disks do); without them it says so and stops.
 *
 * @module
 */

/** What a lock file holds. */
export interface LockInfo {
  pid: number;
  host: string;
  /** `123_4` in an array task, `123` in a plain job, null outside Slurm. */
  slurm_job_id: string | null;
  /** ISO time the lock was taken. */
  started: string;
  /** ISO time of the last heartbeat written into the file (the file's mtime is the live one). */
  heartbeat: string;
  /** What is being built, in words. */
  label: string;
  /** The holding process's start time (`/proc/<pid>/stat`, clock ticks), against pid reuse. */
  pid_start: number | null;
  /** Random: tells this holding from any other of the same name. */
  token: string;
}

/** Options of {@linkcode acquireLock}. */
export interface LockOptions {
  /** What is being built, for the lock file and the waiting lines. */
  label?: string;
  /** Touch the lock this often while held (ms; default 30 s). */
  heartbeatMs?: number;
  /** A lock whose holder cannot be checked otherwise is stale after this long without a heartbeat (ms; default 10 min). */
  staleAfterMs?: number;
  /** Look at a held lock this often while waiting (ms; default 2 s). */
  pollMs?: number;
  /** One waiting line this often (ms; default 1 min). */
  reportEveryMs?: number;
  /** Where the waiting and takeover lines go (default stderr). */
  log?: (line: string) => void;
  /** Whether a Slurm job is still pending or running; undefined: cannot tell (default: `squeue`). */
  jobAlive?: (jobId: string) => Promise<boolean | undefined>;
}

/** A held lock; `await using` releases it. */
export interface Lock {
  readonly path: string;
  readonly info: LockInfo;
  /** Stops the heartbeat and removes the lock (when it is still this holding's). */
  release(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** The lock folder of a cache. */
export function lockDir(cacheDir: string): string {
  return `${cacheDir}/locks`;
}

/** The lock file of `name` in a cache (`name` made file-safe). */
export function lockPath(cacheDir: string, name: string): string {
  return `${lockDir(cacheDir)}/${name.replace(/[^A-Za-z0-9._=+-]/g, "_")}.lock`;
}

/** This process's Slurm job: `ARRAYJOB_TASK` in an array task, `JOB` in a job, else null. */
export function slurmJobId(
  env: (k: string) => string | undefined = (k) => Deno.env.get(k),
): string | null {
  const array = env("SLURM_ARRAY_JOB_ID"), task = env("SLURM_ARRAY_TASK_ID");
  if (array && task) return `${array}_${task}`;
  return env("SLURM_JOB_ID") || null;
}

/** A process's start time in clock ticks since boot (Linux), or null. */
export function processStart(pid: number | "self"): number | null {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // Fields after the command name (which may hold spaces and parentheses).
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const t = Number(rest[19]); // field 22, starttime
    return Number.isFinite(t) ? t : null;
  } catch {
    return null;
  }
}

/** Whether `pid` runs on this host (and, given its start time, is still that process). */
export function pidAlive(pid: number, start: number | null = null): boolean {
  if (Deno.build.os === "linux") {
    try {
      Deno.statSync(`/proc/${pid}`);
    } catch {
      return false;
    }
    const now = processStart(pid);
    return start === null || now === null || now === start;
  }
  try {
    Deno.kill(pid, "SIGCONT"); // kill -0 semantics; SIGCONT is harmless to a running process
    return true;
  } catch (e) {
    return e instanceof Deno.errors.PermissionDenied;
  }
}

const ACTIVE_STATES = new Set([
  "PENDING",
  "RUNNING",
  "CONFIGURING",
  "COMPLETING",
  "SUSPENDED",
  "REQUEUED",
  "REQUEUE_HOLD",
  "REQUEUE_FED",
  "RESIZING",
  "SIGNALING",
  "STAGE_OUT",
  "STOPPED",
]);

/** Whether Slurm lists a job as pending or running: `squeue -h -j ID`; undefined when squeue cannot say. */
export async function squeueAlive(jobId: string): Promise<boolean | undefined> {
  try {
    const o = await new Deno.Command("squeue", {
      args: ["-h", "-j", jobId, "-o", "%T"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const out = new TextDecoder().decode(o.stdout).trim();
    const err = new TextDecoder().decode(o.stderr);
    if (o.success) {
      const states = out.split(/\s+/).filter(Boolean);
      return states.some((s) => ACTIVE_STATES.has(s));
    }
    // Jobs that ended long ago are unknown to the controller.
    if (/invalid job id/i.test(err)) return false;
    return undefined;
  } catch {
    return undefined; // no squeue here
  }
}

/** A lock file as read: its contents (null when unreadable or half written), inode and heartbeat. */
export interface LockState {
  info: LockInfo | null;
  raw: string;
  ino: number | null;
  /** The file's mtime: the last heartbeat. */
  mtime: number;
}

/** Reads a lock file; null when there is none. */
export async function readLock(path: string): Promise<LockState | null> {
  let f: Deno.FsFile;
  try {
    f = await Deno.open(path, { read: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  try {
    // Inode and contents through the one descriptor: the same file.
    const st = await f.stat();
    const chunks: Uint8Array[] = [];
    const buf = new Uint8Array(4096);
    for (let n; (n = await f.read(buf)) !== null;) {
      chunks.push(buf.slice(0, n));
    }
    const raw = new TextDecoder().decode(
      chunks.length === 1
        ? chunks[0]
        : Uint8Array.from(chunks.flatMap((c) => [...c])),
    );
    let info: LockInfo | null = null;
    try {
      info = JSON.parse(raw) as LockInfo;
      if (typeof info?.pid !== "number") info = null;
    } catch {
      info = null;
    }
    return { info, raw, ino: st.ino, mtime: st.mtime?.getTime() ?? 0 };
  } finally {
    f.close();
  }
}

/** Whether a lock's holder is alive, and why it is judged so. */
export interface HolderVerdict {
  alive: boolean;
  why: string;
}

/** A lock's holder in words: `pid 123 on host h (Slurm job 45_2), since 12:00:01, heartbeat 4 s ago`. */
export function describeHolder(state: LockState, now = Date.now()): string {
  const i = state.info;
  const beat = Math.round((now - state.mtime) / 1000);
  if (!i) return `an unreadable lock (heartbeat ${beat} s ago)`;
  const job = i.slurm_job_id ? ` (Slurm job ${i.slurm_job_id})` : "";
  return `pid ${i.pid} on host ${i.host}${job}, since ${i.started}, heartbeat ${beat} s ago`;
}

/** Decides whether a lock's holder is still there (module doc). */
export async function judgeHolder(
  state: LockState,
  options: Pick<LockOptions, "staleAfterMs" | "jobAlive"> = {},
  now = Date.now(),
): Promise<HolderVerdict> {
  const staleAfter = options.staleAfterMs ?? 10 * 60_000;
  const age = now - state.mtime;
  const i = state.info;
  if (!i) {
    // Created but not written yet (its holder is between create and write), or garbage.
    return age > Math.min(staleAfter, 60_000)
      ? {
        alive: false,
        why: "an unreadable lock file, not touched for a minute",
      }
      : { alive: true, why: "a lock being written" };
  }
  if (i.host === Deno.hostname()) {
    return pidAlive(i.pid, i.pid_start)
      ? { alive: true, why: `pid ${i.pid} runs on this host` }
      : { alive: false, why: `pid ${i.pid} on this host is gone` };
  }
  if (i.slurm_job_id) {
    const job = await (options.jobAlive ?? squeueAlive)(i.slurm_job_id);
    if (job === false) {
      return {
        alive: false,
        why: `Slurm job ${i.slurm_job_id} is no longer pending or running`,
      };
    }
    if (job === true) {
      return { alive: true, why: `Slurm job ${i.slurm_job_id} is running` };
    }
  }
  return age > staleAfter
    ? {
      alive: false,
      why: `no heartbeat for ${Math.round(age / 1000)} s (holder on ${i.host})`,
    }
    : { alive: true, why: `heartbeat ${Math.round(age / 1000)} s ago` };
}

const probed = new Map<string, Promise<void>>();

/**
 * Checks once per folder that its filesystem does what the locks rely on:
 * an exclusive create that fails on an existing file, and a rename. Throws
 * an error saying so when it does not.
 */
export function checkLockDir(dir: string): Promise<void> {
  let p = probed.get(dir);
  if (!p) {
    p = probe(dir);
    p.catch(() => probed.delete(dir));
    probed.set(dir, p);
  }
  return p;
}

async function probe(dir: string): Promise<void> {
  const base = `${dir}/.probe-${Deno.hostname()}-${Deno.pid}-${
    crypto.randomUUID().slice(0, 8)
  }`;
  const fail = (what: string, e?: unknown) =>
    new Error(
      `the cache's lock folder ${dir} is on a filesystem without ${what}${
        e ? ` (${(e as Error).message})` : ""
      }: concurrent tasks cannot share this cache safely. Put --cache on a local disk, or on a shared filesystem with POSIX exclusive create and rename (NFSv3 or later, NFSv4, Lustre, GPFS/Spectrum Scale, BeeGFS)`,
    );
  try {
    await Deno.mkdir(dir, { recursive: true });
  } catch (e) {
    throw fail("a writable folder", e);
  }
  try {
    (await Deno.open(base, { createNew: true, write: true })).close();
  } catch (e) {
    throw fail("exclusive create (O_EXCL)", e);
  }
  try {
    let second = false;
    try {
      (await Deno.open(base, { createNew: true, write: true })).close();
      second = true;
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) {
        throw fail("exclusive create (O_EXCL)", e);
      }
    }
    if (second) {
      throw fail(
        "exclusive create (O_EXCL: a second create of one file succeeded)",
      );
    }
    try {
      await Deno.rename(base, `${base}.moved`);
    } catch (e) {
      throw fail("rename", e);
    }
    let gone = false;
    try {
      await Deno.stat(base);
    } catch {
      gone = true;
    }
    if (!gone) throw fail("rename (the old name is still there)");
  } finally {
    await Deno.remove(base).catch(() => {});
    await Deno.remove(`${base}.moved`).catch(() => {});
  }
}

/** Locks this process holds or waits for, by path: a second wanter here queues behind the first. */
const inProcess = new Map<string, Promise<void>>();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Takes the lock `name` in `cacheDir` (module doc), waiting while a live
 * holder has it. Resolves once held; release with `await using` or
 * `release()`.
 */
export async function acquireLock(
  cacheDir: string,
  name: string,
  options: LockOptions = {},
): Promise<Lock> {
  const dir = lockDir(cacheDir);
  const path = lockPath(cacheDir, name);
  await checkLockDir(dir);
  // In this process: wait for its own earlier holding of the same lock.
  const before = inProcess.get(path);
  let done!: () => void;
  const mine = new Promise<void>((r) => done = r);
  const chained = (before ?? Promise.resolve()).then(() => mine);
  inProcess.set(path, chained);
  const leave = () => {
    done();
    if (inProcess.get(path) === chained) inProcess.delete(path);
  };
  if (before) await before;
  try {
    return await acquireFile(path, name, options, leave);
  } catch (e) {
    leave();
    throw e;
  }
}

async function acquireFile(
  path: string,
  name: string,
  options: LockOptions,
  leave: () => void,
): Promise<Lock> {
  const log = options.log ?? ((l: string) => console.error(l));
  const pollMs = options.pollMs ?? 2000;
  const reportEvery = options.reportEveryMs ?? 60_000;
  const label = options.label ?? name;
  let lastReport = -Infinity;
  const t0 = Date.now();
  for (;;) {
    const now = new Date().toISOString();
    const info: LockInfo = {
      pid: Deno.pid,
      host: Deno.hostname(),
      slurm_job_id: slurmJobId(),
      started: now,
      heartbeat: now,
      label,
      pid_start: processStart("self"),
      token: crypto.randomUUID(),
    };
    let file: Deno.FsFile | undefined;
    try {
      file = await Deno.open(path, { createNew: true, write: true });
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    }
    if (file) {
      let ino: number | null;
      try {
        await file.write(new TextEncoder().encode(JSON.stringify(info) + "\n"));
        ino = (await file.stat()).ino;
      } catch (e) {
        file.close();
        file = undefined;
        await Deno.remove(path).catch(() => {}); // ours, half written
        throw e;
      } finally {
        file?.close();
      }
      if (Date.now() - t0 > reportEvery) {
        log(
          `lock ${name}: acquired after ${
            Math.round((Date.now() - t0) / 1000)
          } s`,
        );
      }
      return held(path, name, info, ino, options, leave, log);
    }
    const state = await readLock(path);
    if (!state) continue; // released in between: try again at once
    const verdict = await judgeHolder(state, options);
    if (!verdict.alive) {
      if (await breakStale(path, state, log)) {
        log(
          `lock ${name}: took over a stale lock (${verdict.why}; was ${
            describeHolder(state)
          })`,
        );
      }
      continue;
    }
    if (Date.now() - lastReport >= reportEvery) {
      lastReport = Date.now();
      log(
        `waiting for ${label}: lock held by ${describeHolder(state)} (${
          Math.round((Date.now() - t0) / 1000)
        } s so far)`,
      );
    }
    await sleep(pollMs);
  }
}

/**
 * Moves a stale lock aside and deletes it. Returns false when another
 * process had already done so, or when the file at `path` turned out to be
 * a newer holding (then it is put back).
 */
async function breakStale(
  path: string,
  seen: LockState,
  log: (l: string) => void,
): Promise<boolean> {
  const aside = `${path}.stale-${Deno.hostname()}-${Deno.pid}-${
    crypto.randomUUID().slice(0, 8)
  }`;
  try {
    await Deno.rename(path, aside);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
  const moved = await readLock(aside);
  const same = moved !== null && moved.raw === seen.raw &&
    (moved.ino === null || seen.ino === null || moved.ino === seen.ino);
  if (same) {
    await Deno.remove(aside).catch(() => {});
    return true;
  }
  // Someone took over and locked again between our look and our rename: undo.
  try {
    await Deno.link(aside, path);
    await Deno.remove(aside).catch(() => {});
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) {
      log(
        `lock ${path}: a live lock was moved aside while a third process locked; its holder (${
          moved ? describeHolder(moved) : "?"
        }) and the new one may both build`,
      );
      await Deno.remove(aside).catch(() => {});
    } else {
      await Deno.rename(aside, path).catch(() => {});
    }
  }
  return false;
}

function held(
  path: string,
  name: string,
  info: LockInfo,
  ino: number | null,
  options: LockOptions,
  leave: () => void,
  log: (l: string) => void,
): Lock {
  let warned = false;
  const beat = setInterval(async () => {
    try {
      const st = await Deno.stat(path);
      if (ino !== null && st.ino !== ino) throw new Deno.errors.NotFound();
      const now = new Date();
      await Deno.utime(path, now, now);
    } catch {
      if (!warned) {
        warned = true;
        log(
          `lock ${name}: this process's lock file ${path} is gone or was taken over`,
        );
      }
    }
  }, options.heartbeatMs ?? 30_000);
  // A process that exits holding a lock leaves it to be taken over.
  Deno.unrefTimer(beat);
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    clearInterval(beat);
    try {
      const st = await readLock(path);
      if (st && st.info?.token === info.token) await Deno.remove(path);
    } catch {
      // already gone
    } finally {
      leave();
    }
  };
  return { path, info, release, [Symbol.asyncDispose]: release };
}

/** Runs `fn` holding the lock `name` (see {@linkcode acquireLock}). */
export async function withLock<T>(
  cacheDir: string,
  name: string,
  fn: () => Promise<T>,
  options: LockOptions = {},
): Promise<T> {
  await using _lock = await acquireLock(cacheDir, name, options);
  return await fn();
}

/** What `reproduce --status` says of a lock: none, a live holder, or a stale one. */
export async function inspectLock(
  cacheDir: string,
  name: string,
  options: Pick<LockOptions, "staleAfterMs" | "jobAlive"> = {},
): Promise<
  | { state: "none" }
  | {
    state: "held" | "stale";
    holder: string;
    info: LockInfo | null;
    why: string;
  }
> {
  const st = await readLock(lockPath(cacheDir, name));
  if (!st) return { state: "none" };
  const v = await judgeHolder(st, options);
  return {
    state: v.alive ? "held" : "stale",
    holder: describeHolder(st),
    info: st.info,
    why: v.why,
  };
}
