"""Check runs and check suites: only Apps write them; annotations accumulate across updates.

GitHub's rules enforced here: at most 50 annotations per request (the schema's
maxItems), output.summary/text at most 65,535 characters (maxLength) and bytes,
start/end columns only on single-line annotations, a conclusion whenever a run is
completed, and one check suite per (App, head SHA), created with the first run.
https://docs.github.com/en/rest/checks/runs#create-a-check-run
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.sandbox import builders
from bot.sandbox.clock import parse_iso
from bot.sandbox.protocol import ApiError, Msg, Reply, not_found, validation_failed
from bot.sandbox.routing import Ctx, Router, created
from bot.sandbox.state import CheckRun, CheckSuite, Repo, State

router = Router()

MAX_OUTPUT_BYTES = 65535
# The suite's conclusion is the most severe of its runs' conclusions.
_SEVERITY = (
    "action_required",
    "startup_failure",
    "failure",
    "cancelled",
    "timed_out",
    "stale",
    "neutral",
    "success",
    "skipped",
)


def _app_id(ctx: Ctx) -> int:
    if ctx.app_id is None:
        raise ApiError(403, Msg.MUST_BE_APP)
    return ctx.app_id


def _commit(ctx: Ctx, sha: str) -> str:
    resolved = ctx.repo.git.resolve(sha)
    if resolved is None or not resolved.startswith(sha.lower()):
        raise validation_failed("CheckRun", "head_sha", "invalid", value=sha)
    return resolved


def _render_run(state: State, repo: Repo, run: CheckRun) -> Callable[[builders.Urls], Any]:
    return lambda urls: {"check_run": builders.check_run(urls, state, repo, run)}


def _render_suite(state: State, repo: Repo, suite: CheckSuite) -> Callable[[builders.Urls], Any]:
    return lambda urls: {"check_suite": builders.check_suite(urls, state, repo, suite)}


def _suite_for(ctx: Ctx, app_id: int, head_sha: str) -> CheckSuite:
    for suite in ctx.repo.check_suites.values():
        if suite.app_id == app_id and suite.head_sha == head_sha:
            return suite
    now = ctx.now
    suite = CheckSuite(
        ctx.state.next_id(), app_id, head_sha, _branch_of(ctx.repo, head_sha), now, now
    )
    ctx.repo.check_suites[suite.id] = suite
    return suite


def _branch_of(repo: Repo, sha: str) -> str | None:
    for refname, target, _ in repo.git.refs("refs/heads/"):
        if target == sha:
            return refname.removeprefix("refs/heads/")
    return None


def _check_output(output: dict[str, Any]) -> None:
    for name in ("summary", "text"):
        value = output.get(name)
        if isinstance(value, str) and len(value.encode()) > MAX_OUTPUT_BYTES:
            raise validation_failed(
                "CheckRun",
                name,
                "custom",
                message=Msg.OUTPUT_TOO_BIG.format(name=name, limit=MAX_OUTPUT_BYTES),
            )
    for index, item in enumerate(output.get("annotations") or []):
        columns = "start_column" in item or "end_column" in item
        if columns and item["start_line"] != item["end_line"]:
            raise validation_failed(
                "CheckRun",
                f"annotations[{index}]",
                "custom",
                message=Msg.ANNOTATION_COLUMNS,
            )


def _apply(ctx: Ctx, run: CheckRun) -> str | None:
    """Apply the request body to ``run``; return "completed" when this completes it."""
    body = ctx.body
    _check_output(body.get("output") or {})
    for name in ("name", "details_url", "external_id"):
        if name in body:
            setattr(run, name, body[name])
    if "started_at" in body:
        run.started_at = parse_iso(body["started_at"])
    output = body.get("output")
    if output:
        for name in ("title", "summary", "text"):
            if name in output:
                run.output[name] = output[name]
        run.annotations.extend(output.get("annotations") or [])
    if "actions" in body:
        run.actions = list(body["actions"])
    return _apply_status(ctx, run)


def _apply_status(ctx: Ctx, run: CheckRun) -> str | None:
    body = ctx.body
    status = body.get("status")
    conclusion = body.get("conclusion")
    if (status == "completed" or "completed_at" in body) and not conclusion:
        raise validation_failed(
            "CheckRun",
            "conclusion",
            "missing_field",
            message=Msg.CONCLUSION_REQUIRED,
        )
    was_completed = run.status == "completed"
    if conclusion:
        run.status, run.conclusion = "completed", conclusion
        run.completed_at = parse_iso(body["completed_at"]) if "completed_at" in body else ctx.now
    elif status:
        run.status = status
        if status == "in_progress" and run.started_at is None:
            run.started_at = ctx.now
    if run.started_at is None and run.status != "queued":
        run.started_at = ctx.now
    return "completed" if run.status == "completed" and not was_completed else None


def _refresh_suite(ctx: Ctx, suite: CheckSuite) -> None:
    runs = [r for r in ctx.repo.check_runs.values() if r.suite_id == suite.id]
    before = suite.status
    if runs and all(r.status == "completed" for r in runs):
        conclusions = {r.conclusion for r in runs}
        suite.status = "completed"
        suite.conclusion = next(c for c in _SEVERITY if c in conclusions)
    elif any(r.status != "queued" for r in runs):
        suite.status, suite.conclusion = "in_progress", None
    else:
        suite.status, suite.conclusion = "queued", None
    suite.updated_at = ctx.now
    if suite.status == "completed" and before != "completed":
        ctx.emit("check_suite", "completed", _render_suite(ctx.state, ctx.repo, suite))


def _find_run(ctx: Ctx) -> CheckRun:
    run = ctx.repo.check_runs.get(ctx.params["check_run_id"])
    if run is None:
        raise not_found()
    return run


def _find_suite(ctx: Ctx) -> CheckSuite:
    suite = ctx.repo.check_suites.get(ctx.params["check_suite_id"])
    if suite is None:
        raise not_found()
    return suite


def render_run(ctx: Ctx, run: CheckRun) -> dict[str, Any]:
    return builders.check_run(ctx.urls, ctx.state, ctx.repo, run)


def render_suite(ctx: Ctx, suite: CheckSuite) -> dict[str, Any]:
    return builders.check_suite(ctx.urls, ctx.state, ctx.repo, suite)


@router.post("/repos/{owner}/{repo}/check-runs")
def create_run(ctx: Ctx) -> Reply:
    app_id = _app_id(ctx)
    head_sha = _commit(ctx, ctx.body["head_sha"])
    suite = _suite_for(ctx, app_id, head_sha)
    run = CheckRun(ctx.state.next_id(), suite.id, app_id, ctx.body["name"], head_sha, ctx.now)
    completed = _apply(ctx, run)
    ctx.repo.check_runs[run.id] = run
    ctx.emit("check_run", "created", _render_run(ctx.state, ctx.repo, run))
    if completed:
        ctx.emit("check_run", "completed", _render_run(ctx.state, ctx.repo, run))
    _refresh_suite(ctx, suite)
    return created(render_run(ctx, run))


@router.patch("/repos/{owner}/{repo}/check-runs/{check_run_id}")
def update_run(ctx: Ctx) -> dict[str, Any]:
    run = _find_run(ctx)
    if run.app_id != _app_id(ctx):
        raise ApiError(403, Msg.INTEGRATION_FORBIDDEN)
    if _apply(ctx, run):
        ctx.emit("check_run", "completed", _render_run(ctx.state, ctx.repo, run))
    _refresh_suite(ctx, ctx.repo.check_suites[run.suite_id])
    return render_run(ctx, run)


@router.get("/repos/{owner}/{repo}/check-runs/{check_run_id}")
def get_run(ctx: Ctx) -> dict[str, Any]:
    return render_run(ctx, _find_run(ctx))


@router.get("/repos/{owner}/{repo}/check-runs/{check_run_id}/annotations")
def list_annotations(ctx: Ctx) -> Reply:
    run = _find_run(ctx)
    return ctx.paginate(
        run.annotations,
        lambda item: builders.check_annotation(ctx.urls, ctx.state, ctx.repo, run, item),
    )


@router.post("/repos/{owner}/{repo}/check-runs/{check_run_id}/rerequest")
def rerequest_run(ctx: Ctx) -> Reply:
    run = _find_run(ctx)
    if run.app_id != _app_id(ctx):
        raise ApiError(403, Msg.INTEGRATION_FORBIDDEN)
    ctx.emit("check_run", "rerequested", _render_run(ctx.state, ctx.repo, run))
    return created({})


def _runs_filtered(ctx: Ctx, runs: list[CheckRun]) -> list[CheckRun]:
    name, status, app_id = (ctx.query.get(k) for k in ("check_name", "status", "app_id"))
    runs = [
        r
        for r in runs
        if (not name or r.name == name)
        and (not status or r.status == status)
        and (not app_id or r.app_id == app_id)
    ]
    runs.sort(key=lambda r: r.id, reverse=True)
    if ctx.query.get("filter", "latest") == "latest":
        seen: set[tuple[int, str]] = set()
        latest = []
        for run in runs:
            if (run.app_id, run.name) not in seen:
                seen.add((run.app_id, run.name))
                latest.append(run)
        runs = latest
    return runs


def _resolve_ref(ctx: Ctx) -> str:
    sha = ctx.repo.git.resolve(ctx.params["ref"])
    if sha is None:
        raise validation_failed(
            "Commit", "ref", "invalid", message=Msg.NO_COMMIT_FOR_SHA.format(sha=ctx.params["ref"])
        )
    return sha


@router.get("/repos/{owner}/{repo}/commits/{ref}/check-runs")
def list_runs_for_ref(ctx: Ctx) -> Reply:
    sha = _resolve_ref(ctx)
    runs = [r for r in ctx.repo.check_runs.values() if r.head_sha == sha]
    return ctx.paginate(_runs_filtered(ctx, runs), lambda r: render_run(ctx, r), wrap="check_runs")


@router.get("/repos/{owner}/{repo}/check-suites/{check_suite_id}/check-runs")
def list_runs_for_suite(ctx: Ctx) -> Reply:
    suite = _find_suite(ctx)
    runs = [r for r in ctx.repo.check_runs.values() if r.suite_id == suite.id]
    return ctx.paginate(_runs_filtered(ctx, runs), lambda r: render_run(ctx, r), wrap="check_runs")


@router.post("/repos/{owner}/{repo}/check-suites")
def create_suite(ctx: Ctx) -> Reply:
    app_id = _app_id(ctx)
    head_sha = _commit(ctx, ctx.body["head_sha"])
    existing = any(
        s.app_id == app_id and s.head_sha == head_sha for s in ctx.repo.check_suites.values()
    )
    suite = _suite_for(ctx, app_id, head_sha)
    body = render_suite(ctx, suite)
    return Reply(200, body) if existing else created(body)


@router.get("/repos/{owner}/{repo}/check-suites/{check_suite_id}")
def get_suite(ctx: Ctx) -> dict[str, Any]:
    return render_suite(ctx, _find_suite(ctx))


@router.get("/repos/{owner}/{repo}/commits/{ref}/check-suites")
def list_suites_for_ref(ctx: Ctx) -> Reply:
    sha = _resolve_ref(ctx)
    app_id, name = ctx.query.get("app_id"), ctx.query.get("check_name")
    suites = [
        s
        for s in ctx.repo.check_suites.values()
        if s.head_sha == sha
        and (not app_id or s.app_id == app_id)
        and (
            not name
            or any(r.suite_id == s.id and r.name == name for r in ctx.repo.check_runs.values())
        )
    ]
    return ctx.paginate(suites, lambda s: render_suite(ctx, s), wrap="check_suites")


@router.post("/repos/{owner}/{repo}/check-suites/{check_suite_id}/rerequest")
def rerequest_suite(ctx: Ctx) -> Reply:
    suite = _find_suite(ctx)
    if suite.app_id != _app_id(ctx):
        raise ApiError(403, Msg.INTEGRATION_FORBIDDEN)
    suite.rerequest_count += 1
    suite.status, suite.conclusion, suite.updated_at = "queued", None, ctx.now
    ctx.emit("check_suite", "rerequested", _render_suite(ctx.state, ctx.repo, suite))
    return created({})
