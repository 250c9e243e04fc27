"""Text the research agents write into their notes and degradation reasons."""

from __future__ import annotations

SECURITY = {
    "secrets": "a credential-looking value is assigned in code",
    "shell_true": "runs a shell command (shell=True): check nothing untrusted reaches it",
    "shell": "runs external processes",
    "eval": "evaluates dynamic code (eval/exec)",
    "deserialisation": "deserialises data in an unsafe format: never on untrusted input",
    "sql_strings": "SQL built from strings: make sure it is parameterised",
    "sql": "raw SQL",
    "weak_crypto": "weak hash or cipher mode (MD5, SHA-1, ECB)",
    "crypto": "cryptography, hashing or token generation",
    "auth": "authentication or authorisation logic",
    "payments": "payment or billing code",
    "workflow": "CI workflow: runs with repository secrets; a person must review changes",
    "pull_request_target": "pull_request_target runs with secrets on fork pull requests",
    "workflow_injection": "event data interpolated into the workflow: script injection risk",
}

PERFORMANCE = {
    "query": "database query",
    "n_plus_one": "database query inside a loop (N+1 pattern?)",
    "io_in_loop": "I/O inside a loop",
    "sleep": "sleeps inside a loop",
    "nested_loop": "nested loop on a possibly hot path",
    "cached": "memoised function: a hot path worth keeping fast",
}

NOT_A_DIRECTORY = "research: {root} is not a directory"

DEGRADED = {
    "timeout": "did not finish within its {budget:g} s budget",
    "error": "failed: {error}",
}

# Why a file is among the relevant ones, as the plan's research section shows it.
RELEVANCE = {
    "named": "named in the issue",
    "traceback": "in the issue's traceback",
    "module": "the issue names {name}",
    "defines": "defines `{name}`",
    "route": "serves `{route}`",
    "quotes": "holds the text the issue quotes",
    "words": "shares the issue's words",
}

SKIPPED = (
    "the worktree has {total} files; researched {limit}: files named like the issue first, "
    "then source and docs, shallowest first; skipped {skipped}, mostly in {dirs}"
)
