"""The dashboard view as an HTML page (``/dashboard``) and as terminal text (``techlead status``).

The page is server-rendered with inline CSS and refreshed by a ``<meta>`` tag, readable
without JavaScript or even CSS: every bar is also written out in words. Everything
taken from issues and jobs is escaped.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from bot.dashboard.view import (
    MAX_REASON_CHARS,
    REFRESH_SECONDS,
    TEXT_BAR_WIDTH,
    TONE_COLOURS,
    DashboardView,
    Failure,
    Headroom,
    Rate,
    StageTime,
    TaskRow,
    Timeline,
    Tone,
)

# ------------------------------------------------------------------------ formatting


def duration(seconds: float | None) -> str:
    """``42 s``, ``3 min 5 s``, ``2 h 10 min``; an em dash when unknown."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def percent(ratio: float | None) -> str:
    return "—" if ratio is None else f"{ratio:.1%}"


def clock(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def span_text(row: TaskRow) -> str:
    """Where a task's bar lies, in words: ``0 s → 42 s (42 s)``."""
    if row.start is None:
        return "not started"
    if row.end is None:
        return f"{duration(row.start)} → now"
    return f"{duration(row.start)} → {duration(row.end)} ({duration(row.end - row.start)})"


def queue_text(view: DashboardView) -> str:
    counts = ", ".join(f"{count} {state}" for state, count in view.queue.items())
    oldest = duration(view.oldest_ready)
    return f"{view.depth} waiting or running, the oldest due for {oldest} (jobs: {counts})"


def least_headroom_text(rooms: Sequence[Headroom]) -> str:
    """The identity closest to running out (by share left, else by count)."""
    if not rooms:
        return "no GitHub response seen yet"
    room = min(rooms, key=lambda r: (_share_left(r), r.remaining))
    return f"{room.identity or 'unknown'}: {headroom_text(room)}"


def _share_left(room: Headroom) -> float:
    if room.limit:
        return room.remaining / room.limit
    return 0.0 if room.remaining == 0 else 1.0


def rate_text(rate: Rate) -> str:
    return f"{percent(rate.ratio)} ({rate.done} done, {rate.dead} dead)"


def stage_text(stage: StageTime | None) -> str:
    if stage is None:
        return "nothing measured yet"
    return (
        f"{stage.name}: p90 {duration(stage.p90)}, median {duration(stage.median)} "
        f"({stage.samples} samples)"
    )


def headroom_text(room: Headroom) -> str:
    limit = "?" if room.limit is None else str(room.limit)
    resets = "reset unknown" if room.resets_in is None else f"resets in {duration(room.resets_in)}"
    return f"{room.remaining}/{limit} left, {resets} (seen {duration(room.seen_ago)} ago)"


# ------------------------------------------------------------------------------ HTML

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="{refresh}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>TechLead dashboard</title>
<style>{css}</style>
</head>
<body>
<h1>TechLead dashboard</h1>
<p class="muted">Generated {generated}; refreshes every {refresh} s.</p>
<section id="health">
<h2>Queue and outcomes</h2>
<dl>
<dt>Queue depth</dt><dd id="queue">{queue}</dd>
{rates}
<dt>Slowest stage</dt><dd id="slowest">{slowest}</dd>
<dt>Least GitHub headroom</dt><dd id="least-headroom">{least}</dd>
</dl>
</section>
<section id="plans">
<h2>Plans</h2>
{legend}
{plans}
</section>
<section id="failures">
<h2>Recent failures</h2>
{failures}
</section>
<section id="rate-limits">
<h2>GitHub rate-limit headroom</h2>
{headroom}
</section>
<section id="stages">
<h2>Stage times</h2>
{stages}
</section>
</body>
</html>
"""
CSS = (
    "body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#1f2328;max-width:80rem}"
    "h1{font-size:1.4rem;margin:0}h2{font-size:1.1rem;margin:1.4rem 0 .5rem}"
    "h3{font-size:1rem;margin:1rem 0 .3rem}.muted{color:#656d76}"
    "dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}dt{font-weight:600}"
    "dd{margin:0}table{border-collapse:collapse;width:100%}"
    "th,td{text-align:left;padding:.25rem .5rem;border-bottom:1px solid #d8dee4;"
    "vertical-align:middle}th{font-weight:600;background:#f6f8fa}"
    "td.track-cell{width:40%}.track{position:relative;height:1rem;background:#f6f8fa;"
    "border:1px solid #d8dee4}.bar{position:absolute;top:0;bottom:0;min-width:3px}"
    ".legend span{display:inline-block;margin-right:1rem}"
    ".swatch{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;"
    "vertical-align:middle}"
    + "".join(f".tone-{tone.value}{{background:{colour}}}" for tone, colour in TONE_COLOURS.items())
)
RATE_ITEM = '<dt>Success rate, {window}</dt><dd class="rate">{text}</dd>'
LEGEND = '<p class="legend">Legend: {items}</p>'
LEGEND_ITEM = '<span><span class="swatch tone-{tone}"></span>{tone}</span>'
PLAN_BLOCK = """<article class="plan" id="plan-{anchor}">
<h3>{repo}#{issue} · {title}</h3>
<p class="muted">{state} · {done}/{total} tasks done · {seconds}</p>
<table>
<thead><tr><th>Task</th><th>Title</th><th>Specialist</th><th>Status</th>
<th>Timeline (0 → {seconds})</th><th>When</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
</article>"""
TASK_ROW = """<tr class="task" data-task="{id}" data-status="{status}">
<td>{id}</td><td>{title}</td><td>{specialist}</td><td>{status}{extra}</td>
<td class="track-cell"><div class="track">
<div class="bar tone-{tone}" style="left:{offset}%;width:{width}%"
 title="{id} {status}: {when}"></div>
</div></td>
<td>{when}</td>
</tr>"""
NO_PLANS = '<p class="muted">No plan is being carried out, and none finished in the last day.</p>'
STAGE_TABLE = """<table>
<thead><tr><th>Stage</th><th>p90</th><th>Median</th><th>Samples</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>"""
STAGE_ROW = "<tr><td>{name}</td><td>{p90}</td><td>{median}</td><td>{samples}</td></tr>"
NO_STAGES = '<p class="muted">Nothing measured yet.</p>'
FAILURE_TABLE = """<table>
<thead><tr><th>When</th><th>What</th><th>Reason</th><th>Delivery</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>"""
FAILURE_ROW = (
    '<tr class="failure"><td>{at}</td><td>{what}</td><td>{reason}</td><td>{delivery}</td></tr>'
)
NO_FAILURES = '<p class="muted">No failures in the last day.</p>'
HEADROOM_TABLE = """<table>
<thead><tr><th>Identity</th><th>Remaining</th><th>Reset</th><th>Seen</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>"""
HEADROOM_ROW = (
    "<tr><td>{identity}</td><td>{remaining}/{limit}</td><td>{resets}</td><td>{seen} ago</td></tr>"
)
NO_HEADROOM = '<p class="muted">No GitHub response seen yet.</p>'


def _resets_text(room: Headroom) -> str:
    return "unknown" if room.resets_in is None else f"in {duration(room.resets_in)}"


def escape(value: object) -> str:
    return html.escape(str(value), quote=True)


def render_html(view: DashboardView) -> str:
    """The whole page; every value from outside (titles, reasons, ids) is escaped."""
    rates = "\n".join(
        RATE_ITEM.format(window=escape(rate.window), text=escape(rate_text(rate)))
        for rate in view.rates
    )
    legend = LEGEND.format(items=" ".join(LEGEND_ITEM.format(tone=tone.value) for tone in Tone))
    return PAGE.format(
        refresh=REFRESH_SECONDS,
        css=CSS,
        generated=escape(clock(view.generated_at)),
        queue=escape(queue_text(view)),
        rates=rates,
        slowest=escape(stage_text(view.slowest)),
        least=escape(least_headroom_text(view.headroom)),
        legend=legend,
        plans="\n".join(_plan_html(line) for line in view.timelines) or NO_PLANS,
        stages=_stages_html(view.stages),
        failures=_failures_html(view.failures),
        headroom=_headroom_html(view.headroom),
    )


def _plan_html(line: Timeline) -> str:
    rows = "\n".join(
        TASK_ROW.format(
            id=escape(row.id),
            title=escape(row.title),
            specialist=escape(row.specialist),
            status=escape(row.status),
            extra=escape(_row_extra(row)),
            tone=row.tone.value,
            offset=f"{row.offset:.2f}",
            width=f"{row.width if row.start is not None else 0:.2f}",
            when=escape(span_text(row)),
        )
        for row in line.rows
    )
    return PLAN_BLOCK.format(
        anchor=escape(f"{line.repo}-{line.issue}".replace("/", "-")),
        repo=escape(line.repo),
        issue=line.issue,
        title=escape(line.title),
        state=escape(line.state),
        done=line.done,
        total=len(line.rows),
        seconds=escape(duration(line.seconds)),
        rows=rows,
    )


def _row_extra(row: TaskRow) -> str:
    parts = [f"#{row.pr}" if row.pr else "", f"attempt {row.attempt}" if row.attempt > 1 else ""]
    if row.reason and row.tone is Tone.FAILED:
        parts.append(row.reason[:MAX_REASON_CHARS])
    shown = " · ".join(part for part in parts if part)
    return f" ({shown})" if shown else ""


def _stages_html(stages: Sequence[StageTime]) -> str:
    if not stages:
        return NO_STAGES
    rows = "\n".join(
        STAGE_ROW.format(
            name=escape(stage.name),
            p90=escape(duration(stage.p90)),
            median=escape(duration(stage.median)),
            samples=stage.samples,
        )
        for stage in stages
    )
    return STAGE_TABLE.format(rows=rows)


def _failures_html(found: Sequence[Failure]) -> str:
    if not found:
        return NO_FAILURES
    rows = "\n".join(
        FAILURE_ROW.format(
            at=escape(clock(failure.at)),
            what=escape(failure.what),
            reason=escape(failure.reason),
            delivery=escape(failure.delivery_id or "—"),
        )
        for failure in found
    )
    return FAILURE_TABLE.format(rows=rows)


def _headroom_html(rooms: Sequence[Headroom]) -> str:
    if not rooms:
        return NO_HEADROOM
    rows = "\n".join(
        HEADROOM_ROW.format(
            identity=escape(room.identity or "unknown"),
            remaining=room.remaining,
            limit=escape("?" if room.limit is None else room.limit),
            resets=escape(
                "unknown" if room.resets_in is None else f"in {duration(room.resets_in)}"
            ),
            seen=escape(duration(room.seen_ago)),
        )
        for room in rooms
    )
    return HEADROOM_TABLE.format(rows=rows)


# ------------------------------------------------------------------------------ text

STATUS_HEADER = "TechLead status · {generated}"
NO_PLANS_TEXT = "  no plan is being carried out, and none finished in the last day"


def render_text(view: DashboardView) -> str:
    """The same view as plain lines for a terminal (no colour, no cursor control)."""
    lines = [
        STATUS_HEADER.format(generated=clock(view.generated_at)),
        "",
        f"Queue depth:   {queue_text(view)}",
        *(f"Success rate:  {rate.window}: {rate_text(rate)}" for rate in view.rates),
        f"Slowest stage: {stage_text(view.slowest)}",
        f"Least GitHub headroom: {least_headroom_text(view.headroom)}",
        "",
        "Plans",
        *(_plan_lines(view.timelines) if view.timelines else [NO_PLANS_TEXT]),
        "",
        "Recent failures",
        *(_failure_line(f) for f in view.failures),
        *([] if view.failures else ["  none in the last day"]),
        "",
        "GitHub rate-limit headroom",
        *(f"  {room.identity or 'unknown'}: {headroom_text(room)}" for room in view.headroom),
        *([] if view.headroom else ["  no GitHub response seen yet"]),
    ]
    return "\n".join(_plain_lines(lines)) + "\n"


def _plain_lines(lines: Iterable[str]) -> Iterable[str]:
    # Titles come from issues: a control character must not reach the terminal.
    for line in lines:
        yield "".join(ch if ch.isprintable() else "?" for ch in line)


def _plan_lines(timelines: Sequence[Timeline]) -> list[str]:
    lines = []
    for line in timelines:
        lines.append(
            f"  {line.repo}#{line.issue} {line.title} · {line.state} · "
            f"{line.done}/{len(line.rows)} tasks done · {duration(line.seconds)}"
        )
        width = max((len(row.id) for row in line.rows), default=2)
        for row in line.rows:
            lines.append(
                f"    {row.id:<{width}} {row.status:<9} [{text_bar(row)}] "
                f"{span_text(row)} · {row.specialist} · {row.title}{_row_extra(row)}"
            )
    return lines


def text_bar(row: TaskRow, width: int = TEXT_BAR_WIDTH) -> str:
    """The timeline bar in characters: ``.....#####......``."""
    if row.start is None:
        return " " * width
    first = min(int(row.offset / 100 * width), width - 1)
    length = max(round(row.width / 100 * width), 1)
    last = min(first + length, width)
    return "." * first + "#" * (last - first) + "." * (width - last)


def _failure_line(failure: Failure) -> str:
    delivery = f" · delivery {failure.delivery_id}" if failure.delivery_id else ""
    return f"  {clock(failure.at)} · {failure.what}{delivery} · {failure.reason}"
