"""The repository's issue templates, read from the default branch, are never planned."""

from __future__ import annotations

import base64

from tests.planning.conftest import Project

TEMPLATE = """---
name: Bug report
about: Something does not work
---
### Steps to reproduce the behaviour

- [ ] I ran the latest release of the shop
- [ ] I attached the shop's log file

### What you expected
"""
BODY = """### Steps to reproduce the behaviour

- [ ] I ran the latest release of the shop
- [x] I attached the shop's log file

Coupons are applied twice at checkout.

- [ ] Stop applying a coupon twice in the cart total
- [ ] Add a regression test for coupons applied twice

### What you expected
"""


def test_template_lines_in_an_issue_are_not_tasks(project: Project) -> None:
    content = base64.b64encode(TEMPLATE.encode()).decode()
    project.owner.call(
        "PUT",
        f"/repos/{project.name}/contents/.github/ISSUE_TEMPLATE/bug_report.md",
        {"message": "Bug template", "content": content},
    )
    issue = project.planned_issue(body=BODY)

    titles = [task.title for task in project.shown_plan(issue).tasks]
    assert "Stop applying a coupon twice in the cart total" in titles
    assert not any("latest release" in title or "log file" in title for title in titles)
