"""The sandbox of the Actions tests (with the ``github-actions`` App) and a fresh repository."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.demo import Person
from bot.sandbox import Sandbox
from tests.action.workflow import FILES, Repo
from tests.conftest import unique
from tests.support.techlead import served_sandbox


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with served_sandbox(tmp_path_factory.mktemp("action-sandbox")) as served:
        owner = served.create_user("actions-owner")
        served.create_app(owner.login, "github-actions", name="GitHub Actions")
        yield served


@pytest.fixture
def repo(sandbox: Sandbox) -> Iterator[Repo]:
    user = sandbox.create_user(unique("maintainer"), name="Maintainer")
    made = sandbox.create_repo(user.login, unique("shop"), files=dict(FILES))
    app = next(app for app in sandbox.state.apps.values() if app.slug == "github-actions")
    person = Person(sandbox.api_url, user.login, user.token)
    yield Repo(sandbox, made.full_name, person, app.id)
    person.close()
