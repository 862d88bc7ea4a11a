#!/usr/bin/env bash
# One run against N shards run one after another on the same machine, then
# merge: the overhead of sharding (each shard reads every table of whole
# input), not a speedup one machine cannot show.
#   benches/shard-scale.sh 1000000 24 0.2 4
# Results go to benches/runs/<date>-<host>/shard-<accounts>-n<N>.txt: per
# step wall time, CPU time (user + system), peak RSS (GNU time) and the load
# average when it started; and whether the merged queue equals the single
# run's byte for byte.
set -euo pipefail
cd "$(dirname "$0")/.."
accounts=${1:-1000000}
months=${2:-24}
epad=${3:-0.2}
n=${4:-4}
work=${SCALE_WORK:-/tmp/shard-scale}
data="$work/data-$accounts-$months-$epad"
run="benches/runs/$(date -u +%Y-%m-%d)-$(hostname)"
mkdir -p "$run" "$work"
cargo build --release --bins -q
if ! ls "$data"/accounts.* >/dev/null 2>&1; then
  target/release/ebbflow-synth --out "$data" --accounts "$accounts" --months "$months" \
    --seed 7 --format parquet --events-per-account-day "$epad" 2> "$work/synth.log"
fi
model="$work/model-small"
if [ ! -f "$model/bundle.json" ]; then
  small="$work/data-20000-$months-$epad"
  ls "$small"/accounts.* >/dev/null 2>&1 || target/release/ebbflow-synth --out "$small" --accounts 20000 \
    --months "$months" --seed 7 --format parquet --events-per-account-day "$epad" 2>/dev/null
  target/release/ebbflow-train --data "$small" --out "$model" --quiet > /dev/null
fi
as_of=2025-12-31
out="$run/shard-$accounts-n$n.txt"
step() { # name, command...
  local name=$1; shift
  local load; load=$(cut -d' ' -f1-3 /proc/loadavg)
  /usr/bin/time -f "%e %U %S %M" -o "$work/time.txt" "$@" > /dev/null 2> "$work/step.log" || {
    cat "$work/step.log" >&2; exit 1; }
  read -r wall user sys rss < "$work/time.txt"
  printf "| %s | %.1f | %.1f | %.2f | %s |\n" "$name" "$wall" "$(echo "$user + $sys" | bc)" \
    "$(echo "scale=3; $rss / 1048576" | bc)" "$load"
}
{
  echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -sr)"
  echo "data: $data ($(du -sh "$data" | cut -f1)), as of $as_of, bundle $model"
  echo
  echo "| step | wall (s) | CPU user+sys (s) | peak RSS (GiB) | load at start |"
  echo "|---|---|---|---|---|"
  step "single run" target/release/ebbflow-score --model "$model" --data "$data" --as-of "$as_of" \
    --out "$work/single" --top 0 --quiet
  parts=()
  for ((k = 0; k < n; k++)); do
    step "shard $k/$n" target/release/ebbflow-score --model "$model" --data "$data" --as-of "$as_of" \
      --shard "$k/$n" --out "$work/part-$k" --quiet
    parts+=("$work/part-$k")
  done
  step "merge" target/release/ebbflow-score merge --model "$model" --out "$work/merged" --top 0 --quiet "${parts[@]}"
  echo
  for f in queue.csv queue.parquet; do
    if cmp -s "$work/single/$f" "$work/merged/$f"; then echo "$f: merged = single run, byte for byte"
    else echo "$f: DIFFERS"; fi
  done
  grep -E '"(accounts|scored)"' "$work/merged/manifest.json"
} 2>&1 | tee "$out"
