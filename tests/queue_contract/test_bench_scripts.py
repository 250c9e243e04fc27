"""Every bench script, run as ``python bench/<name>.py``, imports the standard library's queue.

``bench/queue.py`` (the job queue benchmark) sits in the directory Python puts first on
``sys.path`` for a script run from ``bench/``; each script's preamble moves that directory
out of the way before anything imports ``queue`` (``bot.store`` does, and so does
``concurrent.futures`` once a thread pool starts).
"""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"
SCRIPTS = sorted(path for path in BENCH.glob("*.py") if "__main__" in path.read_text())

# What ``python bench/<name>.py --help`` does, then which ``queue`` that process has.
PROBE = """
import json, runpy, sys
script = sys.argv[1]
sys.path[0] = {bench!r}
sys.argv = [script, "--help"]
try:
    runpy.run_path(script, run_name="__main__")
    code = 0
except SystemExit as exc:
    code = exc.code
import queue
print(json.dumps({{"code": code, "queue": queue.__file__}}))
"""


def test_the_queue_benchmark_is_where_it_is_expected() -> None:
    assert BENCH / "queue.py" in SCRIPTS


@pytest.mark.parametrize("script", SCRIPTS, ids=[path.stem for path in SCRIPTS])
def test_a_bench_script_runs_with_the_standard_librarys_queue(script: Path) -> None:
    probe = PROBE.format(bench=str(BENCH))
    done = subprocess.run(
        [sys.executable, "-c", probe, str(script)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["code"] in (0, None), f"--help failed: {done.stderr[-2000:]}"
    stdlib = Path(sysconfig.get_paths()["stdlib"]).resolve()
    assert Path(result["queue"]).resolve().parent == stdlib, result["queue"]
