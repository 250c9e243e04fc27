"""Which App permission and which repository role each operation needs.

The App side follows GitHub's "Permissions required for GitHub Apps":
https://docs.github.com/en/rest/authentication/permissions-required-for-github-apps
Keys are the ``operationId`` of rest-api.json, so every row names a documented
operation (a test checks that, and that every repository operation has a row).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from bot.sandbox.state import Role


class Level(enum.StrEnum):
    READ = "read"
    WRITE = "write"

    def granted_by(self, granted: str | None) -> bool:
        if granted is None:
            return False
        return granted == "write" or (granted == "read" and self is Level.READ)


@dataclass(frozen=True)
class Need:
    """Any one of ``options`` (permission, level) lets an installation token through."""

    options: tuple[tuple[str, Level], ...]

    def granted(self, permissions: dict[str, str]) -> bool:
        return any(level.granted_by(permissions.get(name)) for name, level in self.options)


def _need(*pairs: str) -> Need:
    options = []
    for pair in pairs:
        name, _, level = pair.partition(":")
        options.append((name, Level(level)))
    return Need(tuple(options))


R, W = "read", "write"
ISSUES_R, ISSUES_W = (
    _need("issues:read", "pull_requests:read"),
    _need("issues:write", "pull_requests:write"),
)
PULLS_R, PULLS_W = _need("pull_requests:read"), _need("pull_requests:write")
CONTENTS_R, CONTENTS_W = _need("contents:read"), _need("contents:write")
CHECKS_R, CHECKS_W = _need("checks:read"), _need("checks:write")
STATUSES_R, STATUSES_W = _need("statuses:read"), _need("statuses:write")
METADATA_R = _need("metadata:read")
ADMIN_W = _need("administration:write")
HOOKS_R, HOOKS_W = _need("repository_hooks:read"), _need("repository_hooks:write")
ACTIONS_R, ACTIONS_W = _need("actions:read"), _need("actions:write")

APP_PERMISSIONS: dict[str, Need] = {
    # metadata
    "repos/get": METADATA_R,
    "repos/list-branches": METADATA_R,
    "repos/get-branch": METADATA_R,
    "repos/list-collaborators": METADATA_R,
    "repos/list-forks": METADATA_R,
    "repos/check-collaborator": METADATA_R,
    "repos/get-collaborator-permission-level": METADATA_R,
    "issues/list-assignees": METADATA_R,
    "issues/check-user-can-be-assigned": METADATA_R,
    # administration
    "repos/update": ADMIN_W,
    "repos/delete": ADMIN_W,
    "repos/add-collaborator": ADMIN_W,
    "repos/remove-collaborator": ADMIN_W,
    # https://docs.github.com/en/rest/repos/forks#create-a-fork
    "repos/create-fork": ADMIN_W,
    # issues (also reachable with pull_requests for issues that are pull requests)
    "issues/list-for-repo": ISSUES_R,
    "issues/get": ISSUES_R,
    "issues/create": ISSUES_W,
    "issues/update": ISSUES_W,
    "issues/lock": ISSUES_W,
    "issues/unlock": ISSUES_W,
    "issues/add-assignees": ISSUES_W,
    "issues/remove-assignees": ISSUES_W,
    "issues/check-user-can-be-assigned-to-issue": ISSUES_R,
    "issues/list-comments": ISSUES_R,
    "issues/list-comments-for-repo": ISSUES_R,
    "issues/get-comment": ISSUES_R,
    "issues/create-comment": ISSUES_W,
    "issues/update-comment": ISSUES_W,
    "issues/delete-comment": ISSUES_W,
    "issues/pin-comment": ISSUES_W,
    "issues/unpin-comment": ISSUES_W,
    "issues/list-events": ISSUES_R,
    "issues/list-events-for-repo": ISSUES_R,
    "issues/get-event": ISSUES_R,
    "issues/list-events-for-timeline": ISSUES_R,
    "issues/list-labels-for-repo": ISSUES_R,
    "issues/get-label": ISSUES_R,
    "issues/create-label": ISSUES_W,
    "issues/update-label": ISSUES_W,
    "issues/delete-label": ISSUES_W,
    "issues/list-labels-on-issue": ISSUES_R,
    "issues/add-labels": ISSUES_W,
    "issues/set-labels": ISSUES_W,
    "issues/remove-label": ISSUES_W,
    "issues/remove-all-labels": ISSUES_W,
    "issues/list-sub-issues": ISSUES_R,
    "issues/add-sub-issue": ISSUES_W,
    "issues/remove-sub-issue": ISSUES_W,
    "issues/reprioritize-sub-issue": ISSUES_W,
    "issues/get-parent": ISSUES_R,
    "issues/list-dependencies-blocked-by": ISSUES_R,
    "issues/list-dependencies-blocking": ISSUES_R,
    "issues/add-blocked-by-dependency": ISSUES_W,
    "issues/remove-dependency-blocked-by": ISSUES_W,
    "issues/list-issue-field-values-for-issue": ISSUES_R,
    "issues/add-issue-field-values": ISSUES_W,
    "issues/set-issue-field-values": ISSUES_W,
    "issues/delete-issue-field-value": ISSUES_W,
    "issues/list-suggestions": ISSUES_R,
    "issues/approve-suggestion": ISSUES_W,
    "issues/dismiss-suggestion": ISSUES_W,
    "reactions/list-for-issue": ISSUES_R,
    "reactions/create-for-issue": ISSUES_W,
    "reactions/delete-for-issue": ISSUES_W,
    "reactions/list-for-issue-comment": ISSUES_R,
    "reactions/create-for-issue-comment": ISSUES_W,
    "reactions/delete-for-issue-comment": ISSUES_W,
    # pull requests
    "pulls/list": PULLS_R,
    "pulls/get": PULLS_R,
    "pulls/create": PULLS_W,
    "pulls/update": PULLS_W,
    "pulls/list-commits": PULLS_R,
    "pulls/list-files": PULLS_R,
    "pulls/check-if-merged": PULLS_R,
    "pulls/merge": CONTENTS_W,
    "pulls/merge-async": CONTENTS_W,
    "pulls/get-merge-async-result": PULLS_R,
    "pulls/update-branch": PULLS_W,
    "pulls/list-requested-reviewers": PULLS_R,
    "pulls/request-reviewers": PULLS_W,
    "pulls/remove-requested-reviewers": PULLS_W,
    "pulls/list-reviews": PULLS_R,
    "pulls/get-review": PULLS_R,
    "pulls/create-review": PULLS_W,
    "pulls/update-review": PULLS_W,
    "pulls/delete-pending-review": PULLS_W,
    "pulls/submit-review": PULLS_W,
    "pulls/dismiss-review": PULLS_W,
    "pulls/list-comments-for-review": PULLS_R,
    "pulls/list-review-comments": PULLS_R,
    "pulls/list-review-comments-for-repo": PULLS_R,
    "pulls/get-review-comment": PULLS_R,
    "pulls/create-review-comment": PULLS_W,
    "pulls/create-reply-for-review-comment": PULLS_W,
    "pulls/update-review-comment": PULLS_W,
    "pulls/delete-review-comment": PULLS_W,
    "reactions/list-for-pull-request-review-comment": PULLS_R,
    "reactions/create-for-pull-request-review-comment": PULLS_W,
    "reactions/delete-for-pull-request-comment": PULLS_W,
    "codespaces/create-with-pr-for-authenticated-user": _need("codespaces:write"),
    # contents and git data
    "repos/get-content": CONTENTS_R,
    "repos/create-or-update-file-contents": CONTENTS_W,
    "repos/delete-file": CONTENTS_W,
    "repos/get-commit": CONTENTS_R,
    "repos/compare-commits": CONTENTS_R,
    "repos/compare-commits-with-basehead": CONTENTS_R,
    "repos/merge": CONTENTS_W,
    "repos/create-dispatch-event": CONTENTS_W,
    "git/get-ref": CONTENTS_R,
    "git/list-matching-refs": CONTENTS_R,
    "git/create-ref": CONTENTS_W,
    "git/update-ref": CONTENTS_W,
    "git/delete-ref": CONTENTS_W,
    "git/get-commit": CONTENTS_R,
    "git/create-commit": CONTENTS_W,
    "git/get-tree": CONTENTS_R,
    "git/create-tree": CONTENTS_W,
    "git/get-blob": CONTENTS_R,
    "git/create-blob": CONTENTS_W,
    # commit statuses
    "repos/create-commit-status": STATUSES_W,
    "repos/list-commit-statuses-for-ref": STATUSES_R,
    "repos/get-combined-status-for-ref": STATUSES_R,
    # checks
    "checks/create": CHECKS_W,
    "checks/update": CHECKS_W,
    "checks/get": CHECKS_R,
    "checks/list-annotations": CHECKS_R,
    "checks/list-for-ref": CHECKS_R,
    "checks/list-for-suite": CHECKS_R,
    "checks/rerequest-run": CHECKS_W,
    "checks/create-suite": CHECKS_W,
    "checks/get-suite": CHECKS_R,
    "checks/list-suites-for-ref": CHECKS_R,
    "checks/rerequest-suite": CHECKS_W,
    "checks/set-suites-preferences": CHECKS_W,
    # repository webhooks
    "repos/list-webhooks": HOOKS_R,
    "repos/get-webhook": HOOKS_R,
    "repos/create-webhook": HOOKS_W,
    "repos/update-webhook": HOOKS_W,
    "repos/delete-webhook": HOOKS_W,
    "repos/get-webhook-config-for-repo": HOOKS_R,
    "repos/update-webhook-config-for-repo": HOOKS_W,
    "repos/list-webhook-deliveries": HOOKS_R,
    "repos/get-webhook-delivery": HOOKS_R,
    "repos/redeliver-webhook-delivery": HOOKS_W,
    "repos/ping-webhook": HOOKS_R,
    "repos/test-push-webhook": HOOKS_R,
    # actions
    "actions/list-repo-workflows": ACTIONS_R,
    "actions/get-workflow": ACTIONS_R,
    "actions/get-workflow-usage": ACTIONS_R,
    "actions/list-workflow-runs": ACTIONS_R,
    "actions/create-workflow-dispatch": ACTIONS_W,
    "actions/enable-workflow": ACTIONS_W,
    "actions/disable-workflow": ACTIONS_W,
}

# Only GitHub Apps may write checks; a person's token answers 403.
# https://docs.github.com/en/rest/checks/runs#create-a-check-run
APP_ONLY: frozenset[str] = frozenset(
    {
        "checks/create",
        "checks/update",
        "checks/create-suite",
        "checks/rerequest-run",
        "checks/rerequest-suite",
        "checks/set-suites-preferences",
    }
)

# The role a person needs where it differs from "read for GET, write otherwise".
# Anyone who can read a repository may open issues, comment and react; editing
# other people's issues and labels takes triage; collaborators and settings take admin.
USER_ROLES: dict[str, Role] = {
    "issues/create": Role.READ,
    "issues/update": Role.READ,  # the author may edit; others need triage (checked in handler)
    "issues/create-comment": Role.READ,
    "issues/update-comment": Role.READ,  # author or triage (checked in handler)
    "issues/delete-comment": Role.READ,  # author or triage (checked in handler)
    "reactions/create-for-issue": Role.READ,
    "reactions/delete-for-issue": Role.READ,
    "reactions/create-for-issue-comment": Role.READ,
    "reactions/delete-for-issue-comment": Role.READ,
    "reactions/create-for-pull-request-review-comment": Role.READ,
    "reactions/delete-for-pull-request-comment": Role.READ,
    "pulls/create": Role.READ,
    "repos/create-fork": Role.READ,
    "pulls/create-review": Role.READ,
    "pulls/submit-review": Role.READ,
    "pulls/create-review-comment": Role.READ,
    "pulls/create-reply-for-review-comment": Role.READ,
    "issues/add-labels": Role.TRIAGE,
    "issues/set-labels": Role.TRIAGE,
    "issues/remove-label": Role.TRIAGE,
    "issues/remove-all-labels": Role.TRIAGE,
    "issues/add-assignees": Role.TRIAGE,
    "issues/remove-assignees": Role.TRIAGE,
    "issues/lock": Role.TRIAGE,
    "issues/unlock": Role.TRIAGE,
    "repos/update": Role.ADMIN,
    "repos/delete": Role.ADMIN,
    "repos/add-collaborator": Role.ADMIN,
    "repos/remove-collaborator": Role.ADMIN,
    "repos/list-collaborators": Role.WRITE,
    "repos/list-webhooks": Role.ADMIN,
    "repos/get-webhook": Role.ADMIN,
    "repos/create-webhook": Role.ADMIN,
    "repos/update-webhook": Role.ADMIN,
    "repos/delete-webhook": Role.ADMIN,
}


def user_role_needed(operation_id: str, method: str) -> Role:
    if operation_id in USER_ROLES:
        return USER_ROLES[operation_id]
    return Role.READ if method == "GET" else Role.WRITE
