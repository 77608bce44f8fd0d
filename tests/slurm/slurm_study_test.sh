#!/usr/bin/env bash
# The sharded study through a real single-node Slurm: starts munged, slurmctld
# and slurmd on this machine (configuration in a temp dir), submits the study
# as a 2-task job array plus the dependent merge job with
# study/slurm/study-array.sbatch, waits, and checks that the merged tables are
# byte-identical to an unsharded run of the same study.
#   tests/slurm/slurm_study_test.sh QUALM UNSHARDED_DIR -- [qualm study options]
# Skips (exit 0, "SKIP: ...") only when the daemons cannot be started here.
set -uo pipefail
QUALM="$(realpath "$1")"; FULL="$(realpath "$2")"; shift 2; [ "${1:-}" = "--" ] && shift
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
skip() { echo "SKIP: slurm study test: $1"; exit 0; }
fail() { echo "FAIL: slurm study test: $1"; for f in "$tmp"/*.log "$tmp"/out/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -15 "$f"; }; done; exit 1; }
for c in munged slurmctld slurmd sbatch sinfo squeue; do
  command -v "$c" >/dev/null || skip "$c is not installed (scripts/setup.sh --with-test-tools installs slurm-wlm and munge)"
done
[ "$(id -u)" -eq 0 ] || skip "needs root to start munged and the Slurm daemons"

tmp="$(mktemp -d /tmp/qualm-slurm.XXXXXX)"
chmod 755 "$tmp"
pids=()
cleanup() {
  [ -f "$tmp/slurmd.pid" ] && kill "$(cat "$tmp/slurmd.pid")" 2>/dev/null
  [ -f "$tmp/slurmctld.pid" ] && kill "$(cat "$tmp/slurmctld.pid")" 2>/dev/null
  [ -n "${munge_started:-}" ] && [ -f /run/munge/munged.pid ] && kill "$(cat /run/munge/munged.pid)" 2>/dev/null
  sleep 1
  rm -rf "$tmp"
}
trap cleanup EXIT

# munge: a key if there is none, its run dir, the daemon as the munge user.
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  if [ ! -s /etc/munge/munge.key ]; then
    mkdir -p /etc/munge
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  fi
  chown munge:munge /etc/munge/munge.key && chmod 0400 /etc/munge/munge.key
  mkdir -p /run/munge /var/log/munge /var/lib/munge && chown munge:munge /run/munge /var/log/munge /var/lib/munge
  su -s /bin/sh munge -c munged || skip "munged did not start"
  munge_started=1
  sleep 1
  munge -n | unmunge >/dev/null 2>&1 || skip "munge does not work here"
fi

host="$(hostname -s)"
mem=$(( $(free -m | awk '/^Mem:/ {print $2}') * 8 / 10 ))
cat >"$tmp/slurm.conf" <<CONF
ClusterName=qualm-test
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/slurmctld.log
SlurmdLogFile=$tmp/slurmd.log
MpiDefault=none
NodeName=$host CPUs=$(nproc) RealMemory=$mem State=UNKNOWN
PartitionName=main Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
mkdir -p "$tmp/state" "$tmp/spool"
export SLURM_CONF="$tmp/slurm.conf"
slurmctld -f "$SLURM_CONF" || skip "slurmctld did not start"
slurmd -f "$SLURM_CONF" || skip "slurmd did not start"
for _ in $(seq 1 30); do
  sinfo -h -o %t 2>/dev/null | grep -q idle && break
  sleep 1
done
sinfo -h -o %t | grep -q idle || skip "the node did not become idle ($(sinfo -h -o %t 2>&1))"
echo "slurm: node $host idle"

# The study: 2-task array + merge, through the shipped script.
submitted="$(QUALM="$QUALM" bash "$ROOT/study/slurm/study-array.sbatch" --shards 2 --out "$tmp/out" -- "$@")" ||
  fail "submission failed: $submitted"
echo "$submitted"
merge_id="$(echo "$submitted" | sed -n 's/.*merge job \([0-9]*\).*/\1/p')"
[ -n "$merge_id" ] || fail "no merge job id in: $submitted"
for _ in $(seq 1 1800); do
  [ -z "$(squeue -h 2>/dev/null)" ] && break
  sleep 1
done
[ -z "$(squeue -h)" ] || fail "jobs still queued or running after 30 minutes: $(squeue -h)"
[ -f "$tmp/out/results.md" ] || fail "the merge job wrote no results.md"
checks=0
for f in results.md results.json records.json; do
  cmp -s "$FULL/$f" "$tmp/out/$f" || fail "$f of the Slurm run differs from the unsharded run"
  checks=$((checks + 1))
done
[ -d "$tmp/out/shard-1/cells" ] && [ -d "$tmp/out/shard-2/cells" ] || fail "shard folders missing"
checks=$((checks + 1))
echo "slurm study: $checks passed, 0 failed (2 shards + merge byte-identical to the unsharded run)"
