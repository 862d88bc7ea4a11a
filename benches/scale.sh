#!/usr/bin/env bash
# End-to-end runs at scale on generated data, recorded with the machine.
#   benches/scale.sh train 100000 24        # ebbflow-train on 100k accounts x 24 months
#   benches/scale.sh score 1000000 24 0.2   # ebbflow-score on 1M accounts (events/account-day)
# Results go to benches/runs/<date>-<host>/<what>-<accounts>.txt: wall time,
# CPU time (user + system: the figure to compare on a shared machine), peak
# RSS (GNU time), the load average when the run started, and the program's
# own timing lines (score: the manifest's read/features/scoring/write split).
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:?train or score}
accounts=${2:-100000}
months=${3:-24}
epad=${4:-0.5}
work=${SCALE_WORK:-/tmp/ebbflow-scale}
data="$work/data-$accounts-$months-$epad"
run="benches/runs/$(date -u +%Y-%m-%d)-$(hostname)"
mkdir -p "$run" "$work"
cargo build --release --bins -q
if ! ls "$data"/accounts.* >/dev/null 2>&1; then
  /usr/bin/time -v target/release/ebbflow-synth --out "$data" --accounts "$accounts" --months "$months" \
    --seed 7 --format parquet --events-per-account-day "$epad" 2> "$work/synth.log"
  grep -E "synth |Elapsed|Maximum resident" "$work/synth.log" || true
fi
out="$run/$what-$accounts.txt"
{
  echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -sr)"
  echo "data: $data ($(du -sh "$data" | cut -f1))"
  echo "load before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
  case "$what" in
    train)
      /usr/bin/time -v target/release/ebbflow-train --data "$data" --out "$work/model-$accounts" 2>&1 ;;
    score)
      [ -f "$work/model-small/bundle.json" ] || {
        small="$work/data-20000-$months-$epad"
        ls "$small"/accounts.* >/dev/null 2>&1 || target/release/ebbflow-synth --out "$small" --accounts 20000 \
          --months "$months" --seed 7 --format parquet --events-per-account-day "$epad" 2>/dev/null
        target/release/ebbflow-train --data "$small" --out "$work/model-small" --quiet > /dev/null
      }
      /usr/bin/time -v target/release/ebbflow-score --model "$work/model-small" --data "$data" \
        --out "$work/queue-$accounts" --top 0 2>&1
      grep -A6 '"timings"' "$work/queue-$accounts/manifest.json"
      cat "$work/queue-$accounts/manifest.json" | head -40 ;;
  esac
} 2>&1 | grep -vE "^\s+(Average|Page size|Exit status|Swaps|File system|Socket|Signals|Voluntary|Involuntary|Major|Minor|Percent)" | tee "$out"
