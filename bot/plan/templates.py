"""Every piece of text the planner and the checklist comment show to people."""

from __future__ import annotations

# ----------------------------------------------------------------------------- planner

EMPTY_ROSTER = "the agent roster is empty: add at least one agent to agents.yml"
REASON = "{agent}: {why}"
REASON_TITLE = "keywords in the title: {words}"
REASON_BODY = "keywords in the text: {words}"
REASON_PATHS = "owns {paths}"
REASON_RELEVANT = "no keyword matched; owns the files most relevant to the issue"
REASON_DEFAULT = "no keyword or path matched; first in the roster"
REASON_CHECKED = "ticked in the issue: counted as completed"
REASON_DEFAULT_ORDER = "default order: {category} work waits for {waits}"
REASON_EXPLICIT_ORDER = "waits as the issue says"
REASON_PRIORITY = "priority {priority}: {why}"
PRIORITY_LABEL = "issue label {label!r}"
PRIORITY_WORD = "mentions {word!r}"
PRIORITY_MARKER = "marked {marker!r}"
PRIORITY_BANG = "marked '!'"
PRIORITY_NONE = "no priority given"
MISSING_ITEM = "item {number}"
LONG_NUMBER = "{prefix}{head}…{tail} ({count} digits)"
DUPLICATE_IDS = "task ids appear twice: {ids}"
ISSUE_UNREADABLE = "cannot read {path}: {problem}"
ISSUE_NOT_TEXT = (
    "{path} is not a text file TechLead can read ({problem}); "
    "save it as UTF-8 (or UTF-16/32 with a byte order mark) and run again"
)
ISSUE_NOT_TEXT_BYTE = "not valid {encoding}: byte 0x{byte} at offset {offset}"
ISSUE_NUL = "a NUL byte at character {offset}, so it looks binary"
ISSUE_NO_TITLE = "{path}: the first line must be the issue title, like '# Add a cart'"
REASON_ADDED_TESTS = "the repository tests with {framework}; no section of the issue covers tests"

FALLBACK_TITLES = (
    "Design the change: {title}",
    "Implement: {title}",
    "Test: {title}",
    "Update the documentation: {title}",
)
FALLBACK_TEST_BODY = "Run `{command}`."
FALLBACK_FILES_BODY = "Start from: {files}"
SECTION_TESTS_TITLE = "Add tests for: {title}"

# --------------------------------------------------------------------------- checklist

PLAN_MARKER = "<!-- techlead:plan -->"
STATE_NAMES = {
    "draft": "draft",
    "awaiting_approval": "awaiting approval",
    "approved": "approved",
    "running": "running",
    "done": "done",
    "cancelled": "cancelled",
    "invalid": "invalid",
}
STATUS_NAMES = {
    "pending": "pending",
    "in_progress": "in progress",
    "completed": "completed",
    "failed": "failed",
    "skipped": "skipped",
    "cancelled": "cancelled",
}
SOURCE_NAMES = {
    "task_list": "the issue's task list",
    "sections": "the issue's sections",
    "fallback": "the issue as a whole",
}
HEADER = "## TechLead plan{issue} · {state} · v{version}"
HEADER_ISSUE = " for #{number}"
SUMMARY = "**{title}**: {tasks} in {waves} (from {source})."
COUNT_TASKS = ("{n} task", "{n} tasks")
COUNT_WAVES = ("{n} wave", "{n} waves")

RESEARCH_OPEN = "<details>\n<summary>Research summary</summary>\n"
RESEARCH_CLOSE = "</details>"
RESEARCH_BRIEF = "<sub>Research: {files} files; {languages}. Details trimmed to fit.</sub>"
RESEARCH_OMITTED = (
    "<sub>Research summary omitted to keep this comment within GitHub's size limit.</sub>"
)
RESEARCH_LANGUAGES = "- **Languages:** {languages}"
RESEARCH_FRAMEWORKS = "- **Frameworks:** {frameworks}"
RESEARCH_TOOLS = "- **Tools:** {tools}"
RESEARCH_TESTS = "- **Tests:** {framework}, run with `{command}`"
RESEARCH_LAYOUT = "- **Layout:** {dirs}{src}"
RESEARCH_SRC = " (src layout)"
RESEARCH_SPECS = "- **API specs:** {specs}"
RESEARCH_FILES = "- **Files researched:** {count}"
RESEARCH_RELEVANT = "\n**Most relevant files**\n\n| File | Score | Owners |\n| --- | ---: | --- |"
RESEARCH_RELEVANT_ROW = "| `{path}` | {score:.2f} | {owners} |"
RESEARCH_SECURITY = "\n**Security notes**\n"
RESEARCH_PERFORMANCE = "\n**Performance notes**\n"
RESEARCH_NOTE = "- `{ref}`: {message}"
RESEARCH_DEGRADED = "\n**Research incomplete:** {agents}"
RESEARCH_DEGRADED_ITEM = "{agent} ({reason})"
NONE = "none found"

WAVE = "### Wave {name}"
TASK_LINE = "- [{tick}] {title_part} · {agent} · {priority} · {status}{extra}"
TASK_TITLE = "**{id}** {title}"
TASK_TITLE_STRUCK = "~~**{id}** {title}~~"
TASK_WAITS = " · waits for {ids}"
TASK_BRANCH = " · branch `{branch}`"
TASK_PR = " · PR #{pr}"
TASK_REMOVED = " (removed from the issue)"
TASK_DETAIL = "  <sub>{reason}</sub>"

CONTROLS = "### Controls"
CONTROL_APPROVE = (
    "- [{tick}] **Approve this plan** (version {version})"
    " <!-- techlead:control approve v{version} -->"
)
CONTROL_RETRY = "- [{tick}] Retry **{id}** <!-- techlead:control retry {id} v{version} -->"
CONTROL_SKIP = "- [{tick}] Skip **{id}** <!-- techlead:control skip {id} v{version} -->"
APPROVED_NOTE = "Plan approved (version {version})."
DONE_NOTE = "Every task has finished."
NO_APPROVAL_NOTE = "This repository runs plans without approval."
CANCELLED_NOTES = {
    "by_user": "Cancelled by @{actor}.",
    "issue_closed": "Cancelled: the issue was closed.",
    "label_removed": "Cancelled: the trigger label was removed from the issue.",
}
CANCELLED_UNKNOWN = "Cancelled."

CHANGES = "### Changes in version {version}"
CHANGE_ADDED = "- Added: {tasks}"
CHANGE_REMOVED = "- Removed: {tasks}"
CHANGE_CHANGED = "- Changed: {tasks}"
CHANGE_TASK = "**{id}** {title}"
CHANGE_KEPT = "**{id}** {title} (kept as {status}: work had started)"
CHANGE_FIELDS = "**{id}** ({fields})"
CHANGE_COUNTS = "- {added} added, {removed} removed, {changed} changed."

FOOTER = "<sub>Plan version {version} · Commands: {commands}</sub>"
FOOTER_COMMANDS = ("approve", "retry T1", "skip T1", "cancel", "status", "plan", "help")

STATE_BLOCK = "<!-- techlead:state v{format} {payload} -->"

# -------------------------------------------------------------------------- error bodies

ERROR_HEADER = "## TechLead plan{issue} · cannot run"
ERROR_CYCLE = (
    "The tasks wait for each other in a cycle: **{cycle}**. Nothing will run.\n\n"
    "Edit the issue so one of these tasks no longer waits for the next; "
    "I will plan again when the issue changes."
)
ERROR_DANGLING = (
    "**{task}** waits for **{missing}**, which is not in the plan. Nothing will run.\n\n"
    "Edit the issue to point at an existing item (numbers count the items of the list, "
    "`T3` is a task id, `#12` another issue)."
)
ERROR_CONFIG = (
    "The repository's configuration is invalid, so I cannot plan:\n\n"
    "- **File:** `{where}`\n- **Key:** `{key}`\n- **Problem:** {message}\n\n"
    "Fix the file on the default branch, then comment `{command} plan`."
)
ERROR_PLAN = "I cannot build a plan: {message}\n\nEdit the issue, then comment `{command} plan`."
ERROR_STATE_VERSION = "state format v{found} is newer than this TechLead understands (v{known})"

# ------------------------------------------------------------------------------ commands

COMMAND_NEEDS_TASK = "`{command} {name}` needs a task id, like `{command} {name} T3`"
COMMAND_BAD_TASK = "`{argument}` is not a task id (task ids look like `T3`)"
HELP = """**TechLead commands** (one per line, at the start of a comment):

- `{command} plan`: research the repository and plan this issue again
- `{command} approve`: approve the plan so its tasks start
- `{command} retry T3`: run a failed task again
- `{command} skip T3`: skip a task (tasks waiting for it may start)
- `{command} cancel`: stop the plan
- `{command} status`: show the plan's current state
- `{command} help`: show this help

You can also tick the boxes in the plan comment."""
