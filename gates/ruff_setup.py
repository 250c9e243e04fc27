"""How L1 runs ruff on a repository: which ruff, and with which settings.

- A repository that pins ruff (``.pre-commit-config.yaml``, ``pyproject.toml``
  dependencies, ``requirements*.txt``) gets that version, installed once with pip into
  a per-version cache directory; when it cannot be installed, TechLead's own ruff runs
  and the check says so.
- A repository with a ruff configuration gets it, as it is.
- A repository without one gets a low-noise set (pyflakes' F rules and E9, code that
  cannot run) with its flake8 settings (``[flake8]`` in ``setup.cfg``, ``tox.ini`` or
  ``.flake8``) applied, and no format check.
"""

from __future__ import annotations

import configparser
import contextlib
import importlib.metadata
import os
import re
import shutil
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from bot.errors import ToolFailed, ToolTimeout
from gates import templates
from gates.tools import ToolRunner, tool_command

RUFF_CONFIG_FILES = ("ruff.toml", ".ruff.toml")
FLAKE8_FILES = (".flake8", "setup.cfg", "tox.ini")
PRE_COMMIT_FILE = ".pre-commit-config.yaml"
REQUIREMENT_GLOBS = ("requirements*.txt", "requirements/*.txt", "*requirements*.txt")
# Rules that find bugs, never style: pyflakes and "this code cannot run".
MINIMAL_RULES = ("F", "E9")
INSTALL_TIMEOUT_SECONDS = 90.0
# After a failed install, the next attempt waits this long.
RETRY_SECONDS = 3600.0
# The first ruff with "check --output-format json", "--no-fix" and "format --diff".
OLDEST_DRIVABLE = (0, 1, 2)
CACHE_VARIABLE = "TECHLEAD_TOOL_CACHE"
_VERSION = re.compile(r"^\d+\.\d+\.\d+$")
_PIN = re.compile(r"^\s*ruff\s*===?\s*v?(\d+\.\d+\.\d+)\s*(?:[;#].*)?$", re.IGNORECASE)
_REV = re.compile(r"^\s*rev:\s*['\"]?v?(\d+\.\d+\.\d+)['\"]?\s*(?:#.*)?$")
_REPO = re.compile(r"^\s*-\s*repo:\s*\S*ruff-pre-commit")
_OTHER_REPO = re.compile(r"^\s*-\s*repo:")
_CODES = re.compile(r"[A-Z]+[0-9]*")


@dataclass(frozen=True)
class RuffSetup:
    """The ruff command and options L1 uses for one repository.

    ``command`` starts ruff; ``options`` go after ``check`` (the low-noise settings when
    the repository has no ruff configuration); ``configured`` says whether it has one.
    """

    command: tuple[str, ...]
    version: str
    configured: bool
    options: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


def prepare(
    tools: ToolRunner,
    root: Path,
    paths: Sequence[str],
    env: Mapping[str, str],
    now: Callable[[], float] = time.time,
) -> RuffSetup:
    """The setup for the files ``paths`` of the repository checked out at ``root``."""
    command, version, notes = _executable(tools, root, env, now)
    if has_ruff_config(root, paths):
        return RuffSetup(tuple(command), version, True, notes=tuple(notes))
    source, flake8 = flake8_settings(root)
    used = templates.RUFF_FLAKE8_USED.format(file=source) if source else ""
    notes.append(templates.RUFF_NO_CONFIG.format(flake8=used))
    options = minimal_options(flake8)
    return RuffSetup(tuple(command), version, False, tuple(options), tuple(notes))


# ---------------------------------------------------------------------------- configuration


def has_ruff_config(root: Path, paths: Iterable[str]) -> bool:
    """Whether ruff finds a configuration of the repository for any of ``paths``."""
    folders = {parent for path in paths for parent in PurePosixPath(path).parents}
    return any(_ruff_config_in(root / folder.as_posix()) for folder in folders)


def _ruff_config_in(folder: Path) -> bool:
    if any((folder / name).is_file() for name in RUFF_CONFIG_FILES):
        return True
    tool = read_toml(folder / "pyproject.toml").get("tool")
    return isinstance(tool, dict) and isinstance(tool.get("ruff"), dict)


def read_toml(path: Path) -> dict[str, Any]:
    """``path`` parsed; {} when it is missing or not TOML (ruff reports that itself)."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}


def flake8_settings(root: Path) -> tuple[str, dict[str, str]]:
    """(file, settings): the ``[flake8]`` section of the first file that has one."""
    for name in FLAKE8_FILES:
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read(root / name, encoding="utf-8")
        except (configparser.Error, UnicodeDecodeError):
            continue
        if parser.has_section("flake8"):
            items = parser.items("flake8")
            return name, {key.replace("_", "-"): value for key, value in items}
    return "", {}


def minimal_options(flake8: Mapping[str, str]) -> list[str]:
    """Options for a repository without ruff configuration (its own files ignored)."""
    options = ["--isolated", "--select", ",".join(_selected(flake8.get("select", "")))]
    ignored = [
        code
        for key in ("ignore", "extend-ignore")
        for code in _codes(flake8.get(key, ""))
        if code.startswith(MINIMAL_RULES)
    ]
    if ignored:
        options += ["--ignore", ",".join(ignored)]
    length = flake8.get("max-line-length", "").strip()
    if length.isdigit() and 0 < int(length) <= 320:
        options += ["--line-length", length]
    excluded = [p for key in ("exclude", "extend-exclude") for p in _list(flake8.get(key, ""))]
    if excluded:
        options += ["--extend-exclude", ",".join(excluded)]
    per_file = _per_file_ignores(flake8.get("per-file-ignores", ""))
    if per_file:
        options += ["--config", f"lint.per-file-ignores = {per_file}"]
    return options


def _selected(select: str) -> list[str]:
    """flake8's ``select`` narrowed to the low-noise rules (all of them when unset)."""
    codes = _codes(select)
    if not codes:
        return list(MINIMAL_RULES)
    chosen = [code for code in codes if code.startswith("F")]
    if any("E9".startswith(code) or code.startswith("E9") for code in codes):
        chosen.append("E9")
    return chosen or list(MINIMAL_RULES)


def _codes(text: str) -> list[str]:
    return [code for code in _list(text) if _CODES.fullmatch(code)]


def _list(text: str) -> list[str]:
    items = (item.split("#")[0].strip() for item in re.split(r"[,\s]+", text))
    return [item for item in items if item]


def _per_file_ignores(text: str) -> str:
    """flake8's ``path: CODES`` lines as a TOML inline table ruff reads."""
    pairs: list[str] = []
    for entry in re.split(r"\n|(?<=[A-Z0-9]),?\s+(?=[^\s:,]+:)", text):
        path, _, codes = entry.partition(":")
        kept = [c for c in _codes(codes) if c.startswith(MINIMAL_RULES)]
        if path.strip() and kept and '"' not in path:
            pairs.append(f'"{path.strip()}" = [{", ".join(repr(c) for c in kept)}]')
    return "{" + ", ".join(pairs) + "}" if pairs else ""


# ---------------------------------------------------------------------------- version


def pinned_version(root: Path) -> tuple[str, str] | None:
    """(version, file) when the repository pins one exact ruff version."""
    for reader in (_pre_commit_pin, _pyproject_pin, _requirements_pin):
        found = reader(root)
        if found:
            return found
    return None


def _pre_commit_pin(root: Path) -> tuple[str, str] | None:
    try:
        lines = (root / PRE_COMMIT_FILE).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    inside = False
    for line in lines:
        if _REPO.match(line):
            inside = True
        elif _OTHER_REPO.match(line):
            inside = False
        elif inside and (rev := _REV.match(line)):
            return rev.group(1), PRE_COMMIT_FILE
    return None


def _pyproject_pin(root: Path) -> tuple[str, str] | None:
    data = read_toml(root / "pyproject.toml")
    try:
        requirements = _requirement_strings(data)
    except (AttributeError, TypeError):  # tables of unexpected shapes: no pin to read
        return None
    for requirement in requirements:
        match = _PIN.match(requirement)
        if match:
            return match.group(1), "pyproject.toml"
    return None


def _requirement_strings(data: Mapping[str, Any]) -> list[str]:
    """Every dependency of pyproject.toml as a requirement string."""
    found: list[str] = []
    project = data.get("project", {})
    groups = [project.get("dependencies", []), *project.get("optional-dependencies", {}).values()]
    groups += list(data.get("dependency-groups", {}).values())
    tool = data.get("tool", {})
    groups.append(tool.get("uv", {}).get("dev-dependencies", []))
    groups += list(tool.get("pdm", {}).get("dev-dependencies", {}).values())
    for group in groups:
        found += (
            [item for item in group if isinstance(item, str)] if isinstance(group, list) else []
        )
    poetry = tool.get("poetry", {})
    tables = [poetry.get("dependencies", {}), poetry.get("dev-dependencies", {})]
    tables += [g.get("dependencies", {}) for g in poetry.get("group", {}).values()]
    for table in tables:
        spec = table.get("ruff") if isinstance(table, dict) else None
        if isinstance(spec, str):
            found.append(f"ruff=={spec.lstrip('=')}" if _VERSION.match(spec.lstrip("=")) else "")
    return found


def _requirements_pin(root: Path) -> tuple[str, str] | None:
    seen: set[Path] = set()
    for pattern in REQUIREMENT_GLOBS:
        for path in sorted(root.glob(pattern)):
            if path in seen or not path.is_file():
                continue
            seen.add(path)
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError):
                continue
            for line in lines:
                match = _PIN.match(line)
                if match:
                    return match.group(1), path.relative_to(root).as_posix()
    return None


def own_version(tools: ToolRunner, root: Path) -> str:
    """The version of TechLead's own ruff (from its package, else by asking it)."""
    try:
        return importlib.metadata.version("ruff")
    except importlib.metadata.PackageNotFoundError:
        output = tools.run([*tool_command("ruff"), "--version"], cwd=root)
        return output.stdout.split()[-1] if output.stdout.split() else "?"


def _executable(
    tools: ToolRunner, root: Path, env: Mapping[str, str], now: Callable[[], float]
) -> tuple[list[str], str, list[str]]:
    ours = own_version(tools, root)
    pin = pinned_version(root)
    if pin is None or pin[0] == ours:
        return tool_command("ruff"), ours, []
    version, source = pin
    if _release(version) < OLDEST_DRIVABLE:
        oldest = ".".join(map(str, OLDEST_DRIVABLE))
        note = templates.RUFF_PIN_TOO_OLD.format(
            version=version, source=source, oldest=oldest, ours=ours
        )
        return tool_command("ruff"), ours, [note]
    installed = cache_dir(env) / "ruff" / version / "bin" / "ruff"
    if not installed.exists():
        reason = _install_once(tools, version, installed.parent.parent, root, now)
        if reason:
            note = templates.RUFF_PIN_UNAVAILABLE.format(
                version=version, source=source, reason=reason, ours=ours
            )
            return tool_command("ruff"), ours, [note]
    note = templates.RUFF_PINNED.format(version=version, source=source)
    return [str(installed)], version, [note]


def _release(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def cache_dir(env: Mapping[str, str]) -> Path:
    """Where pinned tool versions are installed (one directory per version)."""
    if env.get(CACHE_VARIABLE):
        return Path(env[CACHE_VARIABLE])
    home = env.get("XDG_CACHE_HOME") or os.path.join(
        env.get("HOME") or tempfile.gettempdir(), ".cache"
    )
    return Path(home) / "techlead" / "tools"


def _install_once(
    tools: ToolRunner, version: str, target: Path, cwd: Path, now: Callable[[], float]
) -> str:
    """:func:`_install`, unless it failed less than RETRY_SECONDS ago (offline, every
    pull request would wait for pip to give up again): then that failure's reason."""
    failed = target.with_name(f"{version}.failed")
    try:
        if now() - failed.stat().st_mtime < RETRY_SECONDS:
            return failed.read_text(encoding="utf-8")
    except OSError:
        pass
    reason = _install(tools, version, target, cwd)
    if reason:
        with contextlib.suppress(OSError):
            failed.parent.mkdir(parents=True, exist_ok=True)
            failed.write_text(reason, encoding="utf-8")
            os.utime(failed, (now(), now()))
    return reason


def _install(tools: ToolRunner, version: str, target: Path, cwd: Path) -> str:
    """Install ruff ``version`` into ``target``; the reason when it cannot be."""
    if not _VERSION.match(version):
        return "not a release version"
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".ruff-{version}-", dir=target.parent))
    argv = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-input",
        # Offline, fail at once rather than after pip's five retries.
        "--retries",
        "0",
        "--timeout",
        "15",
        "--no-deps",
        "--only-binary=:all:",
        "--target",
        str(scratch),
        f"ruff=={version}",
    ]
    try:
        tools.run(argv, cwd=cwd, timeout=INSTALL_TIMEOUT_SECONDS)
        os.replace(scratch, target)  # another run may have won: keep its copy
    except (ToolFailed, ToolTimeout) as exc:
        return str(exc)
    except OSError:
        pass
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return "" if (target / "bin" / "ruff").exists() else "pip installed no ruff binary"


# ---------------------------------------------------------------------------- errors


def refusal(stderr: str, roots: Iterable[Path]) -> str:
    """ruff's own reason for failing (its ``Cause:`` lines and the last one), with the
    temporary directories it ran in taken out of the paths."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    causes = [line.removeprefix("Cause:").strip() for line in lines if line.startswith("Cause:")]
    last = next((line for line in reversed(lines) if not line.startswith(("|", "Cause:"))), "")
    if last and not last[0].isdigit() and last not in causes and last != "ruff failed":
        causes.append(last)
    return without_roots("; ".join(causes or lines[-3:]), roots)


def without_roots(text: str, roots: Iterable[Path]) -> str:
    """``text`` with the directories ``roots`` taken out of the paths it names."""
    for root in roots:
        for form in {str(root), str(root.resolve())}:
            text = text.replace(form + os.sep, "").replace(form, ".")
    return text
