"""OpenTelemetry spans for jobs, only when an exporter is configured (an optional dependency).

``OTEL_TRACES_EXPORTER`` chooses: unset or ``none`` (the default) costs nothing, not
even an import; ``console`` prints spans; ``otlp`` sends them to
``OTEL_EXPORTER_OTLP_ENDPOINT`` (with ``opentelemetry-exporter-otlp-proto-http``).
``OTEL_SERVICE_NAME`` defaults to ``techlead``. The SDK comes with
``pip install 'techlead[otel]'``.
https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/

Every job runs in one span named after its kind, carrying the delivery, job, attempt,
installation, repository, issue and task it belongs to. The span's trace id is the
job's TechLead trace id (the one in log lines, commit trailers and the API answer to
the webhook), so every job one delivery led to lands in the same trace.
"""

from __future__ import annotations

import atexit
import contextvars
from collections.abc import Mapping
from typing import Any

from bot.errors import SettingsError
from bot.jobs import Job, JobHandler, JobKind, JobRegistry

EXPORTER_VARIABLE = "OTEL_TRACES_EXPORTER"
SERVICE_VARIABLE = "OTEL_SERVICE_NAME"
DEFAULT_SERVICE = "techlead"
OFF = ("", "none")
MSG_NO_SDK = "needs the OpenTelemetry SDK: pip install 'techlead[otel]'"
MSG_NO_OTLP = "otlp needs opentelemetry-exporter-otlp-proto-http installed"
MSG_UNKNOWN = "must be none, console or otlp, got {got!r}"
# Payload fields copied onto the span when a job carries them.
PAYLOAD_ATTRIBUTES = ("repo", "issue", "task", "number", "head_sha")

_tracer: Any = None
# The trace id the next span must use (the job's TechLead trace id).
_wanted_trace: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "techlead_trace", default=None
)


def configure(env: Mapping[str, str], exporter: Any = None) -> bool:
    """Set up tracing from ``env``; ``exporter`` (tests) replaces the configured one.

    Returns whether spans are recorded. Without an exporter nothing is imported.
    """
    global _tracer
    name = env.get(EXPORTER_VARIABLE, "").strip().lower()
    if exporter is None and name in OFF:
        _tracer = None
        return False
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
    except ImportError as exc:
        raise SettingsError(EXPORTER_VARIABLE, MSG_NO_SDK) from exc
    service = env.get(SERVICE_VARIABLE, "").strip() or DEFAULT_SERVICE
    provider = TracerProvider(
        resource=Resource.create({"service.name": service}), id_generator=_id_generator()
    )
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        provider.add_span_processor(BatchSpanProcessor(_exporter(name)))
        atexit.register(provider.shutdown)  # flush what the batch still holds
    _tracer = provider.get_tracer("techlead")
    return True


def enabled() -> bool:
    return _tracer is not None


def disable() -> None:
    """Stop recording spans (tests; a process that configured tracing keeps it)."""
    global _tracer
    _tracer = None


def traced(registry: JobRegistry) -> JobRegistry:
    """``registry`` with every handler in a span; the same registry when tracing is off."""
    if not enabled():
        return registry
    wrapped = JobRegistry()
    for name in registry.kinds():
        kind = registry.get(name)
        assert kind is not None
        wrapped.add(JobKind(kind.name, _in_span(kind.handler), kind.retry, kind.on_dead))
    return wrapped


def job_attributes(job: Job) -> dict[str, str | int]:
    """What a job's span says about it (no payload text beyond these ids)."""
    found: dict[str, str | int] = {
        "techlead.job.id": job.id,
        "techlead.job.kind": job.kind,
        "techlead.job.attempt": job.attempts,
    }
    if job.delivery_id:
        found["techlead.delivery_id"] = job.delivery_id
    if job.installation_id is not None:
        found["techlead.installation_id"] = job.installation_id
    for key in PAYLOAD_ATTRIBUTES:
        value = job.payload.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool):
            found[f"techlead.{key}"] = value
    return found


def trace_number(trace_id: str | None) -> int | None:
    """A TechLead trace id (32 hex digits) as an OpenTelemetry trace id; None if not one."""
    if not trace_id or len(trace_id) != 32:
        return None
    try:
        number = int(trace_id, 16)
    except ValueError:
        return None
    return number or None


def _in_span(handler: JobHandler) -> JobHandler:
    def run(job: Job, ctx: Any) -> None:
        tracer = _tracer
        if tracer is None:
            handler(job, ctx)
            return
        token = _wanted_trace.set(trace_number(job.trace_id))
        try:
            with tracer.start_as_current_span(
                job.kind, context=_no_parent(), attributes=job_attributes(job)
            ):
                handler(job, ctx)
        finally:
            _wanted_trace.reset(token)

    return run


def _no_parent() -> Any:
    """An empty context: a job's span is a root of its delivery's trace."""
    from opentelemetry.context import Context

    return Context()


def _id_generator() -> Any:
    from opentelemetry.sdk.trace.id_generator import RandomIdGenerator

    class DeliveryTraceIds(RandomIdGenerator):
        """Root spans take the job's TechLead trace id; span ids stay random."""

        def generate_trace_id(self) -> int:
            wanted = _wanted_trace.get()
            return wanted if wanted is not None else super().generate_trace_id()

    return DeliveryTraceIds()


def _exporter(name: str) -> Any:
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    if name == "otlp":
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
                OTLPSpanExporter,
            )
        except ImportError as exc:
            raise SettingsError(EXPORTER_VARIABLE, MSG_NO_OTLP) from exc
        return OTLPSpanExporter()
    raise SettingsError(EXPORTER_VARIABLE, MSG_UNKNOWN.format(got=name))
