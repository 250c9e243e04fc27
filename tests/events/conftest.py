"""Deliveries as TechLead receives them: real payloads, signed posts, the worker job by job.

- ``payload(name, {path: value})``: a copy of ``tests/fixtures/webhooks/<name>.json``
  with the values at ``path`` (a tuple of keys and indices) replaced, or deleted
  (:data:`DELETE`).
- ``techlead``: TechLead with every feature (intake, queue, router, worker) in this
  process, its GitHub port on the sandbox as the world's App. Posts go through the
  real intake (signature, storage); :meth:`TechLead.drain` runs the due jobs one by one
  on a clock that only tests move, so a retry stays pending instead of running at once.
  :meth:`TechLead.writes` lists what changed on the world's repository since the
  fixture was set up: any comment, label or check run TechLead wrote shows there.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import httpx
import pytest

from bot.app import Services, build_services, create_app
from bot.github import GitHubClient
from bot.jobs import Job
from bot.sandbox.state import Event as SandboxEvent
from bot.settings import Settings
from tests.conftest import World
from tests.intake.conftest import FakeClock, TestClient, payload_bytes, signed_headers

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "webhooks"
SECRET = "events-webhook-secret"
DRAIN_LIMIT = 50
DELETE: Final = object()  # as a value in ``payload``'s changes: remove the key
_deliveries = itertools.count(1)

FieldPath = tuple[str | int, ...]  # keys and indices from the payload's root


def fixture_names() -> list[str]:
    return sorted(path.stem for path in FIXTURES.glob("*.json"))


def payload(name: str, changes: Mapping[FieldPath, object] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return changed(data, changes or {})


def changed(data: dict[str, Any], changes: Mapping[FieldPath, object]) -> dict[str, Any]:
    """``data`` with each path set to its value (or deleted), in place."""
    for path, value in changes.items():
        *parents, last = path
        target: Any = data
        for key in parents:
            target = target[key]
        if value is DELETE:
            del target[last]
        else:
            target[last] = value
    return data


@dataclass
class TechLead:
    """TechLead answering the world's deliveries; see the module docstring."""

    world: World
    services: Services
    http: TestClient
    issue: int
    events_before: int

    @property
    def repo(self) -> str:
        return self.world.repo.full_name

    def delivery(
        self, name: str, changes: Mapping[FieldPath, object] | None = None
    ) -> dict[str, Any]:
        """A real payload made about the world: its repository, installation, owner, issue."""
        addressed: dict[FieldPath, object] = {
            ("repository", "full_name"): self.repo,
            ("installation",): {"id": self.world.installation.id},
            ("sender",): {"login": self.world.user.login, "type": "User"},
        }
        data = payload(name, addressed)
        if "issue" in data:
            data["issue"]["number"] = self.issue
        return changed(data, changes or {})

    def post(self, event: str, data: dict[str, Any]) -> str:
        """Sign and post ``data``; returns the delivery id once TechLead accepted it."""
        delivery_id = f"events-{next(_deliveries)}"
        body = payload_bytes(data)
        answer = self.http.post(
            "/webhook", content=body, headers=signed_headers(body, event, delivery_id, SECRET)
        )
        assert answer.status_code == httpx.codes.ACCEPTED, answer.text
        return delivery_id

    def drain(self) -> list[Job]:
        """Run every due job, in order; returns each as stored after its run."""
        ran: list[Job] = []
        while (job := self.services.worker.run_once()) is not None:
            ran.append(job)
            assert len(ran) < DRAIN_LIMIT, "jobs keep coming"
        return ran

    def outcome(self, delivery_id: str) -> str | None:
        stored = self.services.store.get_delivery(delivery_id)
        assert stored is not None
        return stored.outcome

    def writes(self) -> list[SandboxEvent]:
        """Changes to the world's repository since set-up (comments, labels, check runs)."""
        changed = self.world.sandbox.events[self.events_before :]
        return [event for event in changed if event.repo_id == self.world.repo.id]


@pytest.fixture
def techlead(world: World, tmp_path: Path) -> Iterator[TechLead]:
    settings = Settings(
        webhook_secrets=(SECRET,),
        api_url=world.api_url,
        data_dir=tmp_path / "techlead",
        app_id=world.app.id,
        private_key=world.private_key,
        bot_login=world.app.bot_login,
        write_interval=0.0,
    )
    client = GitHubClient(settings, clock=world.sandbox.clock)
    services = build_services(settings, clock=FakeClock(), github_factory=client.port)
    issue = world.user_gh.get_repo(world.repo.full_name).create_issue("Coupons at checkout")
    http = TestClient(create_app(settings, services, start_worker=False))
    yield TechLead(world, services, http, issue.number, len(world.sandbox.events))
    http.close()
    services.close()
