"""Text TechLead shows while carrying out a plan: checklist section, pull requests, comments."""

from __future__ import annotations

TASK_MARKER = "<!-- techlead:task {repo}#{issue}/{task} -->"
INTEGRATION_MARKER = "<!-- techlead:integration {repo}#{issue} -->"
EXECUTION_MARKER = "<!-- techlead:execution -->"

# -- policy
POLICY_PROTECTED = "`{path}` is protected (`{glob}`)"
POLICY_ADD_ONLY = "`{path}` already exists and `execution.add_only` allows only new files"
POLICY_OUTSIDE = "`{path}` is outside the task's paths ({allowed})"
POLICY_FILES = "{count} files changed; at most {limit} are allowed"
POLICY_LINES = "{count} lines changed; at most {limit} are allowed"
POLICY_REJECTED = "the change was rejected at commit time: {reasons}"

# -- failures
FAIL_GATES = "required gates failed: {gates}"
FAIL_GATES_NOTE = "The gate `{gate}` failed on the previous attempt's pull request #{pr}."
FAIL_CONFLICT = "conflict: the pull request no longer merges into `{branch}`: {detail}"
FAIL_CONFLICT_FILES = " (its files: {files})"
FAIL_PUSH = "the push was refused: {detail}"
FAIL_GITHUB = "GitHub refused: {detail}"
NO_CHANGE = "the executor finished without changing anything"
FAIL_JOB = "the task's job gave up after its retries: {error}"

# -- commits and pull requests
COMMIT_TITLE = "{task}: {title}"
START_TITLE = "Start {task}: {title}"
TASK_PR_TITLE = "[{task}] {title}"
TASK_PR_BODY = """{marker}
Task **{task}** of #{issue} ({agent}), attempt {attempt}.

{summary}

<details><summary>Work order ({chars} characters of {context} in the full context)</summary>

{order}
</details>
{handoff}{log}{messages}
This pull request targets the integration branch `{base}`; TechLead merges it once its
required gates pass.
"""
HANDOFF_PR_NOTE = """
**A person is needed for this task.** {reason}. Push your work to `{branch}` and merge
this pull request into `{base}` when it is done; TechLead then continues with the tasks
that wait for it.
"""
LOG_BLOCK = """
<details><summary>Executor output (redacted, truncated)</summary>

```text
{log}
```
</details>
"""
REJECTED_BLOCK = "\n> [!WARNING]\n> {reason}\n"
MESSAGES_BLOCK = "\n**Messages from other tasks**\n\n{items}\n"
MESSAGE_ITEM = "- {kind} from {sender}: {text}"
INTEGRATION_TITLE = "{title} (#{issue})"
INTEGRATION_BODY = """{marker}
Closes #{issue}

TechLead carried out the approved plan of #{issue}; every task below was merged into
`{branch}` after its required gates passed. Review and merge this pull request to land
the whole change.

| Task | Title | Agent | Pull request | Time | Gates | Approved by |
|---|---|---|---|---|---|---|
{rows}

{metrics}
"""
INTEGRATION_ROW = "| {task} | {title} | {agent} | {pr} | {seconds} | {gates} | {reviews} |"
CLOSED_NOTE = "TechLead closed this pull request: {why}."
WHY_CANCELLED = "the plan was cancelled"
WHY_REMOVED = "its task left the plan"
MAINTAINERS = (
    "{mentions} task **{task}** failed {failures} times and TechLead stopped retrying it: "
    "{reason}. Tick its retry box in the plan comment to try again."
)

# -- the checklist section
SECTION = "### Execution\n\n{lines}"
SECTION_INTEGRATION = "Integration branch `{branch}`{pr}."
SECTION_INTEGRATION_PR = " · integration pull request #{pr}"
SECTION_ROW = "- **{task}** {phase}{pr}{attempt}{time}{order}{after}{reason}"
SECTION_ORDER = " · work order {order} of {context} characters"
SECTION_PR = " · #{pr}"
SECTION_ATTEMPT = " · attempt {attempt}"
SECTION_TIME = " · {seconds}"
SECTION_AFTER = " · after {tasks} (same files)"
SECTION_REASON = " · {reason}"
SECTION_METRICS = (
    "Parallel efficiency {efficiency:.0%} · coordination overhead {overhead:.0%} · "
    "wall {wall} · executors {executor}"
)
SECTION_MESSAGES = "Messages: {items}"
SECTION_TRIMMED = (
    "### Execution\n\nThe execution details are left out here: with them this comment would "
    "pass GitHub's 65,536-character limit."
)
SECTION_DRY_RUN = "**Dry run** (`execution.dry_run`): nothing was created. TechLead would create:"
PHASE_NAMES = {
    "waiting": "waiting",
    "queued": "queued",
    "running": "running",
    "review": "pull request open, waiting for gates",
    "handoff": "handed to a person (draft pull request)",
    "merged": "merged",
    "no_change": "done, no change needed",
    "failed": "failed",
    "cancelled": "cancelled",
}

# The hidden execution record at the end of the section (bot.features.execution.render).
RUN_BLOCK = "<!-- techlead:run v{format} {payload} -->"
RUN_STATE_VERSION = "run state format v{found} is newer than this TechLead understands (v{known})"
