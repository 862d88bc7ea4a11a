#!/usr/bin/env python3
"""Run the notebooks headless and check they are committed clean.

    python notebooks/run.py                 check clean, then execute every notebook
    python notebooks/run.py --save          ... and keep executed copies (and their figures)
                                            in target/notebooks/
    python notebooks/run.py --check         only check the committed notebooks are clean
    python notebooks/run.py --strip         remove outputs and execution counts in place
    python notebooks/run.py 02_risk_queue.ipynb   only the notebooks named

Execution works on an in-memory copy: the committed .ipynb files are never written, except
by --strip. A committed notebook with outputs or execution counts fails the check (stale
figures in review diffs are worse than none). Exit codes: 0 all good, 1 a notebook failed
or is not clean, 2 usage error.
"""
from __future__ import annotations

import argparse
import base64
import copy
import os
import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

NOTEBOOKS = Path(__file__).resolve().parent
ROOT = NOTEBOOKS.parent
DEFAULT_SAVE_DIR = ROOT / "target" / "notebooks"
# Cell metadata that execution adds and that must not be committed.
VOLATILE_CELL_METADATA = ("execution", "collapsed", "scrolled")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def find_notebooks(names: list[str]) -> list[Path]:
    if not names:
        return sorted(NOTEBOOKS.glob("*.ipynb"))
    found = []
    for name in names:
        path = Path(name)
        if not path.is_file():
            path = NOTEBOOKS / name
        if not path.is_file():
            raise SystemExit(f"run.py: no notebook {name!r} (looked in the working directory and {NOTEBOOKS})")
        found.append(path.resolve())
    return found


def display_name(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def cell_label(index: int, cell) -> str:
    first = next((line for line in cell.source.splitlines() if line.strip()), "").strip()
    if len(first) > 60:
        first = first[:57] + "..."
    return f"cell {index + 1} ({cell.cell_type}, id {cell.get('id', '?')}: {first!r})"


def dirt(nb) -> list[str]:
    """Every reason the notebook is not clean, one line each."""
    problems = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            if cell.get("outputs"):
                problems.append(f"{cell_label(i, cell)} has {len(cell.outputs)} output(s)")
            if cell.get("execution_count") is not None:
                problems.append(f"{cell_label(i, cell)} has execution count {cell.execution_count}")
        if cell.cell_type == "markdown" and cell.get("attachments"):
            problems.append(f"{cell_label(i, cell)} has attachments")
        volatile = [k for k in VOLATILE_CELL_METADATA if k in cell.get("metadata", {})]
        if volatile:
            problems.append(f"{cell_label(i, cell)} has metadata {', '.join(volatile)}")
    if "widgets" in nb.metadata:
        problems.append("notebook metadata has widget state")
    return problems


def strip(nb) -> None:
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        for key in VOLATILE_CELL_METADATA:
            cell.get("metadata", {}).pop(key, None)
    nb.metadata.pop("widgets", None)
    # The kernel's Python version and editor hints: churn in diffs, nothing a reader needs.
    if "language_info" in nb.metadata:
        nb.metadata["language_info"] = {"name": nb.metadata["language_info"].get("name", "python")}


def check_kernel(name: str) -> None:
    """Refuse to run on a kernel that is missing or is another Python than this one."""
    try:
        spec = KernelSpecManager().get_kernel_spec(name)
    except NoSuchKernel:
        raise SystemExit(f"run.py: no Jupyter kernel named {name!r}; .ci/notebooks.sh registers one in .venv")
    exe = spec.argv[0] if spec.argv else ""
    if exe not in ("python", "python3", "{python}") and Path(exe).resolve() != Path(sys.executable).resolve():
        print(f"run.py: warning: kernel {name!r} runs {exe}, not this interpreter ({sys.executable})", file=sys.stderr)


def execute(path: Path, kernel: str, timeout: int, cwd: Path) -> tuple[object, str | None]:
    """Run a copy of the notebook; return it and an error message naming the failing cell."""
    nb = nbformat.read(path, as_version=4)
    work = copy.deepcopy(nb)
    # The kernel's own log says only that it talks TCP on localhost; errors still show.
    client = NotebookClient(work, kernel_name=kernel, timeout=timeout, allow_errors=False,
                            extra_arguments=["--IPKernelApp.log_level=ERROR"],
                            resources={"metadata": {"path": str(cwd)}})
    try:
        client.execute()
    except CellTimeoutError:
        running = next((i for i, c in reversed(list(enumerate(work.cells)))
                        if c.cell_type == "code" and c.get("execution_count") is not None), None)
        where = cell_label(running, work.cells[running]) if running is not None else "a cell"
        return work, f"{display_name(path)}: {where} timed out after {timeout} s"
    except DeadKernelError as err:
        return work, f"{display_name(path)}: the kernel died ({err})"
    except CellExecutionError as err:
        for i, cell in enumerate(work.cells):
            errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
            if cell.cell_type == "code" and errors:
                e = errors[0]
                trace = ANSI.sub("", "\n".join(e.get("traceback", [])))
                return work, (f"{display_name(path)}: {cell_label(i, cell)} failed: {e['ename']}: {e['evalue']}\n"
                              + "\n".join("    " + line for line in trace.splitlines()))
        return work, f"{display_name(path)}: a cell failed:\n{ANSI.sub('', str(err))}"
    return work, None


def save(nb, path: Path, save_dir: Path) -> int:
    """Write the executed copy and its PNG figures; return the figure count."""
    save_dir.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, save_dir / path.name)
    figures = save_dir / path.stem
    figures.mkdir(exist_ok=True)
    for old in figures.glob("*.png"):
        old.unlink()
    count = 0
    for i, cell in enumerate(nb.cells):
        pngs = [o["data"]["image/png"] for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
        for j, data in enumerate(pngs, start=1):
            (figures / f"cell{i + 1:02d}-{j}.png").write_bytes(base64.b64decode(data))
            count += 1
    return count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help="notebooks to run (default: every notebooks/*.ipynb)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--strip", action="store_true", help="remove outputs and execution counts in place, then exit")
    mode.add_argument("--check", action="store_true", help="only check the committed notebooks are clean")
    parser.add_argument("--save", nargs="?", const=DEFAULT_SAVE_DIR, type=Path, metavar="DIR",
                        help=f"keep executed copies and their PNG figures (default DIR: {display_name(DEFAULT_SAVE_DIR)})")
    parser.add_argument("--kernel", default=os.environ.get("EBBFLOW_NOTEBOOK_KERNEL", "python3"),
                        help="Jupyter kernel name (default: $EBBFLOW_NOTEBOOK_KERNEL, else python3)")
    parser.add_argument("--timeout", type=int, default=600, help="seconds one cell may run (default 600)")
    parser.add_argument("--cwd", type=Path, default=NOTEBOOKS,
                        help="working directory of the kernel (default notebooks/; the notebooks find the repo root from either)")
    args = parser.parse_args()

    paths = find_notebooks(args.notebooks)
    if not paths:
        print(f"run.py: no notebooks in {NOTEBOOKS}", file=sys.stderr)
        return 1

    if args.strip:
        for path in paths:
            before = path.read_text()
            nb = nbformat.read(path, as_version=4)
            strip(nb)
            after = nbformat.writes(nb) + "\n"
            if after != before:
                path.write_text(after)
                print(f"stripped {display_name(path)}")
        return 0

    failures: list[str] = []
    bad: set[Path] = set()
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        try:
            nbformat.validate(nb)
        except nbformat.ValidationError as err:
            failures.append(f"{display_name(path)}: not a valid notebook: {err.message}")
            bad.add(path)
        problems = dirt(nb)
        if problems:
            shown = problems[:20] + ([f"... and {len(problems) - 20} more like this"] if len(problems) > 20 else [])
            failures.append(f"{display_name(path)}: committed with outputs (run `python notebooks/run.py --strip`):\n  "
                            + "\n  ".join(shown))
            bad.add(path)
    if args.check:
        for failure in failures:
            print(f"\n{failure}", file=sys.stderr)
        print(f"notebooks clean: {len(paths) - len(bad)} passed, {len(bad)} failed")
        return 1 if bad else 0

    check_kernel(args.kernel)
    for path in paths:
        started = time.monotonic()
        executed, error = execute(path, args.kernel, args.timeout, args.cwd.resolve())
        took = time.monotonic() - started
        saved = ""
        if args.save:
            saved = f", {save(executed, path, args.save)} figures saved to {display_name(args.save.resolve() / path.stem)}"
        if error:
            failures.append(error)
            bad.add(path)
        status = "FAIL" if path in bad else "ok  "
        print(f"{status} {display_name(path)} ({took:.1f} s{saved})", file=sys.stderr)

    for failure in failures:
        print(f"\n{failure}", file=sys.stderr)
    print(f"notebooks: {len(paths) - len(bad)} passed, {len(bad)} failed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
