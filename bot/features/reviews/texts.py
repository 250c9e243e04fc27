"""The reviewers' words on GitHub beyond single comments: the run marker and the summary."""

from __future__ import annotations

from typing import Final

RUN_MARKER: Final = "<!-- techlead:review-run stream={stream} sha={sha} -->"
SUMMARY_MARKER: Final = "<!-- techlead:review-summary -->"
SUMMARY: Final = (
    "{marker}\n### TechLead review of {sha}\n\n"
    "| stream | findings on this head | new in this push | fixed |\n|---|---|---|---|\n"
    "{rows}\n\n**Gates:** {gates}\n\n**Next:** {next}"
)
SUMMARY_ROW: Final = "| {stream} | {total} | {new} | {fixed} |"
GATES_PREFIX: Final = "**Gates:** "
GATES_LINE: Final = GATES_PREFIX + "{gates}"
GATES_NONE: Final = "none reported yet on this head"
GATE_ITEM: Final = "{name}: {conclusion}"
NEXT_CLEAN: Final = "nothing to do from the reviewers; merge when the gates and people agree."
NEXT_BLOCKING: Final = (
    "fix the {count} blocking security finding(s) first; the review threads say how."
)
NEXT_FINDINGS: Final = (
    "look through the review threads; reply in a thread to discuss, or push a fix "
    "(fixed findings get a reply saying so)."
)
FALLBACK_BODY: Final = (
    "\n\nGitHub refused {count} of these comments on the diff; they are listed here instead:"
    "\n\n{items}"
)
