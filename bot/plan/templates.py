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
REASON_FALLBACK = "no keyword or path matched; implementation work goes to the developer"
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
REASON_ADDED_DOCS = "added: the repository has documentation pages a new feature belongs in"
REASON_ADDED_TESTS = "the repository tests with {framework}; no section of the issue covers tests"

# Issue-template confirmations, matched inside a normalised line (lowercase, words only).
TEMPLATE_PHRASES = (
    "i have searched", "i searched", "i ve searched", "i have checked", "i ve checked",
    "i have read", "i ve read", "i confirm", "i agree to", "i agree that",
    "i am using the latest", "i m using the latest", "i have tried the latest",
    "code of conduct", "contributing guidelines", "searched the existing issues",
    "searched existing issues", "this is not a duplicate", "is not a duplicate",
    "i added a very descriptive title", "i have included", "i am willing",
    "i m willing", "i would be willing", "i already searched", "i have verified",
    "i ve verified", "i understand that", "this issue is not a question",
    "tested against the latest", "reproduced with the latest", "i can reproduce",
    "searched google", "checked the docs", "read the documentation", "read the docs",
    "reproducible against the latest", "no similar issues", "similar issues or pull requests",
    "i added a descriptive title", "minimal reproducible example",
    "again in debug mode", "i executed it again",
)  # fmt: skip
CONFIRMATION_WORDS = (
    "search", "confirm", "agree", "read", "check", "verified", "latest", "duplicate",
    "documentation", "docs", "willing", "version", "reproduc", "minimal", "example",
)  # fmt: skip

KIND_LABEL = "the label {label!r}"
KIND_TITLE = "the title says {word!r}"
KIND_BODY = "the issue says {word!r}"
KIND_TRACKER = "a list of items linking other work, or a long one with items ticked"
KIND_DEFAULT = "no bug, security, performance, docs or refactor words"
KIND_NAMES = {
    "bug": "bug",
    "feature": "feature",
    "security": "security issue",
    "performance": "performance issue",
    "docs": "documentation",
    "refactor": "refactor",
    "tracking": "tracking issue",
}

SKELETON_NOTE = "added: the plan a {kind} needs, as the issue lists no tasks"
SKELETON_AT = " in {path}"
CHANGE_AT = "Change{where}"
SKELETON_SYMBOLS = "{symbols} ({path})"
BUG_TEST = "Write a failing test{where} that reproduces: {title}"
BUG_FIX = "Fix{where}: {title}"
SECURITY_ASSESS = "Assess the vulnerability and its impact: {title}"
SECURITY_FIX = "Fix the vulnerability{where}: {title}"
SECURITY_UPGRADE = "Upgrade the vulnerable dependency{where}, rebuild and smoke-test: {title}"
SECURITY_TEST = "Write a failing test{where} for the exploit: {title}"
PERF_BENCH = "Reproduce and benchmark the slow case: {title}"
PERF_FIX = "Fix the slow path{where}: {title}"
PERF_TEST = "Keep the results correct, with tests{where}: {title}"
DOCS_UPDATE = "Update the documentation: {title}"
REFACTOR_REVIEW = "Keep the public API unchanged and the test suite passing: {title}"
REFACTOR_CHANGE = "Refactor{where}: {title}"
TRACKING_SPLIT = "Split into issues and plan each: {title}"
FEATURE_BUILD = "Implement{where}: {title}"
FEATURE_TEST = "Write tests{where} for: {title}"
FEATURE_DOCS = "Document{where}: {title}"
ASPECT_API = "Define the API: {what}"
ASPECT_DATA = "Model the data: {what}"
ASPECT_SECURITY = "Meet the security requirements: {what}"
ASPECT_UI = "Build the user interface: {what}"
REASON_ISSUE_PRIORITY = "the issue is {priority} ({why}) and this task is on its topic"
REASON_HINT_AGENT = "{agent}: the specialist a {kind} needs"
REASON_SKELETON_ORDER = "waits for {waits}, as work of this kind goes"
REASON_ASPECT = "added: the issue's text needs this and none of its sentences asks for it"
PRIORITY_KIND = "the kind of issue calls for it"
PRIORITY_KIND_NAMED = "{kind}"
REASON_SPECIALIST = "added: work of this kind needs this specialist and no listed task has one"
REASON_ALL_TICKED = "every item of the issue is ticked but the issue is open: work is left"

EXPLAIN_HEADER = "{title}\n  read as a {kind}{why}; tasks from {source}"
EXPLAIN_KIND_WHY = " ({why})"
EXPLAIN_NO_KIND = "issue"
EXPLAIN_LINKED = "  linked issues: {issues}"
EXPLAIN_TASK = "{id} {title} ({status})"
EXPLAIN_AGENT = "  specialist  {agent}: {why}"
EXPLAIN_PRIORITY = "  priority    {priority}: {why}"
EXPLAIN_STARTS = "  order       starts at once: it waits for no task"
EXPLAIN_WAITS = "  order       waits for {waits}: {why}"
EXPLAIN_NOTE = "  note        {note}"
EXPLAIN_FILES = "  files       {files} (from research)"

FALLBACK_TEST_BODY = "Run `{command}`."
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
    "prose": "the issue's sentences",
    "fallback": "the issue as a whole",
}
HEADER = "## TechLead plan{issue} · {state} · v{version}"
HEADER_ISSUE = " for #{number}"
SUMMARY = "**{title}**: {tasks} in {waves} (from {source})."
LINKED = "Linked issues (tracked there, not planned here): {issues}"
LINKED_MORE = " and {count} more"
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
