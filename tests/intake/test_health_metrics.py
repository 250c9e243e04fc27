"""GET /healthz and GET /metrics: what an operator and Prometheus see."""

from __future__ import annotations

import json
from pathlib import Path

from bot.app import build_services, create_app
from bot.jobs import JobSpec
from bot.settings import Settings
from tests.intake.conftest import (
    SECRET,
    FakeClock,
    Services,
    ServicesFactory,
    TestClient,
    signed_headers,
)


def test_healthz_is_ok_while_store_and_worker_run(services: Services) -> None:
    with TestClient(create_app(services.settings, services)) as client:
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"store": "ok", "intake_writer": "ok", "worker": "ok"},
    }
    assert not services.worker.alive(), "the lifespan stops the worker"


def test_healthz_names_the_failing_part(client: TestClient, services: Services) -> None:
    response = client.get("/healthz")  # no lifespan: the worker never started
    assert response.status_code == 503
    assert response.json()["checks"] == {
        "store": "ok",
        "intake_writer": "ok",
        "worker": "not running",
    }
    services.store.close()
    checks = client.get("/healthz").json()["checks"]
    assert checks["store"].startswith("failing")


def test_metrics_report_deliveries_queue_jobs_and_github(
    client: TestClient, services: Services, clock: FakeClock
) -> None:
    body = json.dumps({"action": "opened"}).encode()
    client.post("/webhook", content=body, headers=signed_headers(body, "issues", "d-1"))
    client.post("/webhook", content=body, headers=signed_headers(body, "issues", "d-1"))
    client.post("/webhook", content=body, headers=signed_headers(body, "issues", "d-2", "bad"))
    services.queue.enqueue(JobSpec("later", delay=100))
    clock.advance(7)
    services.metrics.record_github_request("GET /repos/{owner}/{repo}", 200)
    services.metrics.set_rate_limit_remaining(42, 4999)
    text = client.get("/metrics").text
    expected = [
        'techlead_deliveries_total{action="opened",event="issues",outcome="accepted"} 1.0',
        'techlead_deliveries_total{action="opened",event="issues",outcome="duplicate"} 1.0',
        'techlead_deliveries_total{action="",event="",outcome="bad_signature"} 1.0',
        'techlead_queue_jobs{state="pending"} 2.0',
        "techlead_queue_oldest_ready_seconds 7.0",
        'techlead_github_requests_total{route="GET /repos/{owner}/{repo}",status="200"} 1.0',
        'techlead_github_rate_limit_remaining{installation="42"} 4999.0',
    ]
    for line in expected:
        assert line in text
    services.worker.run_once()
    text = client.get("/metrics").text
    assert 'techlead_job_duration_seconds_count{kind="delivery.route",outcome="done"} 1.0' in text


def test_each_app_has_its_own_registry(make_services: ServicesFactory) -> None:
    first, second = make_services(), make_services()
    first.metrics.record_github_request("GET /x", 200)
    assert b"GET /x" in first.metrics.render()
    assert b"GET /x" not in second.metrics.render()


def test_starts_with_nothing_but_a_secret_or_with_a_token(tmp_path: Path) -> None:
    for name, env in (
        ("secret-only", {"TECHLEAD_WEBHOOK_SECRET": SECRET}),
        ("token", {"TECHLEAD_WEBHOOK_SECRET": SECRET, "TECHLEAD_GITHUB_TOKEN": "ghp_x"}),
    ):
        settings = Settings.from_env({**env, "TECHLEAD_DATA_DIR": str(tmp_path / name)})
        services = build_services(settings)
        try:
            with TestClient(create_app(settings, services)) as client:
                assert client.get("/healthz").status_code == 200
        finally:
            services.close()
