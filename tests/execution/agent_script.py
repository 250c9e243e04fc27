"""A command executor for the tests: what it does depends on words in the task's title.

- every task writes ``work/<task id>.txt`` (so tasks never touch each other's files)
  after sleeping 0.3 s;
- ``slow`` sleeps 4 s and ``stuck`` 30 s, leaving a grandchild process behind;
- ``workflow`` also writes ``.github/workflows/release.yml`` (a protected path);
- ``lint`` writes Python that the lint gate refuses, unless the work order carries
  findings of a previous attempt;
- ``secret`` prints the environment's TECHLEAD_GITHUB_TOKEN and GITHUB_TOKEN;
- ``follow-up`` reports a new task for the plan; ``commits itself`` commits with git;
- it sends a message to ``*`` and reports an interface in ``.techlead/``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

task = os.environ["TECHLEAD_TASK_ID"]
title = os.environ["TECHLEAD_TASK_TITLE"].lower()
order = Path(os.environ["TECHLEAD_WORK_ORDER"]).read_text(encoding="utf-8")
stdin_order = sys.stdin.read()
assert stdin_order == order, "the work order arrives on stdin too"
print(f"agent for {task}: {title}")
if "secret" in title:
    print("token:", os.environ.get("TECHLEAD_GITHUB_TOKEN"), os.environ.get("GITHUB_TOKEN"))
if "slow" in title or "stuck" in title:
    marker = f"grandchild-{os.environ['TECHLEAD_REPO']}-{task}"
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", marker])
time.sleep(30 if "stuck" in title else 4 if "slow" in title else 0.3)
work = Path("work")
work.mkdir(exist_ok=True)
(work / f"{task}.txt").write_text(f"{task} done\n{len(order)} characters of work order\n")
if "workflow" in title:
    Path(".github/workflows").mkdir(parents=True, exist_ok=True)
    Path(".github/workflows/release.yml").write_text("on: push\njobs: {}\n")
if "lint" in title:
    retried = "Fix these from the previous attempt" in order
    code = (
        "import os\n\n\ndef ok():\n    return 1\n" if not retried else "def ok():\n    return 1\n"
    )
    Path("src/shop/extra.py").write_text(code)
if "commits itself" in title:
    subprocess.run(["git", "add", "--all"], check=True)
    who = ["-c", "user.name=agent", "-c", "user.email=agent@example.invalid"]
    subprocess.run(["git", *who, "commit", "--quiet", "-m", "agent's own commit"], check=True)
outbox = Path(".techlead")
outbox.mkdir(exist_ok=True)
(outbox / "messages.json").write_text(
    json.dumps([{"to": "*", "kind": "information", "text": f"{task} wrote work/{task}.txt"}])
)
report = {"summary": f"{task} wrote its file", "interfaces": [f"work/{task}.txt"]}
if "follow-up" in title:
    report["new_tasks"] = ["Write the coupon guide"]
(outbox / "report.json").write_text(json.dumps(report))
