"""``techlead sandbox``: run the local GitHub stand-in (REST API under /api/v3, plus git)."""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bot.errors import SandboxError

HELP = "run a local, stateful GitHub stand-in (REST API + git)"
DEFAULT_PORT = 8787
DEMO_OWNER = "octo-owner"
DEMO_APP = "techlead-demo"
DEMO_REPO = "demo-project"
DEMO_FILES = {
    "README.md": "# Demo project\n\nA repository served by the TechLead GitHub sandbox.\n",
    "app.py": 'def greet(name: str) -> str:\n    return f"Hello, {name}!"\n',
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port on 127.0.0.1")
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="where git repositories live (default: temp)"
    )
    parser.add_argument("--webhook-url", default=None, help="where webhook deliveries go")
    parser.add_argument("--webhook-secret", default=None, help="HMAC secret for deliveries")
    parser.add_argument(
        "--seed",
        action="store_true",
        help="create a demo user, App, installation and repository; print them as JSON",
    )
    parser.add_argument(
        "--lenient",
        action="store_true",
        help="do not record responses that break GitHub's REST API description",
    )


def run(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    from bot.sandbox import ManualClock, Sandbox
    from bot.sandbox.server import serve

    if bool(args.webhook_url) != bool(args.webhook_secret):
        raise SandboxError("--webhook-url and --webhook-secret go together")
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="techlead-sandbox-"))
    sandbox = Sandbox(data_dir, clock=ManualClock(), strict=not args.lenient, env=env)
    if args.webhook_url:
        sandbox.set_webhook(args.webhook_url, args.webhook_secret)
    base = f"http://127.0.0.1:{args.port}"
    sandbox.base_url = base
    print(f"GitHub sandbox API: {base}/api/v3  (data in {data_dir})", flush=True)
    if args.seed:
        print(json.dumps(seed(sandbox), indent=2), flush=True)
    serve(sandbox, port=args.port)
    return 0


def seed(sandbox: Any) -> dict[str, Any]:
    """A user, an App installed on a demo repository, and everything needed to script them."""
    user = sandbox.create_user(DEMO_OWNER, name="Demo Owner")
    app = sandbox.create_app(user.login, DEMO_APP, name="TechLead (demo)")
    repo = sandbox.create_repo(user.login, DEMO_REPO, files=DEMO_FILES)
    installation = sandbox.install_app(app.id, user.login)
    return {
        "api_url": sandbox.api_url,
        "user": {"login": user.login, "token": user.token},
        "app": {
            "id": app.id,
            "slug": app.slug,
            "client_id": app.client_id,
            "bot_login": app.bot_login,
            "private_key_pem": app.private_key_pem,
        },
        "installation": {"id": installation.id},
        "repository": {
            "full_name": repo.full_name,
            "default_branch": repo.default_branch,
            "head_sha": repo.head_sha,
        },
    }
