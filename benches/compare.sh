#!/usr/bin/env bash
# Before/after medians of end-to-end runs, interleaved so that both builds
# see the same machine: run 1 before, run 1 after, run 2 before, ...
#   benches/compare.sh score BEFORE_BIN_DIR AFTER_BIN_DIR [RUNS]
#   benches/compare.sh train BEFORE_BIN_DIR AFTER_BIN_DIR [RUNS]
# BIN_DIR holds ebbflow-score / ebbflow-train (e.g. a copy of an older
# target/release). The data are benches/scale.sh's, in $SCALE_WORK
# (default /tmp/ebbflow-scale): score reads data-$ACCOUNTS-24-$EPAD
# (ACCOUNTS=1000000, EPAD=0.2) with the bundle model-small; train reads
# data-$ACCOUNTS-24-$EPAD (set ACCOUNTS=20000 EPAD=0.5). Generate them
# with benches/scale.sh first.
# Writes benches/runs/<date>-<host>/compare-<what>-<accounts>.md (or -2, -3,
# ... when that record exists: it is never overwritten): one row
# per run (load at its start, wall, CPU = user + system, peak RSS, and for
# score the manifest's read/features/scoring/write split), then medians.
# Also checks that the two builds wrote identical queue.csv (score) or
# bundle.json (train) bytes, apart from the bundle's created_at.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:?score or train}
before=$(realpath "${2:?before bin dir}")
after=$(realpath "${3:?after bin dir}")
runs=${4:-3}
work=${SCALE_WORK:-/tmp/ebbflow-scale}
if [ "$what" = score ]; then
  accounts=${ACCOUNTS:-1000000}
  epad=${EPAD:-0.2}
else
  accounts=${ACCOUNTS:-20000}
  epad=${EPAD:-0.5}
fi
data="$work/data-$accounts-24-$epad"
[ -d "$data" ] || { echo "no data in $data: run benches/scale.sh first" >&2; exit 2; }
run="benches/runs/$(date -u +%Y-%m-%d)-$(hostname)"
mkdir -p "$run"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

one() { # build-label bin-dir run-number
  local label=$1 bin=$2 i=$3 out="$tmp/$1-$3"
  local load
  load=$(cut -d' ' -f1 /proc/loadavg)
  case "$what" in
    score)
      /usr/bin/time -v "$bin/ebbflow-score" --model "$work/model-small" --data "$data" \
        --out "$out" --top 0 --quiet > /dev/null 2> "$out.time" ;;
    train)
      /usr/bin/time -v "$bin/ebbflow-train" --data "$data" --out "$out" --quiet \
        > /dev/null 2> "$out.time" ;;
  esac
  python3 - "$label" "$i" "$load" "$out" "$what" >> "$tmp/rows.tsv" <<'EOF'
import json, re, sys
label, i, load, out, what = sys.argv[1:]
t = open(out + ".time").read()
def grab(pat):
    return re.search(pat, t).group(1)
wall = grab(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)")
parts = [float(p) for p in wall.split(":")]
wall_s = sum(p * 60 ** k for k, p in enumerate(reversed(parts)))
cpu = float(grab(r"User time \(seconds\): (\S+)")) + float(grab(r"System time \(seconds\): (\S+)"))
rss_gb = int(grab(r"Maximum resident set size \(kbytes\): (\d+)")) * 1024 / 1e9
split = ""
if what == "score":
    tm = json.load(open(out + "/manifest.json"))["timings"]
    split = " / ".join(f"{tm[k]:.2f}" for k in ("read_s", "features_s", "scoring_s", "write_s"))
print("\t".join([label, i, load, f"{wall_s:.2f}", f"{cpu:.2f}", f"{rss_gb:.2f}", split]))
EOF
}

for i in $(seq 1 "$runs"); do
  one before "$before" "$i"
  one after "$after" "$i"
done

if [ "$what" = score ]; then same=(queue.csv); else same=(bundle.json); fi
identical=yes
for i in $(seq 1 "$runs"); do
  # A bundle records when it was made (created_at); nothing else may differ.
  cmp -s <(grep -v '"created_at"' "$tmp/before-$i/${same[0]}") \
    <(grep -v '"created_at"' "$tmp/after-$i/${same[0]}") || identical=no
done

# Never over a record already there (two sessions on one date and host):
# the next free -2, -3, ... instead.
report="$run/compare-$what-$accounts.md"
n=2
while [ -e "$report" ]; do
  report="$run/compare-$what-$accounts-$n.md"
  n=$((n + 1))
done
python3 - "$tmp/rows.tsv" "$what" "$data" "$before" "$after" "$identical" "${same[0]}" > "$report" <<'EOF'
import statistics, subprocess, sys
rows_path, what, data, before, after, identical, same = sys.argv[1:]
rows = [l.rstrip("\n").split("\t") for l in open(rows_path)]
cores = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
mem = subprocess.run(["free", "-g"], capture_output=True, text=True).stdout.split("\n")[1].split()[1]
kernel = subprocess.run(["uname", "-sr"], capture_output=True, text=True).stdout.strip()
print(f"# {what} on {data}\n")
print(f"Machine: {cores} cores, {mem} GiB, {kernel}. before = {before}, after = {after}.")
print(f"Runs interleaved (before 1, after 1, before 2, ...). {same} identical across builds: {identical}.\n")
split_head = " read / features / scoring / write (s) |" if what == "score" else ""
print(f"| build | run | load | wall (s) | CPU (s) | peak RSS (GB) |{split_head}")
print("|---|---|---|---|---|---|" + ("---|" if what == "score" else ""))
for r in rows:
    tail = f" {r[6]} |" if what == "score" else ""
    print(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} | {r[4]} | {r[5]} |{tail}")
print()
for label in ("before", "after"):
    rs = [r for r in rows if r[0] == label]
    med = lambda k: statistics.median(float(r[k]) for r in rs)
    line = f"**{label}** medians of {len(rs)}: wall {med(3):.2f} s, CPU {med(4):.2f} s, peak RSS {med(5):.2f} GB"
    if what == "score":
        splits = [[float(x) for x in r[6].split(" / ")] for r in rs]
        cols = [statistics.median(s[k] for s in splits) for k in range(4)]
        line += ", read / features / scoring / write " + " / ".join(f"{c:.2f}" for c in cols) + " s"
    print(line + "\n")
EOF
cat "$report"
