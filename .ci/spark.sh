#!/usr/bin/env bash
# The Spark driver (contrib/spark) in CI: pyspark from PyPI into .venv-spark,
# Java 17 from Debian when `java` is missing, then the driver in local mode
# on the demo data with N = 3 shards, and a check that the merged outputs
# are the single run's (queue files byte for byte; page and manifest apart
# from generated_at, timings and the input files each shard read).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv-spark
PYTHON=${PYTHON:-python3}
stamp="$VENV/.requirements.sha256"
want=$(sha256sum contrib/spark/requirements.txt | cut -d' ' -f1)

if ! command -v java >/dev/null 2>&1; then
    echo "spark: installing Java 17 (openjdk-17-jre-headless)" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null
fi
java -version 2>&1 | head -1 >&2

if ! "$VENV/bin/python" -c '' 2>/dev/null; then
    echo "spark: creating $VENV with $("$PYTHON" --version 2>&1)" >&2
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "spark: installing contrib/spark/requirements.txt into $VENV" >&2
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r contrib/spark/requirements.txt
    echo "$want" >"$stamp"
fi

cargo build --release --bin ebbflow-score
BIN=target/release/ebbflow-score
WORK=target/spark-ci
rm -rf "$WORK"
mkdir -p "$WORK"
AS_OF=2025-12-31

"$BIN" --model models/demo --data datasets/demo --as-of "$AS_OF" \
    --out "$WORK/single" --format parquet,csv,json --top 0 --quiet

start=$(date +%s)
PYSPARK_PYTHON="$VENV/bin/python" "$VENV/bin/spark-submit" --master 'local[2]' \
    contrib/spark/ebbflow_spark.py \
    --binary "$BIN" --model models/demo --input datasets/demo \
    --as-of "$AS_OF" --shards 3 --out "$WORK/merged" --parts "$WORK/parts" \
    -- --format parquet,csv,json --top 0 --quiet
echo "spark: driver took $(( $(date +%s) - start )) s" >&2

"$VENV/bin/python" - "$WORK/single" "$WORK/merged" <<'PY'
import json, re, sys
from pathlib import Path

single, merged = Path(sys.argv[1]), Path(sys.argv[2])
failed, checked = [], []
def check(name, ok):
    checked.append(name)
    print(f"spark: {'ok  ' if ok else 'FAIL'} {name}", file=sys.stderr)
    if not ok:
        failed.append(name)

names = sorted(p.name for p in single.iterdir())
check("same files", names == sorted(p.name for p in merged.iterdir()))
for name in ("queue.parquet", "queue.csv", "queue.json"):
    check(name, (single / name).read_bytes() == (merged / name).read_bytes())
page = lambda d: re.sub(r'"generated_at":"[^"]*"', "", (d / "report.html").read_text())
check("report.html apart from generated_at", page(single) == page(merged))
def manifest(d):
    m = json.loads((d / "manifest.json").read_text())
    for key in ("generated_at", "timings", "data"):
        m.pop(key)
    for o in m["outputs"]:
        if o["file"] == "report.html":
            o.pop("sha256")
    return m
check("manifest.json apart from generated_at, timings, data", manifest(single) == manifest(merged))
rows = sum(1 for _ in open(merged / "queue.csv")) - 1
print(f"spark: merged queue of {rows} accounts from 3 Spark tasks", file=sys.stderr)
print(f"{len(checked) - len(failed)} passed, {len(failed)} failed")
sys.exit(1 if failed else 0)
PY
