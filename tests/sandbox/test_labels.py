"""Repository labels and the labels on an issue."""

from __future__ import annotations

import github
import pytest

from tests.conftest import World

pytestmark = pytest.mark.sandbox


def test_label_crud(world: World) -> None:
    repo = world.user_gh.get_repo(world.repo.full_name)
    label = repo.create_label("needs-plan", "ff0000", "Waiting for a plan")
    label.edit("planned", "00ff00", "Has a plan")

    labels = {item.name: item for item in repo.get_labels()}
    assert set(labels) == {"planned"}
    assert labels["planned"].color == "00ff00"
    assert labels["planned"].description == "Has a plan"
    repo.get_label("planned").delete()
    assert list(repo.get_labels()) == []


def test_duplicate_label_is_rejected(world: World) -> None:
    repo = world.user_gh.get_repo(world.repo.full_name)
    repo.create_label("bug", "ff0000")
    with pytest.raises(github.GithubException) as caught:
        repo.create_label("BUG", "00ff00")
    assert caught.value.status == 422
    assert caught.value.data["errors"][0]["code"] == "already_exists"


def test_issue_labels_add_set_remove(world: World) -> None:
    repo = world.app_gh.get_repo(world.repo.full_name)
    issue = repo.create_issue("Labels")
    issue.add_to_labels("a", "b")
    issue.remove_from_labels("a")
    assert [label.name for label in issue.get_labels()] == ["b"]
    issue.set_labels("c", "d")
    assert sorted(label.name for label in repo.get_issue(issue.number).labels) == ["c", "d"]
    issue.delete_labels()
    assert list(repo.get_issue(issue.number).get_labels()) == []
    with pytest.raises(github.GithubException) as caught:
        issue.remove_from_labels("zzz")
    assert (caught.value.status, caught.value.data["message"]) == (404, "Label does not exist")
