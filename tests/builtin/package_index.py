"""A PEP 503 package index on 127.0.0.1 serving small wheels built in the test."""

from __future__ import annotations

import threading
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Requests are not logged: the tests assert on files, not on traffic."""


def build_index(root: Path, packages: Mapping[str, Mapping[str, Sequence[str]]]) -> Path:
    """``{name: {version: [requirement, ...]}}`` as wheels and a simple index under ``root``."""
    for name, versions in packages.items():
        for version, requires in versions.items():
            _wheel(root / "files", name, version, requires)
        page = root / "simple" / name / "index.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        wheels = sorted((root / "files").glob(f"{name.replace('-', '_')}-*.whl"))
        links = "".join(f'<a href="../../files/{w.name}">{w.name}</a><br>\n' for w in wheels)
        page.write_text(f"<!DOCTYPE html><html><body>\n{links}</body></html>\n")
    return root


def _wheel(folder: Path, name: str, version: str, requires: Sequence[str]) -> None:
    module = name.replace("-", "_")
    folder.mkdir(parents=True, exist_ok=True)
    info = f"{module}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    metadata += "".join(f"Requires-Dist: {requirement}\n" for requirement in requires)
    wheel = "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    with zipfile.ZipFile(folder / f"{module}-{version}-py3-none-any.whl", "w") as archive:
        archive.writestr(f"{module}/__init__.py", "")
        archive.writestr(f"{info}/METADATA", metadata)
        archive.writestr(f"{info}/WHEEL", wheel)
        archive.writestr(f"{info}/RECORD", "")


@contextmanager
def serve(root: Path) -> Iterator[str]:
    """Serve ``root`` on a free port; yields the index URL (``.../simple``)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/simple"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
