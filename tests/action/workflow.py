"""A workflow step in a test: the repository, the event payload, ``techlead action`` run as a
subprocess with the variables GitHub Actions sets, and what it wrote.

The workflow's ``GITHUB_TOKEN`` is an installation token of the ``github-actions`` App
holding only the permissions the documented workflow grants (docs/action.md), so a
missing permission fails here as it would on GitHub. Payloads are the real examples in
tests/fixtures/webhooks with their objects replaced by the sandbox's own.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.demo import Person
from bot.sandbox import Sandbox
from tests.conftest import unique

FIXTURES = Path(__file__).parents[1] / "fixtures" / "webhooks"
AGENT = Path(__file__).parents[1] / "execution" / "agent_script.py"
ACTIONS_BOT = "github-actions[bot]"
TIMEOUT = 120  # a run gates two pull requests; CI's two test processes share 2 cores
PYPROJECT = '[tool.ruff]\nline-length = 100\n\n[tool.ruff.lint]\nselect = ["E", "F"]\n'
FILES = {
    "README.md": "# Shop\n",
    "pyproject.toml": PYPROJECT,
    "src/shop/cart.py": "def total(items):\n    return sum(item.price for item in items)\n",
}
# The `permissions:` blocks of the example workflows in docs/action.md.
ISSUE_PERMISSIONS = {"contents": "read", "issues": "write"}
PULL_PERMISSIONS = {
    "contents": "read",
    "pull-requests": "write",
    "statuses": "write",
    "checks": "read",
}
EXECUTE_PERMISSIONS = {
    "contents": "write",
    "issues": "write",
    "pull-requests": "write",
    "statuses": "write",
    "checks": "read",
}
# Every task goes to a command agent that writes one file; only the lint gate runs.
AGENT_CONFIG = f"""\
agents_replace: true
agents:
  - name: coder
    description: Does every task.
    keywords: [coupon, cart, tests]
    executor: "command:{sys.executable} {AGENT}"
gates:
  contracts: {{enabled: false}}
  integration: {{enabled: false}}
  performance: {{enabled: false}}
  security: {{enabled: false}}
"""


@dataclass
class Repo:
    """A repository, its owner acting through the API, and the workflow's token."""

    sandbox: Sandbox
    full_name: str
    owner: Person
    app_id: int

    def token(self, permissions: dict[str, str]) -> str:
        granted = {name.replace("-", "_"): level for name, level in permissions.items()}
        granted["metadata"] = "read"
        installation = self.sandbox.install_app(
            self.app_id,
            self.full_name.split("/")[0],
            permissions=granted,
            repositories=[self.full_name.split("/")[1]],
        )
        return self.sandbox.installation_token(installation.id)

    def get(self, path: str) -> Any:
        return self.owner.call("GET", f"/repos/{self.full_name}{path}")

    def sender(self) -> Any:
        return self.owner.call("GET", f"/users/{self.owner.login}")


def configure(repo: Repo, text: str = AGENT_CONFIG) -> None:
    """Commit ``.github/techlead.yml`` to the default branch."""
    change = {"message": "Configure TechLead", "content": base64.b64encode(text.encode()).decode()}
    repo.owner.call("PUT", f"/repos/{repo.full_name}/contents/.github/techlead.yml", change)


def payload(fixture: str, **objects: Any) -> dict[str, Any]:
    """A real example payload with its objects replaced by the sandbox's."""
    data: dict[str, Any] = json.loads((FIXTURES / f"{fixture}.json").read_text())
    data.pop("installation", None)  # Actions payloads carry none
    data.update(objects)
    return data


def run_action(
    tmp_path: Path,
    repo: Repo,
    event: str,
    body: Mapping[str, Any],
    token: str,
    extra: Mapping[str, str] | None = None,
) -> str:
    """One workflow step on a fresh runner (``tmp_path``): its stdout and stderr."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    event_path = tmp_path / "event.json"
    event_path.write_text(json.dumps(body))
    summary = tmp_path / "summary.md"
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "GITHUB_EVENT_NAME": event,
        "GITHUB_EVENT_PATH": str(event_path),
        "GITHUB_TOKEN": token,
        "GITHUB_API_URL": repo.sandbox.api_url,
        "GITHUB_REPOSITORY": repo.full_name,
        "GITHUB_RUN_ID": unique("run").split("-")[-1],
        "GITHUB_RUN_ATTEMPT": "1",
        "GITHUB_STEP_SUMMARY": str(summary),
        "RUNNER_TEMP": str(tmp_path),
        "TECHLEAD_WRITE_INTERVAL": "0",
        **(extra or {}),
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot", "action", "--timeout", str(TIMEOUT)],
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT + 30,
        check=False,
    )
    output = done.stdout + done.stderr
    (tmp_path / "output.log").write_text(output)  # kept with the test's files for a look
    assert done.returncode == 0, output[-4000:]
    for secret in {token, env.get("TECHLEAD_GITHUB_TOKEN", token)}:
        assert secret not in output, "the token never appears in the output or the log"
    assert "jobs done, 0 failed" in summary.read_text()
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    assert lines and all("delivery_id" in line for line in lines), "every log line names it"
    delivery = env["GITHUB_RUN_ID"]
    job_lines = [line for line in lines if "job_id" in line]
    # The run's own delivery, or one it fed itself for its pull requests (named after it).
    assert job_lines and all(
        line["delivery_id"].startswith(f"actions-{delivery}-1") for line in job_lines
    )
    return output


def bot_comments(repo: Repo, issue: int, login: str = ACTIONS_BOT) -> list[str]:
    found = repo.get(f"/issues/{issue}/comments?per_page=100")
    return [comment["body"] for comment in found if comment["user"]["login"] == login]
