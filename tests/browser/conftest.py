"""Fixtures for the browser test of the HTML reports.

The reports are made here with the release binaries (build them first:
`cargo build --release`), opened from disk in Debian's chromium through
Playwright, and screenshots go to target/screenshots/. Outputs land in
target/browser/, rebuilt on every run so the pages match the code.
"""

import csv
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("EBBFLOW_BIN_DIR", ROOT / "target" / "release"))
WORK = ROOT / "target" / "browser"
SHOTS = ROOT / "target" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Accounts in the synthetic run for the large queue: about 80% are paying on
# the last day, so this gives a queue of about 50,000 rows.
BIG_ACCOUNTS = 63_000

# Without the background-networking flags chromium keeps trying to reach
# Google services, which on a closed network makes it hang.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

LAPTOP = {"width": 1366, "height": 900}


def run(*args):
    """Runs a release binary, failing the test session with its stderr."""
    exe = BIN / args[0]
    if not exe.exists():
        pytest.exit(f"{exe} is missing: run `cargo build --release` first", returncode=2)
    done = subprocess.run([str(exe), *args[1:]], cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} exited {done.returncode}:\n{done.stderr}")
    return done


def read_queue(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def fresh(path):
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


@pytest.fixture(scope="session")
def shots():
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS


@pytest.fixture(scope="session")
def score_out():
    """The README's main job on the demo data, queue and report."""
    out = fresh(WORK / "score")
    run("ebbflow-score", "--model", "models/demo", "--data", "datasets/demo", "--out", str(out),
        "--format", "csv", "--report", "--report-rows", "0", "--top", "0", "--quiet")
    return out


@pytest.fixture(scope="session")
def moved_out():
    """The demo queue as of 2025-12-31 compared with the one as of 2025-11-30
    (--previous): the page's "Moved since" section and movement filter."""
    before = fresh(WORK / "score-nov")
    run("ebbflow-score", "--model", "models/demo", "--data", "datasets/demo", "--out", str(before),
        "--as-of", "2025-11-30", "--format", "csv", "--no-report", "--top", "0", "--quiet")
    out = fresh(WORK / "score-moved")
    run("ebbflow-score", "--model", "models/demo", "--data", "datasets/demo", "--out", str(out),
        "--previous", str(before), "--format", "csv", "--report", "--report-rows", "0", "--top", "0", "--quiet")
    return before, out


@pytest.fixture(scope="session")
def train_out():
    """A bundle on 12 months of demo history, compared with models/demo."""
    out = fresh(WORK / "model")
    run("ebbflow-train", "--data", "datasets/demo", "--out", str(out), "--history-months", "12",
        "--compare", "models/demo", "--quiet")
    return out


@pytest.fixture(scope="session")
def no_churn_out():
    """A bundle without a churn model and its queue: the demo data with every
    subscription line left open (end_date emptied), so no account churns and
    training skips the churn target."""
    data = fresh(WORK / "no-churn-data")
    for name in ("accounts.csv", "events.parquet", "surveys.csv", "tickets.csv"):
        shutil.copy(ROOT / "datasets" / "demo" / name, data / name)
    with open(ROOT / "datasets" / "demo" / "subscriptions.csv", newline="", encoding="utf-8") as src, \
            open(data / "subscriptions.csv", "w", newline="", encoding="utf-8") as dst:
        reader = csv.DictReader(src)
        writer = csv.DictWriter(dst, fieldnames=reader.fieldnames)
        writer.writeheader()
        for row in reader:
            writer.writerow({**row, "end_date": ""})
    model = fresh(WORK / "no-churn-model")
    run("ebbflow-train", "--data", str(data), "--out", str(model), "--quiet")
    out = fresh(WORK / "no-churn-score")
    run("ebbflow-score", "--model", str(model), "--data", str(data), "--out", str(out),
        "--format", "csv", "--report", "--top", "0", "--quiet")
    return model, out


@pytest.fixture(scope="session")
def big_out():
    """About 50,000 scored accounts: synthetic data scored with the demo bundle,
    every one on the page (--report-rows 0), to time the page at that size."""
    data = fresh(WORK / "synth-big")
    run("ebbflow-synth", "--out", str(data), "--accounts", str(BIG_ACCOUNTS), "--months", "12", "--seed", "7")
    out = fresh(WORK / "big")
    run("ebbflow-score", "--model", "models/demo", "--data", str(data), "--out", str(out),
        "--format", "csv", "--report", "--report-rows", "0", "--top", "0", "--quiet")
    return out


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.exit(f"{CHROMIUM} is missing: apt-get install -y chromium", returncode=2)
    profile = tempfile.mkdtemp(prefix="ebbflow-chromium-")
    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, viewport=LAPTOP,
        )
        yield ctx
        ctx.close()
    shutil.rmtree(profile, ignore_errors=True)


class Page:
    """A page opened from disk that records what a test must not see:
    script errors and any request that is not the file itself."""

    def __init__(self, ctx, path):
        self.page = ctx.new_page()
        self.errors = []
        self.requests = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.url = Path(path).resolve().as_uri()
        self.page.goto(self.url, wait_until="load")

    def check_clean(self):
        assert self.errors == [], self.errors
        foreign = [u for u in self.requests if u != self.url and not u.startswith("data:")]
        assert foreign == [], f"the page requested {foreign}"


@pytest.fixture
def open_page(browser):
    pages = []

    def opener(path):
        p = Page(browser, path)
        pages.append(p)
        return p

    yield opener
    for p in pages:
        p.page.close()
