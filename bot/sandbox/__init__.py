"""A local, stateful stand-in for GitHub's REST API, checked against GitHub's own description.

The real PyGithub client talks to it over HTTP exactly as to GitHub Enterprise
(``base_url=http://127.0.0.1:PORT/api/v3``). It is a separate program: it imports
nothing from ``bot`` but ``bot.errors``, and drives real bare git repositories with
the ``git`` CLI.

Using it::

    sandbox = Sandbox(data_dir, clock=ManualClock(), strict=True)
    owner = sandbox.create_user("mona")                      # .token is a ghp_ token
    app = sandbox.create_app("mona", "techlead")             # .private_key_pem generated
    repo = sandbox.create_repo("mona", "site", source=Path("checkout/"))
    inst = sandbox.install_app(app.id, "mona", permissions={"issues": "write"})
    with ServerThread(sandbox) as url:                       # bot.sandbox.server
        ...                                                  # PyGithub at f"{url}/api/v3"

The same scripting is available over HTTP under ``/_sandbox`` (:mod:`.admin`) and
from ``techlead sandbox --seed``. Faults (``sandbox.faults``), rate budgets
(``sandbox.set_rate_limit``) and time (``ManualClock.advance``) are scripted the same way.

How a request is served (:mod:`.dispatch`): injected faults, the operation of
rest-api.json it matches (404 otherwise, :mod:`.conformance`), the caller
(:mod:`.auth`: personal token, App JWT, installation token), its rate budget
(:mod:`.ratelimit`), repository visibility and the permission table
(:mod:`.permissions`), parameter and body validation (422 in GitHub's words), the
handler, ETag/304, then response validation (strict mode records
:class:`~bot.sandbox.conformance.Violation` s; the test fixture fails on them).

Extension points
----------------
*Adding a resource module.* Create ``bot/sandbox/<noun>.py`` with
``router = Router()`` (:mod:`.routing`) and handlers declared with the path template
exactly as rest-api.json spells it::

    @router.get("/repos/{owner}/{repo}/pulls/{pull_number}")
    def get_pull(ctx: Ctx) -> dict[str, Any]: ...

then append the module to ``RESOURCE_MODULES`` in :mod:`.app` (the one list).
Composition fails if a template is not a documented operation. Handlers run under
``state.lock`` and receive a :class:`~bot.sandbox.routing.Ctx`: ``ctx.repo`` (already
resolved and authorised), typed ``ctx.params``/``ctx.query``, the validated
``ctx.body``, ``ctx.actor`` (the person, or the App's bot user), ``ctx.app_id``,
``ctx.urls``, ``ctx.paginate(items, render, wrap=None)``. Return a dict/list (200) or a
:class:`~bot.sandbox.protocol.Reply` (``created(body)`` for 201, ``no_content()``);
raise :class:`~bot.sandbox.protocol.ApiError` for errors. Give every new operation a
row in :data:`.permissions.APP_PERMISSIONS` (a test insists). A module may also define
``install(sandbox)`` (called once: subscribe to events, publish a service in
``sandbox.services``) and ``asgi_routes(sandbox)`` (raw Starlette routes outside
/api/v3, e.g. git's smart HTTP). Per-repository data of a new module lives in
``repo.extensions[<module>]``; global data in ``state.extensions``. Issues and pull
requests share ``repo.allocate_number()``; ``Issue.pull_request`` marks an issue that
is a pull request.

*The emit hook.* Every change GitHub would turn into a webhook calls
``ctx.emit(event, action, payload)`` (or ``state.emit(..., repo=, sender=)``). The
payload is the event's own part (``{"issue": ...}``) or a function of
:class:`~bot.sandbox.builders.Urls` building it at delivery time. Events are appended to
``state.events`` and passed to every ``state.subscribe(listener)``;
:func:`.builders.event_payload` renders the full body (action, repository, sender,
installation). The webhook target given by ``--webhook-url/--webhook-secret`` is in
``state.webhook``.

*Payload builders.* Every GitHub object (user, repository, issue, label, comment,
reaction, App, installation, check run/suite, status, git objects, contents) is built
in :mod:`.builders` only, complete enough to satisfy the description's schemas.
"""

from __future__ import annotations

from bot.sandbox.clock import Clock, ManualClock, SystemClock
from bot.sandbox.sandbox import Sandbox

__all__ = ["Clock", "ManualClock", "Sandbox", "SystemClock"]
