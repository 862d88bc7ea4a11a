#!/usr/bin/env bash
# Notebooks in CI: execute every notebooks/*.ipynb headless against the demo
# bundle and the queue the main job wrote to out/, and fail if a committed
# notebook carries outputs. Arguments go to notebooks/run.py (e.g. --check).
#
# Python packages live in .venv (git-ignored), created on first use and
# reinstalled only when notebooks/requirements.txt or constraints.txt change.
# Executed copies and their figures land in target/notebooks/.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
PYTHON=${PYTHON:-python3}
KERNEL=ebbflow-venv
stamp="$VENV/.notebook-requirements.sha256"
want=$(cat notebooks/requirements.txt notebooks/constraints.txt | sha256sum | cut -d' ' -f1)

if ! "$VENV/bin/python" -c '' 2>/dev/null; then
    echo "notebooks: creating $VENV with $("$PYTHON" --version 2>&1)" >&2
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "notebooks: installing notebooks/requirements.txt into $VENV" >&2
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        -r notebooks/requirements.txt -c notebooks/constraints.txt
    # A kernel that runs this venv's Python, registered inside the venv only.
    "$VENV/bin/python" -m ipykernel install --sys-prefix --name "$KERNEL" \
        --display-name "Python (ebbflow .venv)" >/dev/null
    echo "$want" >"$stamp"
fi

if [ ! -f out/queue.parquet ] || [ ! -f out/manifest.json ]; then
    echo "notebooks: out/queue.parquet or out/manifest.json missing; run \`cargo run --release --bin ebbflow-score\` first" >&2
    exit 1
fi

# The comparison cells of 01_model_review run too: by default the demo bundle
# is compared with itself, so that code cannot rot unnoticed.
export EBBFLOW_COMPARE_BUNDLE="${EBBFLOW_COMPARE_BUNDLE:-models/demo}"
export MPLBACKEND=module://matplotlib_inline.backend_inline
exec "$VENV/bin/python" notebooks/run.py --kernel "$KERNEL" --save "$@"
