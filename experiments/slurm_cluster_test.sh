#!/usr/bin/env bash
# `make slurm-test`: the sweep as a Slurm job array, on a real one-node Slurm
# started here (docs/cluster.md). Not part of `make test`; needs root.
#
# 1. Installs slurm-wlm and munge with apt where missing.
# 2. Runs the smoke profile locally (the reference: its own --cache/--out,
#    one thread per process like the tasks) and saves its plan.
# 3. Writes a one-node slurm.conf (CPUs=2, this host's name and memory) and
#    its state into a temp folder, starts munged, slurmctld and slurmd there
#    (recording their pids), and on exit stops exactly those (and any job
#    process left that carries this test's environment), by pid.
# 4. `deno task slurm ... --submit`: the data job, the array (2 units per
#    task, at most 2 tasks at once, --cpus-per-task=1), the evaluation job.
#    Once a task has a checkpoint it is cancelled (scancel of that array
#    task), `reproduce --status` shows it interrupted, it is resubmitted
#    (`sbatch --array=<i> train.sh`) and the evaluation job is made to wait
#    for it too.
# 5. Every merged result CSV (<out>/<experiment>.csv) of the Slurm run must
#    equal the local run's byte for byte (meta.json and TABLES.md hold wall
#    times: not compared).
set -euo pipefail

t_start=$(date +%s)
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
DENO=${DENO:-$(command -v deno || echo "$REPO/.tools/node_modules/.bin/deno")}
DENO=$(readlink -f "$(command -v "$DENO" || echo "$DENO")")
# Smoke models of 60 steps with a checkpoint every 2: a task runs long
# enough to be caught mid-training.
OVERRIDES=(--steps=60 --checkpointEvery=2)
BACKEND=wasm
if [ -f .tensorflow/cpu.json ]; then BACKEND=tensorflow; fi

say() { echo "slurm-test: $*"; }
fail() {
  echo "slurm-test: FAILED: $*" >&2
  exit 1
}

if [ "$(id -u)" -ne 0 ]; then
  fail "runs slurmctld and slurmd as root (SlurmUser=root) and installs packages: run it as root"
fi
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null ||
  ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
  say "installing slurm-wlm and munge (apt-get)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
fi

T=$(mktemp -d /tmp/deepid2-slurm-test.XXXXXX)
chmod 700 "$T"
CONF=$T/slurm.conf
PIDS=()
CLEANED=0
# Slurm's commands, against this test's cluster only.
sl() { SLURM_CONF=$CONF DEEPID2_SLURM_TEST=$T "$@"; }

cleanup() {
  local rc=$?
  [ "$CLEANED" -eq 1 ] && return 0
  CLEANED=1
  set +e
  if [ -f "$CONF" ] && [ "${#PIDS[@]}" -gt 0 ]; then
    # This cluster's jobs first, then wait (bounded) for their processes to end.
    ids=$(sl squeue -h -o %A 2>/dev/null | sort -u)
    if [ -n "$ids" ]; then
      # shellcheck disable=SC2086
      sl scancel $ids 2>/dev/null
      for _ in $(seq 1 30); do
        [ -z "$(sl squeue -h -o %A 2>/dev/null)" ] && break
        sleep 1
      done
    fi
  fi
  # The daemons this test started, last first, by pid.
  for ((k = ${#PIDS[@]} - 1; k >= 0; k--)); do
    pid=${PIDS[$k]}
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  # Whatever is left that this cluster started (job steps and their
  # processes carry its slurm.conf or this test's folder in their
  # environment): by pid.
  for p in /proc/[0-9]*; do
    pid=${p#/proc/}
    [ "$pid" = "$$" ] && continue
    if { tr '\0' '\n' <"$p/environ"; } 2>/dev/null |
      grep -qxF -e "SLURM_CONF=$CONF" -e "DEEPID2_SLURM_TEST=$T"; then
      echo "slurm-test: stopping leftover process $pid ($(tr '\0' ' ' <"$p/cmdline" 2>/dev/null | cut -c1-80))"
      kill -KILL "$pid" 2>/dev/null
    fi
  done
  if [ "$rc" -eq 0 ]; then
    rm -rf "$T"
  else
    echo "slurm-test: kept $T (logs: $T/jobs/logs, $T/*.log)" >&2
  fi
  return 0
}
trap cleanup EXIT

# ---- a snapshot of the code ---------------------------------------------
# Both halves run the code as it was at the start (model keys hash the
# code): a copy of the tracked and untracked-but-not-ignored files, with the
# installed packages and the native backend linked in.
if git -C "$REPO" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mkdir -p "$T/src"
  git -C "$REPO" ls-files -co --exclude-standard -z |
    (cd "$REPO" && while IFS= read -r -d '' f; do [ -f "$f" ] && printf '%s\0' "$f"; done) |
    tar -C "$REPO" --null -T - -cf - | tar -C "$T/src" -xf -
  for d in node_modules .tensorflow .tools; do
    [ -e "$REPO/$d" ] && ln -s "$REPO/$d" "$T/src/$d"
  done
  cd "$T/src"
  say "running a snapshot of the code in $T/src"
else
  say "not a git checkout: running the code in place (edits during the test change the model keys)"
fi

# ---- the local reference ------------------------------------------------
ONE_THREAD=(DEEPID2_KERNEL_THREADS=1 DEEPID2_WASM_THREADS=1 TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1 OMP_NUM_THREADS=1)
ARGS=(--profile smoke --backend "$BACKEND")
say "local reference: reproduce ${ARGS[*]} ${OVERRIDES[*]} (one thread per process, as the tasks)"
t0=$(date +%s)
# Both runs use the cache path $T/cache (the local one first, moved aside
# once done), so nothing in the CSVs can differ by where the cache was.
# TensorFlow's own ops give other bits on 2 threads than on 1 (our kernels
# do not): the reference runs one thread, as the tasks do.
env "${ONE_THREAD[@]}" "$DENO" run -A experiments/reproduce.ts "${ARGS[@]}" \
  --cache "$T/cache" --out "$T/local-out" "${OVERRIDES[@]}" --quiet \
  >"$T/local.log" 2>&1 || {
  tail -20 "$T/local.log"
  fail "the local reference run failed (log above)"
}
say "local reference done in $(($(date +%s) - t0)) s"
"$DENO" run -A experiments/reproduce.ts "${ARGS[@]}" --cache "$T/cache" \
  --out "$T/local-out" "${OVERRIDES[@]}" --quiet --plan --json >"$T/plan.json" 2>"$T/plan.log" ||
  fail "reproduce --plan failed ($T/plan.log)"
mv "$T/cache" "$T/local-cache"

# ---- a one-node Slurm ---------------------------------------------------
HOST=$(hostname)
MEM=$(awk '/MemTotal/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)
mkdir -p "$T/state" "$T/spool" "$T/munge" "$T/jobs"
chmod 700 "$T/munge"
cat >"$CONF" <<EOF
ClusterName=deepid2test
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
SlurmctldPort=16817
SlurmdPort=16818
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$T/munge/munge.socket.2
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2
MpiDefault=none
ReturnToService=2
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/slurmctld.log
SlurmdLogFile=$T/slurmd.log
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
MinJobAge=3600
KillWait=5
InactiveLimit=0
NodeName=$HOST CPUs=2 RealMemory=$MEM State=UNKNOWN
PartitionName=test Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
dd if=/dev/urandom of="$T/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$T/munge/munge.key"
munged --foreground --force --socket="$T/munge/munge.socket.2" \
  --key-file="$T/munge/munge.key" --pid-file="$T/munge/munged.pid" \
  --log-file="$T/munge/munged.log" --seed-file="$T/munge/munged.seed" \
  >"$T/munged.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 50); do [ -S "$T/munge/munge.socket.2" ] && break; sleep 0.1; done
[ -S "$T/munge/munge.socket.2" ] || fail "munged did not start ($T/munged.out, $T/munge/munged.log)"
SLURM_CONF=$CONF slurmctld -D -f "$CONF" >"$T/slurmctld.out" 2>&1 &
PIDS+=($!)
SLURM_CONF=$CONF slurmd -D -f "$CONF" >"$T/slurmd.out" 2>&1 &
PIDS+=($!)
say "started munged, slurmctld, slurmd (pids ${PIDS[*]}), config $CONF"
ready=0
for _ in $(seq 1 60); do
  state=$(sl sinfo -h -n "$HOST" -o %t 2>/dev/null || true)
  case "$state" in idle* | mix* | alloc*) ready=1; break ;; esac
  sleep 1
done
if [ "$ready" -ne 1 ]; then
  tail -5 "$T/slurmctld.log" "$T/slurmd.log" 2>/dev/null
  fail "the node did not come up (state '${state:-}')"
fi
say "node $HOST is up ($(sl sinfo -h -o '%P %c CPUs %m MB %t'))"

# ---- the run as jobs ----------------------------------------------------
SLURM_OUT=$T/slurm-out
SLURM_CACHE=$T/cache
RUN=("${ARGS[@]}" --cache "$SLURM_CACHE" --out "$SLURM_OUT" "${OVERRIDES[@]}")
t_jobs=$(date +%s)
sl "$DENO" run -A experiments/slurm.ts "${RUN[@]}" --dir "$T/jobs" \
  --plan-json "$T/plan.json" --cpus-per-task=1 --array-parallel=2 \
  --units-per-task=2 --time=00:30:00 --submit >"$T/submit.out" 2>"$T/submit.err" || {
  cat "$T/submit.err"
  fail "deno task slurm --submit failed"
}
ids=$(tail -1 "$T/submit.out")
DATA=$(sed -E 's/.*"data":"([0-9]+)".*/\1/' <<<"$ids")
TRAIN=$(sed -E 's/.*"train":"([0-9]+)".*/\1/' <<<"$ids")
EVAL=$(sed -E 's/.*"eval":"([0-9]+)".*/\1/' <<<"$ids")
say "$(head -1 "$T/submit.out")"

job_state() { sl scontrol show job "$1" 2>/dev/null | sed -nE 's/.*JobState=([A-Z_]+).*/\1/p' | head -1; }

# Wait for a training task with a checkpoint (its lock names its array task), then cancel it.
killed=""
max_running=0
for _ in $(seq 1 6000); do
  running=$(sl squeue -h -j "$TRAIN" -t RUNNING -o %i 2>/dev/null | wc -l)
  ((running > max_running)) && max_running=$running
  for ck in "$SLURM_CACHE"/models/*.ckpt; do
    [ -e "$ck" ] || continue
    key=$(basename "$ck" .ckpt)
    job=$(sed -nE 's/.*"slurm_job_id":"([0-9_]+)".*/\1/p' "$SLURM_CACHE/locks/model-$key.lock" 2>/dev/null || true)
    if [[ "$job" == "${TRAIN}_"* ]]; then
      sl scancel "$job"
      killed=${job#"${TRAIN}_"}
      say "cancelled array task $job mid-training (model $key has a checkpoint; $running tasks running)"
      break 2
    fi
  done
  st=$(job_state "$EVAL")
  [ "$st" != "PENDING" ] && fail "the array finished before a task could be caught mid-training (evaluation job: $st)"
  sleep 0.2
done
[ -n "$killed" ] || fail "no training task was caught mid-training"
for _ in $(seq 1 100); do
  st=$(job_state "${TRAIN}_$killed")
  [ "$st" = "CANCELLED" ] && break
  sleep 0.2
done
[ "$st" = "CANCELLED" ] || fail "array task ${TRAIN}_$killed did not end after scancel (state $st)"
# Resubmit it; the evaluation waits for the resubmission too.
RESUB=$(sl sbatch --parsable --array="$killed" "$T/jobs/train.sh")
RESUB=${RESUB%%;*}
if sl scontrol update JobId="$EVAL" Dependency="afterany:$TRAIN:$RESUB" 2>"$T/update.err"; then
  say "resubmitted task $killed as job ${RESUB}_$killed; evaluation job $EVAL now waits for it too"
else
  say "evaluation job $EVAL could not wait for the resubmission ($(cat "$T/update.err")); it is resubmitted after it"
  EVAL=$(sl sbatch --parsable --dependency="afterany:$RESUB" "$T/jobs/eval.sh")
  EVAL=${EVAL%%;*}
fi
say "reproduce --status while the array runs:"
"$DENO" run -A experiments/reproduce.ts "${RUN[@]}" --quiet --status 2>/dev/null |
  grep -E "running|failed|reproduce --status" | sed 's/^/  /' || true

# Wait for the evaluation (bounded: the whole test must stay within 40 minutes).
last_note=$(date +%s)
while :; do
  st=$(job_state "$EVAL")
  case "$st" in
    COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | BOOT_FAIL | DEADLINE | PREEMPTED) break ;;
  esac
  running=$(sl squeue -h -j "$TRAIN" -t RUNNING -o %i 2>/dev/null | wc -l)
  ((running > max_running)) && max_running=$running
  if (($(date +%s) - t_start > 38 * 60)); then fail "timed out waiting for the evaluation job $EVAL (state $st)"; fi
  if (($(date +%s) - last_note >= 60)); then
    last_note=$(date +%s)
    say "waiting: $(sl squeue -h -o '%i %j %T' | tr '\n' ';')"
  fi
  sleep 1
done
exit_code=$(sl scontrol show job "$EVAL" | sed -nE 's/.* ExitCode=([0-9:]+).*/\1/p' | head -1)
say "evaluation job $EVAL: $st (exit $exit_code); jobs took $(($(date +%s) - t_jobs)) s; at most $max_running training tasks ran at once"
resub_state=$(job_state "${RESUB}_$killed")
[ -n "$resub_state" ] || resub_state=$(job_state "$RESUB")
[ "$resub_state" = "COMPLETED" ] || fail "the resubmitted task $RESUB ended $resub_state"
if [ "$st" != "COMPLETED" ] || [ "$exit_code" != "0:0" ]; then
  tail -30 "$T"/jobs/logs/*eval*.out
  fail "the evaluation job ended $st, exit $exit_code (log above)"
fi
((max_running >= 2)) || fail "never saw two training tasks running at once (at most $max_running)"
# ---- the results --------------------------------------------------------
n=0
bad=()
for f in "$T"/local-out/*.csv; do
  name=$(basename "$f")
  n=$((n + 1))
  cmp -s "$f" "$SLURM_OUT/$name" || bad+=("$name")
done
for f in "$SLURM_OUT"/*.csv; do
  [ -e "$T/local-out/$(basename "$f")" ] || bad+=("$(basename "$f") (only in the Slurm run)")
done
((n > 0)) || fail "the local run wrote no result CSV"
if [ "${#bad[@]}" -gt 0 ]; then
  for b in "${bad[@]}"; do
    echo "slurm-test: differs: $b" >&2
    diff <(head -5 "$T/local-out/${b%% *}" 2>/dev/null) <(head -5 "$SLURM_OUT/${b%% *}" 2>/dev/null) | head -10 >&2 || true
  done
  fail "${#bad[@]} of $n result CSVs differ from the local run"
fi
cleanup
trap - EXIT
say "wall time $(($(date +%s) - t_start)) s"
say "$n result CSVs identical to the local run"
