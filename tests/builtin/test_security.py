"""The security fixer: libcst codemods for bandit findings, checked with bandit."""

from __future__ import annotations

import pytest

from agents.builtin import codemods
from agents.builtin.security import SecurityFixer, wanted_fixes
from agents.executors.base import Outcome
from tests.builtin.conftest import BUDGET, ENV, MakeRepo, order, read

CASES = [
    (
        "import yaml\ncfg = yaml.load(open('c.yml'))\n",
        "import yaml\ncfg = yaml.safe_load(open('c.yml'))\n",
        {codemods.YAML_LOAD: 1},
    ),
    (
        "import yaml\nyaml.load(s, Loader=yaml.FullLoader)\nyaml.load_all(s, yaml.Loader)\n",
        "import yaml\nyaml.safe_load(s)\nyaml.safe_load_all(s)\n",
        {codemods.YAML_LOAD: 2},
    ),
    (
        "import yaml\nyaml.load(s, Loader=yaml.SafeLoader)\nyaml.load(s, Loader=MyLoader)\n",
        "import yaml\nyaml.load(s, Loader=yaml.SafeLoader)\nyaml.load(s, Loader=MyLoader)\n",
        {},
    ),
    (
        "from yaml import load, UnsafeLoader\n\nx = load(s, Loader=UnsafeLoader)\n",
        "from yaml import safe_load\n\nx = safe_load(s)\n",
        {codemods.YAML_LOAD: 1},
    ),
    (
        "import requests as r\nr.get(url, verify=False, timeout=5)\n",
        "import requests as r\nr.get(url, timeout=5)\n",
        {codemods.VERIFY_FALSE: 1},
    ),
    (
        "import httpx\nclient = httpx.Client(base_url=u, verify=False)\n",
        "import httpx\nclient = httpx.Client(base_url=u)\n",
        {codemods.VERIFY_FALSE: 1},
    ),
    (
        "import requests\nrequests.post(url, json=body)\nrequests.get(url, timeout=None)\n",
        "import requests\nrequests.post(url, json=body, timeout=30)\n"
        "requests.get(url, timeout=30)\n",
        {codemods.REQUEST_TIMEOUT: 2},
    ),
    (
        "import requests\nrequests.put(\n    url,\n    data=payload,\n)\n",
        "import requests\nrequests.put(\n    url,\n    data=payload,\n    timeout=30,\n)\n",
        {codemods.REQUEST_TIMEOUT: 1},
    ),
    (
        "import requests\nrequests.get(url, **options)\nsession.get(url)\n",
        "import requests\nrequests.get(url, **options)\nsession.get(url)\n",
        {},
    ),
    (
        "import subprocess\nsubprocess.run(\"git log -n 1 'a b'\", shell=True, check=True)\n",
        'import subprocess\nsubprocess.run(["git", "log", "-n", "1", "a b"], check=True)\n',
        {codemods.SHELL_TRUE: 1},
    ),
    (
        "import subprocess\n"
        "subprocess.run('ls | wc -l', shell=True)\n"
        "subprocess.call('cd /tmp', shell=True)\n"
        "subprocess.call('rm $TARGET', shell=True)\n"
        "subprocess.call(f'ls {d}', shell=True)\n"
        "subprocess.call('FOO=1 make', shell=True)\n",
        None,
        {},
    ),
    (
        "import requests  # the API client\n\n\n"
        "def fetch(url):\n    # no proxy here\n    return requests.get(url, verify=False)\n",
        "import requests  # the API client\n\n\n"
        "def fetch(url):\n    # no proxy here\n    return requests.get(url, timeout=30)\n",
        {codemods.VERIFY_FALSE: 1, codemods.REQUEST_TIMEOUT: 1},
    ),
]


@pytest.mark.parametrize(
    ("source", "expected", "applied"),
    CASES,
    ids=[
        "yaml-load-without-loader",
        "yaml-unsafe-loaders",
        "yaml-safe-or-custom-loader-kept",
        "from-yaml-import-load",
        "verify-false-aliased-requests",
        "verify-false-httpx-client",
        "timeout-added-and-none-replaced",
        "timeout-on-its-own-line",
        "kwargs-and-sessions-left",
        "shell-literal-to-argv",
        "shell-needed-left",
        "comments-kept",
    ],
)
def test_codemods(source: str, expected: str | None, applied: dict[str, int]) -> None:
    fixed, kinds = codemods.fix_source(source.encode())

    assert fixed.decode() == (source if expected is None else expected)
    assert dict(kinds) == applied


@pytest.mark.parametrize(
    ("title", "body", "fixes"),
    [
        ("Add timeouts to HTTP calls", "", (codemods.REQUEST_TIMEOUT,)),
        ("Fix bandit B506", "Use safe_load for config files", (codemods.YAML_LOAD,)),
        (
            "Stop disabling TLS verification",
            "and avoid shell=True",
            (codemods.VERIFY_FALSE, codemods.SHELL_TRUE),
        ),
        ("Fix the security findings", "", codemods.FIXES),
    ],
    ids=["timeouts-only", "yaml-only", "tls-and-shell", "unspecific-gets-all"],
)
def test_the_task_text_picks_the_fixes(title: str, body: str, fixes: tuple[str, ...]) -> None:
    assert wanted_fixes(order(title=title, body=body)) == fixes


INSECURE = (
    "import requests\nimport yaml\n\n\n"
    "def load(url):\n"
    "    text = requests.get(url, verify=False).text\n"
    "    return yaml.load(text)\n"
)


def test_fixes_files_and_reports_bandit_before_and_after(make_repo: MakeRepo) -> None:
    root = make_repo({"app/client.py": INSECURE, "app/other.py": INSECURE})

    result = SecurityFixer().run(order(files=("app/client.py",)), root, BUDGET, ENV)

    assert result.outcome is Outcome.CHANGED, result.summary
    assert read(root, "app/client.py") == (
        "import requests\nimport yaml\n\n\n"
        "def load(url):\n"
        "    text = requests.get(url, timeout=30).text\n"
        "    return yaml.safe_load(text)\n"
    )
    assert read(root, "app/other.py") == INSECURE
    assert result.handoff is not None
    assert result.handoff.changed_files == ("app/client.py",)
    notes = " ".join(result.handoff.notes)
    assert "3 before, 0 after" in notes
    assert "`yaml.load` → `yaml.safe_load`" in result.summary


def test_a_task_asking_for_one_fix_gets_only_that_one(make_repo: MakeRepo) -> None:
    root = make_repo({"app/client.py": INSECURE})
    task = order(title="Add a timeout to requests calls", files=("app/client.py",))

    result = SecurityFixer().run(task, root, BUDGET, ENV)

    assert result.outcome is Outcome.CHANGED
    assert "requests.get(url, verify=False, timeout=30)" in read(root, "app/client.py")
    assert "yaml.load(text)" in read(root, "app/client.py")
    assert result.handoff is not None
    assert "B501" in " ".join(result.handoff.notes)


@pytest.mark.parametrize(
    ("files", "summary"),
    [
        ({"app/ok.py": "import yaml\nyaml.safe_load('a: 1')\n"}, "No fixable bandit findings"),
        ({"app/bad.py": "import yaml\nyaml.load(text\n"}, "No fixable bandit findings"),
        ({"README.md": "# App\n"}, "No Python files"),
    ],
    ids=["already-safe", "unparsable", "no-python"],
)
def test_nothing_to_fix(make_repo: MakeRepo, files: dict[str, str], summary: str) -> None:
    root = make_repo(files)

    result = SecurityFixer().run(order(files=tuple(files)), root, BUDGET, ENV)

    assert result.outcome is Outcome.NO_CHANGE
    assert summary in result.summary
    assert {path: read(root, path) for path in files} == files
    assert result.handoff is not None
    unparsable = [note for note in result.handoff.notes if "not valid Python" in note]
    assert len(unparsable) == ("app/bad.py" in files)
