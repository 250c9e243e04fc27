"""What reviewers say to people: every comment's words, in one place."""

from __future__ import annotations

from typing import Final

# ------------------------------------------------------------------------- code review
LINT_TITLE: Final = "{rule}: {message}"
LINT_BODY: Final = "{message}{more}"
LINT_FIX: Final = "Suggested fix ({description}):"
COMPLEXITY_TITLE: Final = "`{name}` has a cyclomatic complexity of {score} (limit {limit})"
COMPLEXITY_BODY: Final = (
    "{was}Branches this deep are hard to test and review. Split out the cases into "
    "helpers, return early, or replace a chain of `if`s with a table."
)
COMPLEXITY_WAS: Final = "It was {before} before this change. "
LONG_TITLE: Final = "`{name}` is {length} lines long (limit {limit})"
LONG_BODY: Final = (
    "{was}A function this long usually does several things. Extract the steps into "
    "named helpers so each can be read and tested on its own."
)
LONG_WAS: Final = "It was {before} lines before this change. "
BROAD_EXCEPT_TITLE: Final = "`{clause}` catches everything, including bugs"
BROAD_EXCEPT_BODY: Final = (
    "Catching `{caught}` hides programming errors (a typo becomes a silent failure) and, "
    "for a bare `except:`, also `KeyboardInterrupt` and `SystemExit`. Catch the "
    "exceptions this code expects, or log and re-raise."
)
DEBUG_TITLE: Final = "Debugging call `{call}` left in"
DEBUG_BODY: Final = (
    "`{call}` in library code {effect}. Remove it, or use `logging` if the output is meant to stay."
)
DEBUG_EFFECTS: Final = {
    "print": "writes to the standard output of whoever imports it",
    "breakpoint": "stops the program and waits for a debugger",
    "set_trace": "stops the program and waits for a debugger",
}
TODO_TITLE: Final = "New {tag}: {text}"
TODO_BODY: Final = (
    "A {tag} added in a pull request is easily forgotten. Open an issue for it and "
    "link it here (`# {tag}(#123): ...`), or do it now."
)
NO_TESTS_TITLE: Final = "Source changed, tests did not"
NO_TESTS_BODY: Final = (
    "This pull request changes {count} source file(s) ({files}) but no test file. "
    "Add or update a test that fails without this change."
)

# ---------------------------------------------------------------------------- security
SECURITY_TITLE: Final = "{rule}: {message}"
SECURITY_BODY: Final = "**What.** {message}\n\n**Why it matters.** {why}\n\n**How to fix.** {how}"
SECURITY_LINKS: Final = "\n\n{links}"
GENERIC_WHY: Final = "Code like this is a common way in for attackers."
GENERIC_HOW: Final = "Follow the linked guidance, or explain in a reply why this use is safe."
CREDENTIAL_TITLE: Final = "A credential is committed here"
CREDENTIAL_BODY: Final = (
    "**What.** {message}\n\n**Why it matters.** Anyone who can read this repository, "
    "or its history, can use it; removing it in a later commit does not take it back."
    "\n\n**How to fix.** Revoke or rotate it now, then load it from the environment or "
    "a secret store (GitHub Actions secrets, a vault) instead of the code."
)
WORKFLOW_TITLE: Final = "Risky workflow pattern: {what}"
DEPENDENCY_TITLE: Final = "Risky dependency: {what}"

# --------------------------------------------------------------------------------- docs
DOCSTRING_TITLE: Final = "New public {kind} `{name}` has no docstring"
DOCSTRING_BODY: Final = (
    "Public {kind}s are what other people read first. Say in one line what it does "
    "(and, if not obvious, what it returns or raises)."
)
DOCSTRING_STUB: Final = '"""{summary}."""'
DOCSTRING_SUMMARY: Final = {
    "function": "Describe what {name} does",
    "class": "Describe {name}",
    "endpoint": "Describe what this endpoint does and returns",
}
API_DOCS_TITLE: Final = "Public API changed without documentation"
API_DOCS_BODY: Final = (
    "This pull request changes public functions or classes ({names}) but no README, "
    "CHANGELOG or docs/ file. This repository asks for documentation with API changes "
    "(`reviews.docs_required`)."
)
LINK_TITLE: Final = "Broken link: `{target}`"
LINK_BODY: Final = "{reason} Fix the path, or drop the link."
LINK_NO_FILE: Final = "`{path}` does not exist in this pull request's head."
LINK_NO_ANCHOR: Final = "`{path}` has no heading that makes the anchor `#{anchor}`."

# ----------------------------------------------------------------------------- reviews
MARKER: Final = "<!-- techlead:review stream={stream} rule={rule} fp={fingerprint} -->"
SUMMARY_MARKER: Final = "<!-- techlead:review-summary -->"
COMMENT: Final = "**{title}**\n\n{body}{suggestion}\n\n{marker}"
SUGGESTION: Final = "\n\n{block}"
SUGGESTION_AS_TEXT: Final = "\n\nSuggested replacement for lines {start}-{end}:\n\n{block}"
REVIEW_BODY: Final = "**TechLead {heading}** on {sha}: {counts}.{more}{elsewhere}"
REVIEW_CLEAN: Final = "**TechLead {heading}** on {sha}: nothing new to say."
REVIEW_MORE: Final = "\n\n{count} more finding(s), most severe first, not posted inline:\n\n{items}"
REVIEW_ELSEWHERE: Final = "\n\nOn lines this pull request does not change:\n\n{items}"
REVIEW_ITEM: Final = "- `{path}{where}` {title}"
FIXED_REPLY: Final = "Fixed in {sha}. {marker}"
FIXED_MARKER: Final = "<!-- techlead:review-fixed fp={fingerprint} -->"

# ------------------------------------------------------------------- refine, explain, ignore
REFINE_COMMIT: Final = "Apply {count} suggested fix(es) from TechLead's review"
REFINE_DONE: Final = "Applied {count} suggested fix(es) in {sha}:\n\n{items}"
REFINE_ITEM: Final = "- `{path}:{line}` {title}"
REFINE_NOTHING: Final = "Nothing to apply: no open review comment on this head has a suggested fix."
REFINE_NOT_OURS: Final = (
    "This pull request comes from a fork whose author does not allow edits by "
    'maintainers, so TechLead cannot push there. Tick "Allow edits by maintainers" '
    'and ask again, or apply the suggestions with "Commit suggestion" on each comment.'
)
REFINE_MOVED: Final = "The branch moved while I worked ({sha}); ask again on the new head."
NOT_ALLOWED: Final = "@{login} `/techlead {command}` needs {required} access to this repository."
NOT_OUR_THREAD: Final = "`/techlead {command}` works in a thread TechLead started."
EXPLAIN: Final = "**{rule}**: {rationale}{reference}"
EXPLAIN_REFERENCE: Final = "\n\nReference: {url}"
IGNORED: Final = (
    "Recorded as reviewed by @{login} in `{file}` on this branch ({sha}): "
    '"{reason}". TechLead will not raise it again.'
)
IGNORE_NEEDS_REASON: Final = "Say why: `/techlead ignore <reason>` (the reason is kept with it)."
RULES: Final = {
    "complexity": "Cyclomatic complexity counts the paths through a function. Each path "
    "needs a test and a reader's attention; past about ten, functions are where bugs hide "
    "and changes break things far away.",
    "long-function": "A long function usually does several things at once. Named helpers "
    "document the steps, can be tested alone and keep each change small.",
    "broad-except": "`except Exception` (or a bare `except:`) also catches the errors you "
    "did not think of: typos, wrong types, a bug in a helper. They then fail silently.",
    "debug-print": "Library code that prints writes into whatever program imports it. "
    "`logging` lets the program decide what to show.",
    "debug-breakpoint": "`breakpoint()` stops the program and waits for a debugger that "
    "is not there in production.",
    "debug-set_trace": "`pdb.set_trace()` stops the program and waits for a debugger "
    "that is not there in production.",
    "todo": "A TODO added in a pull request has no owner and no date; an issue has both.",
    "no-tests": "A change without a test can break again unnoticed; a test that fails "
    "without the change proves it and keeps it working.",
    "missing-docstring": "Public names are what other people call; a one-line docstring "
    "says what to expect without reading the code.",
    "api-without-docs": "This repository asks for docs with API changes so that users "
    "learn about them from the changelog, not from a broken build.",
    "broken-link": "A broken link in the docs is a dead end for the reader who followed it.",
    "script-injection": "GitHub expands `${{ }}` before the shell runs, so text anyone "
    "can write becomes part of the script.",
    "pull-request-target": "`pull_request_target` runs with secrets on forks' pull requests.",
    "write-all": "A job's token should hold only the scopes the job needs.",
    "pipe-to-shell": "A script piped into a shell runs whatever the server sends that day.",
    "url-dependency": "Code installed from a URL has no release, no hash and no review.",
    "package-index": "A second index can serve a package with the same name as yours.",
    "unpinned": "An unpinned dependency installs whatever is newest, compromised or not.",
}
GENERIC_RATIONALE: Final = "See the comment above for what was found and how to fix it."
