"""Every piece of text the planning feature shows people beyond the checklist itself."""

from __future__ import annotations

# A plan's state reads the same in the status reply as in the checklist comment.
from bot.plan.templates import STATE_NAMES as STATE_NAMES

# Added under the checklist's controls once a plan is approved: what approval does.
APPROVED_MEANS = (
    "Approval records version {version} as the agreed plan: TechLead now runs its tasks "
    "wave by wave, each on its own branch and pull request. Editing the issue makes a new "
    "version that needs approval again."
)
# Who acted, for cancellations whose note does not name them.
CANCELLED_BY = " (by @{actor})"

REPLY_QUOTE = "> {line}"
REPLY = "{quote}\n\n{text}"
REPLY_ALONE = "@{actor} {text}"
REPLY_LIST_ITEM = "- {text}"
REPLY_LIST = "@{actor}\n\n{items}"

NO_PLAN = (
    "there is no plan for this issue yet. Add the `{label}` label or comment "
    "`{command} plan` to make one."
)
PLAN_INVALID = (
    "the plan cannot run while planning reports a problem (see the plan comment). "
    "Edit the issue or the configuration, then comment `{command} plan`."
)
NOT_OPEN = "this issue is closed; reopen it, then comment `{command} plan`."
PLAN_CANCELLED = "the plan is cancelled. Comment `{command} plan` to plan again."
ALREADY_APPROVED = "version {version} of the plan is already approved."
STALE_TICK = (
    "that box belonged to version {tick} of the plan, which is now version {version}; "
    "tick the box of the current version instead."
)
NO_SUCH_TASK = "the plan has no task {task} (its tasks: {ids})."
RETRY_NEEDS_FAILED = "{task} is {status}; only a failed task can be retried."
SKIP_FINISHED = "{task} is already {status}; there is nothing to skip."
ALREADY_CANCELLED = "the plan is already cancelled."
UNKNOWN_COMMAND = "I don't know `{command} {name}`.\n\n{help}"
CONFIG_INVALID = (
    "this repository's `.github/techlead.yml` is invalid, so I cannot act on commands "
    "until it is fixed on the default branch: {problem}"
)

STATUS = "**Plan status:** version {version}, {state}. {counts}."
STATUS_COUNT = "{count} {status}"
STATUS_NO_TASKS = "No tasks"
STATUS_LINK = " [Plan comment]({url})"

JOB_FAILED = (
    "I could not finish {what} for this issue after {attempts} attempts: {error}\n\n"
    "Nothing more will happen on its own. Comment `{command} plan` to try again; if it "
    "keeps failing, a maintainer can re-drive it with `techlead jobs retry {job}`."
)
JOB_WHAT = {
    "plan.run": "planning",
    "plan.command": "your command",
    "plan.ticks": "the boxes you ticked",
    "plan.cancel": "cancelling the plan",
}
JOB_WHAT_OTHER = "this work"
