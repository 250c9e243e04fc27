"""All of TechLead's git work: cached bare mirrors, per-task worktrees, commits, leased pushes.

This is the only module that imports GitPython. Layout under ``Settings.data_dir``::

    git/mirrors/{owner}/{name}.git          bare mirror, fetched incrementally
    git/mirrors/{owner}/{name}.git.lock     flock: creation, fetch, worktree add/remove, eviction
    git/worktrees/{owner}/{name}/{id}       one linked worktree per unit of work
    git/worktrees/{owner}/{name}/{id}.lock  flock held by the worktree's owner while it lives

Credentials never touch a URL, a config file, a log line or an exception: each network
command gets ``http.extraHeader`` through the ``GIT_CONFIG_COUNT``/``GIT_CONFIG_KEY_n``/
``GIT_CONFIG_VALUE_n`` environment (git >= 2.31), so the token is not on the command line
either (``ps`` shows it to every user; the environment only to the same user).
https://git-scm.com/docs/git-config#Documentation/git-config.txt-GITCONFIGCOUNT
"""

from __future__ import annotations

import base64
import contextlib
import enum
import fcntl
import logging
import os
import re
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import git
from git.exc import GitCommandError

from bot.errors import LeaseMismatch, RefNotFound, WorkspaceError
from bot.settings import Settings

log = logging.getLogger(__name__)

Credentials = tuple[str, str]
# repo ("owner/name") -> (username, token), or None for anonymous access. Called before
# every network command, so an App installation token is refreshed when it expires.
CredentialsProvider = Callable[[str], "Credentials | None"]
Clock = Callable[[], float]
IdFactory = Callable[[], str]

_REDACTED = "***"
_LAST_USED = "techlead-last-used"
_SHA_RE = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_NAME_RE = re.compile(r"[A-Za-z0-9_.-]+")
_TRAILER_KEY_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")
# Characters git forbids in ref names, plus whitespace; checked before a ref reaches argv.
_BAD_REF_RE = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//|/\.|^\.|\.lock(/|$)|^/|/$|\.$")
_AUTH_HEADER_RE = re.compile(r"(Authorization:\s*\w+\s+)\S+", re.IGNORECASE)
_URL_USERINFO_RE = re.compile(r"(\w+://)[^/@\s]+@")

# Config every command gets: no hooks from anywhere, no detached background gc racing
# our locks, no signing prompts, no credential helpers or prompts that could hang a worker.
_BASE_CONFIG: tuple[tuple[str, str], ...] = (
    ("core.hooksPath", os.devnull),
    ("gc.autoDetach", "false"),
    ("maintenance.autoDetach", "false"),
    ("commit.gpgSign", "false"),
    ("credential.helper", ""),
    ("core.askPass", ""),
)
_BASE_ENV: Mapping[str, str] = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_ASKPASS": "",
    "SSH_ASKPASS": "",
    "GIT_LFS_SKIP_SMUDGE": "1",
}


class PushOutcome(enum.StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class Identity:
    """A git author or committer."""

    name: str
    email: str


@dataclass(frozen=True)
class TreeEntry:
    """One file of ``git ls-tree``; ``size`` is None for submodules."""

    path: str
    mode: str
    kind: str
    sha: str
    size: int | None


@dataclass(frozen=True)
class CleanupReport:
    removed_worktrees: tuple[str, ...]
    evicted_mirrors: tuple[str, ...]
    cache_bytes: int


@dataclass(frozen=True)
class _Result:
    status: int
    out: bytes
    err: str


# -- pure helpers -----------------------------------------------------------------------


def git_remote_url(api_url: str, repo: str) -> str:
    """The HTTPS clone URL of ``repo`` for a REST API base URL (github.com or GHES/sandbox)."""
    owner, name = split_repo(repo)
    parsed = urlparse(api_url.rstrip("/"))
    if parsed.netloc == "api.github.com":
        return f"https://github.com/{owner}/{name}.git"
    base = parsed.path.removesuffix("/api/v3")
    return f"{parsed.scheme}://{parsed.netloc}{base}/{owner}/{name}.git"


def split_repo(repo: str) -> tuple[str, str]:
    """``"owner/name"`` -> ``("owner", "name")``; rejects anything that could escape a path."""
    parts = repo.split("/")
    if len(parts) != 2 or not all(_valid_name(part) for part in parts):
        raise WorkspaceError(f"not a repository name (owner/name): {repo!r}")
    return parts[0], parts[1]


def _valid_name(part: str) -> bool:
    return bool(_NAME_RE.fullmatch(part)) and part not in (".", "..")


def check_ref(ref: str) -> str:
    """Return ``ref`` if it is a plausible ref name or SHA; never lets an option reach argv."""
    if not ref or ref.startswith("-") or _BAD_REF_RE.search(ref):
        raise WorkspaceError(f"not a valid git ref: {ref!r}")
    return ref


def is_sha(ref: str) -> bool:
    return bool(_SHA_RE.fullmatch(ref))


def full_ref(ref: str) -> str:
    """``main`` -> ``refs/heads/main``; full refs pass through."""
    check_ref(ref)
    return ref if ref.startswith("refs/") else f"refs/heads/{ref}"


def auth_header(credentials: Credentials) -> str:
    """The ``http.extraHeader`` value for HTTP Basic auth as GitHub expects it."""
    username, token = credentials
    raw = base64.b64encode(f"{username}:{token}".encode()).decode("ascii")
    return f"Authorization: Basic {raw}"


def _auth_config(creds: tuple[str, str] | None) -> list[tuple[str, str]]:
    """Per-command auth config. Redirects are refused while a token rides along:
    git re-sends ``http.extraHeader`` to wherever a redirect points."""
    if not creds:
        return []
    return [("http.extraHeader", auth_header(creds)), ("http.followRedirects", "false")]


def config_env(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Config for one command as ``GIT_CONFIG_COUNT`` environment (never on argv)."""
    env: dict[str, str] = {}
    count = 0
    for count, (key, value) in enumerate(pairs, start=1):
        env[f"GIT_CONFIG_KEY_{count - 1}"] = key
        env[f"GIT_CONFIG_VALUE_{count - 1}"] = value
    env["GIT_CONFIG_COUNT"] = str(count)
    return env


def redact(text: str, secret_values: Iterable[str]) -> str:
    """Remove every secret, auth header value and URL userinfo from ``text``."""
    for secret in secret_values:
        if secret:
            text = text.replace(secret, _REDACTED)
    text = _AUTH_HEADER_RE.sub(rf"\1{_REDACTED}", text)
    return _URL_USERINFO_RE.sub(rf"\1{_REDACTED}@", text)


def _secret_forms(credentials: Credentials | None) -> tuple[str, ...]:
    if credentials is None:
        return ()
    username, token = credentials
    header = auth_header(credentials)
    return (token, header.split()[-1], f"{username}:{token}")


def parse_ls_tree(raw: bytes) -> list[TreeEntry]:
    """Parse ``git ls-tree -r -z --long`` output."""
    entries = []
    for record in raw.split(b"\0"):
        if not record:
            continue
        meta, _, path = record.partition(b"\t")
        mode, kind, sha, size = meta.decode().split()
        entries.append(
            TreeEntry(
                path=path.decode("utf-8", "surrogateescape"),
                mode=mode,
                kind=kind,
                sha=sha,
                size=None if size == "-" else int(size),
            )
        )
    return entries


def parse_push_porcelain(out: str, ref: str) -> tuple[str | None, str]:
    """The status flag and summary ``git push --porcelain`` printed for ``ref``.

    Lines read ``<flag>\t<src>:<dst>\t<summary>``; ``(None, "")`` when ``ref`` is absent.
    https://git-scm.com/docs/git-push#_output
    """
    for line in out.splitlines():
        fields = line.split("\t")
        if len(fields) >= 2 and len(fields[0]) == 1 and fields[1].endswith(f":{ref}"):
            return fields[0], fields[2] if len(fields) > 2 else ""
    return None, ""


_PUSH_FLAGS: Mapping[str, PushOutcome] = {
    "=": PushOutcome.UNCHANGED,
    "*": PushOutcome.CREATED,
    " ": PushOutcome.UPDATED,
    "+": PushOutcome.UPDATED,
}
# Summaries of a refused lease ("stale info") or of a branch that moved under us.
_LEASE_REASONS = ("stale info", "fetch first", "non-fast-forward")

# stderr fragment -> what to tell a person. First match wins; order matters.
_FAILURE_HINTS: tuple[tuple[str, str], ...] = (
    ("Timeout: the command", "timed out"),
    ("Authentication failed", "authentication failed (check the token or App installation)"),
    # git asks for a username after a 401 even when a header was sent; prompts are off.
    ("could not read Username", "authentication failed (check the token or App installation)"),
    ("returned error: 401", "authentication failed (check the token or App installation)"),
    ("returned error: 403", "permission denied (the token lacks access to this repository)"),
    ("returned error: 404", "repository not found"),
    ("not found", "not found"),
)


def describe_failure(stderr: str) -> str:
    """A short, credential-free explanation of a git failure."""
    for fragment, hint in _FAILURE_HINTS:
        if fragment in stderr:
            return hint
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


# -- locks ------------------------------------------------------------------------------


class _FileLock:
    """An ``flock`` on a file: shared or exclusive, across threads and processes."""

    def __init__(self, path: Path, *, exclusive: bool, blocking: bool = True) -> None:
        self.path = path
        self.exclusive = exclusive
        self.blocking = blocking
        self._fd: int | None = None

    def acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        mode = fcntl.LOCK_EX if self.exclusive else fcntl.LOCK_SH
        try:
            fcntl.flock(fd, mode if self.blocking else mode | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> _FileLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _tree_size(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total


# -- the workspace ----------------------------------------------------------------------


class Workspace:
    """Mirrors, worktrees, reads, diffs, commits and leased pushes for many repositories.

    Safe to share between threads; several processes may share one ``data_dir``.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        committer: Identity,
        credentials: CredentialsProvider,
        clock: Clock = time.time,
        remote_url: Callable[[str], str] | None = None,
        max_cache_bytes: int | None = None,
        network_timeout: float | None = None,
        new_id: IdFactory = lambda: secrets.token_hex(6),
    ) -> None:
        self.root = settings.data_dir.resolve() / "git"
        self.committer = committer
        self._credentials = credentials
        self._clock = clock
        self._remote_url = remote_url or (lambda repo: git_remote_url(settings.api_url, repo))
        self.max_cache_bytes = (
            settings.git_cache_max_bytes if max_cache_bytes is None else max_cache_bytes
        )
        self._network_timeout = settings.git_timeout if network_timeout is None else network_timeout
        self._new_id = new_id

    # paths and locks

    def mirror_path(self, repo: str) -> Path:
        owner, name = split_repo(repo)
        return self.root / "mirrors" / owner / f"{name}.git"

    def _lock(self, repo: str, *, exclusive: bool, blocking: bool = True) -> _FileLock:
        path = self.mirror_path(repo)
        return _FileLock(
            path.with_name(path.name + ".lock"), exclusive=exclusive, blocking=blocking
        )

    def _worktrees_dir(self, repo: str) -> Path:
        owner, name = split_repo(repo)
        return self.root / "worktrees" / owner / name

    # running git

    def _git(
        self,
        args: Sequence[str],
        *,
        git_dir: Path,
        work_tree: Path | None = None,
        env: Mapping[str, str] | None = None,
        config: Sequence[tuple[str, str]] = (),
        timeout: float | None = None,
        secret_values: Sequence[str] = (),
        stdin: bytes | None = None,
    ) -> _Result:
        """Run one git command; never raises GitPython's errors (they carry argv)."""
        full_env = {**_BASE_ENV, **config_env((*_BASE_CONFIG, *config)), **(env or {})}
        full_env["GIT_DIR"] = str(git_dir)
        if work_tree is not None:
            full_env["GIT_WORK_TREE"] = str(work_tree)
        runner = git.Git(str(work_tree or git_dir))
        started = time.monotonic()
        with tempfile.TemporaryFile() as feed:
            if stdin is not None:
                feed.write(stdin)
                feed.seek(0)
            try:
                status, out, err = runner.execute(
                    ["git", *args],
                    env=full_env,
                    istream=feed if stdin is not None else None,
                    with_extended_output=True,
                    with_exceptions=False,
                    stdout_as_string=False,
                    strip_newline_in_stdout=False,
                    kill_after_timeout=timeout,
                )
            except GitCommandError as exc:  # git itself is missing or could not start
                raise WorkspaceError(f"cannot run git: {type(exc).__name__}") from None
        log.debug("git %s exited %s in %.3fs", args[0], status, time.monotonic() - started)
        return _Result(int(status), bytes(out or b""), redact(str(err or ""), secret_values))

    def _check(self, result: _Result, what: str) -> _Result:
        if result.status != 0:
            raise WorkspaceError(f"{what}: {describe_failure(result.err)}")
        return result

    def _remote_git(
        self,
        repo: str,
        command: Sequence[str],
        refspecs: Sequence[str],
        *,
        git_dir: Path,
        remote: str | None = None,
    ) -> _Result:
        """Run ``git <command> <url> <refspecs>`` against the remote with fresh credentials.

        ``remote`` names another repository to talk to with ``repo``'s credentials (a
        fork's branch that allows edits by the maintainers of ``repo``).
        """
        url = self._remote_url(remote or repo)
        parsed = urlparse(url)
        if parsed.username or parsed.password:
            raise WorkspaceError(f"{repo}: the remote URL must not carry credentials")
        creds = self._credentials(repo)
        return self._git(
            [*command, url, *refspecs],
            git_dir=git_dir,
            config=_auth_config(creds),
            timeout=self._network_timeout,
            secret_values=_secret_forms(creds),
        )

    # mirrors

    def ensure_mirror(self, repo: str) -> Path:
        """Create the bare mirror of ``repo`` if it does not exist (no network); return its path."""
        path = self.mirror_path(repo)
        if not (path / "HEAD").exists():
            with self._lock(repo, exclusive=True):
                self._create_mirror(path)
        return path

    def _create_mirror(self, path: Path) -> None:
        if (path / "HEAD").exists():
            return
        # Built aside and renamed into place, so a crash never leaves a half-made mirror.
        staging = path.with_name(f"{path.name}.tmp-{self._new_id()}")
        staging.parent.mkdir(parents=True, exist_ok=True)
        result = self._git(["init", "--bare", "--quiet", str(staging)], git_dir=staging)
        try:
            self._check(result, f"cannot create mirror {path.name}")
            staging.rename(path)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        log.info("created mirror %s", path)

    def fetch(self, repo: str, refs: Sequence[str] = ()) -> dict[str, str]:
        """Bring ``refs`` (branches, full refs or SHAs; none: all branches and tags) up to date.

        Returns each requested ref's commit SHA. Only the named refs travel; git negotiates
        so only missing objects are downloaded. A SHA already present costs no network.
        """
        for ref in refs:
            check_ref(ref)
        self.ensure_mirror(repo)
        path = self.mirror_path(repo)
        with self._lock(repo, exclusive=True):
            specs = self._refspecs(path, refs)
            if specs:
                self._fetch_locked(repo, path, specs)
            self._touch(path)
            resolved = {ref: self._resolve_locked(repo, path, ref) for ref in refs}
        self.enforce_cache_bound(keep=(repo,))
        return resolved

    def _refspecs(self, path: Path, refs: Sequence[str]) -> list[str]:
        if not refs:
            return ["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"]
        specs = []
        for ref in refs:
            if is_sha(ref):
                if not self._has_commit(path, ref):
                    specs.append(ref)
            else:
                specs.append(f"+{full_ref(ref)}:{full_ref(ref)}")
        return specs

    def _fetch_locked(self, repo: str, path: Path, specs: Sequence[str]) -> None:
        command = ["fetch", "--prune", "--no-tags", "--quiet", "--no-write-fetch-head"]
        result = self._remote_git(repo, command, specs, git_dir=path)
        if result.status != 0 and "couldn't find remote ref" in result.err:
            raise RefNotFound(f"{repo}: {result.err.rsplit('remote ref', 1)[-1].strip()} not found")
        self._check(result, f"{repo}: fetch failed")

    def _has_commit(self, path: Path, sha: str) -> bool:
        return self._git(["cat-file", "-e", f"{sha}^{{commit}}"], git_dir=path).status == 0

    def _touch(self, path: Path) -> None:
        marker = path / _LAST_USED
        marker.touch()
        now = self._clock()
        os.utime(marker, (now, now))

    # reading

    def resolve(self, repo: str, ref: str) -> str:
        """The commit SHA ``ref`` names in the mirror (fetch first to refresh branches)."""
        check_ref(ref)
        path = self.mirror_path(repo)
        with self._lock(repo, exclusive=False):
            sha = self._resolve_locked(repo, path, ref)
            self._touch(path)  # reads count as use for eviction
        return sha

    def _resolve_locked(self, repo: str, path: Path, ref: str) -> str:
        if not (path / "HEAD").exists():
            raise RefNotFound(f"{repo}: no mirror yet; fetch {ref!r} first")
        name = ref if is_sha(ref) or ref.startswith("refs/") else f"refs/heads/{ref}"
        result = self._git(["rev-parse", "--verify", "--quiet", f"{name}^{{commit}}"], git_dir=path)
        if result.status != 0:
            raise RefNotFound(f"{repo}: {ref!r} is not in the mirror; fetch it first")
        return result.out.decode().strip()

    def read_file(self, repo: str, ref: str, file_path: str) -> bytes | None:
        """The bytes of ``file_path`` at ``ref``, or None when it is not a file there."""
        sha = self.resolve(repo, ref)
        path = self.mirror_path(repo)
        with self._lock(repo, exclusive=False):
            result = self._git(["cat-file", "blob", f"{sha}:{file_path}"], git_dir=path)
        return result.out if result.status == 0 else None

    def read_blobs(self, repo: str, shas: Sequence[str]) -> dict[str, bytes]:
        """The contents of blobs by SHA, read by one ``git cat-file --batch`` (missing: left out).

        Reading a tree this way costs a fraction of checking it out and reading the files
        back: no index, no 10,000 files written to disk.
        """
        wanted = [sha for sha in dict.fromkeys(shas) if is_sha(sha)]
        if not wanted:
            return {}
        path = self.mirror_path(repo)
        feed = "".join(f"{sha}\n" for sha in wanted).encode()
        with self._lock(repo, exclusive=False):
            result = self._check(
                self._git(["cat-file", "--batch"], git_dir=path, stdin=feed),
                f"{repo}: cat-file failed",
            )
        return parse_batch(result.out)

    def commit_message(self, repo: str, ref: str) -> str:
        """The full message of the commit at ``ref`` (subject, body and trailers)."""
        sha = self.resolve(repo, ref)
        path = self.mirror_path(repo)
        with self._lock(repo, exclusive=False):
            result = self._git(["log", "-1", "--format=%B", sha], git_dir=path)
        return result.out.decode("utf-8", errors="replace") if result.status == 0 else ""

    def list_files(self, repo: str, ref: str, under: str = "") -> list[TreeEntry]:
        """Every file at ``ref`` (recursively), optionally only those under a directory."""
        sha = self.resolve(repo, ref)
        path = self.mirror_path(repo)
        args = ["ls-tree", "-r", "-z", "--long", "--full-tree", sha]
        if under:
            args += ["--", under]
        with self._lock(repo, exclusive=False):
            result = self._check(self._git(args, git_dir=path), f"{repo}: ls-tree failed")
        return parse_ls_tree(result.out)

    def diff(
        self,
        repo: str,
        base: str,
        head: str,
        *,
        paths: Sequence[str] = (),
        merge_base: bool = False,
    ) -> str:
        """Unified diff text from ``base`` to ``head`` (``merge_base``: like ``base...head``)."""
        base_sha, head_sha = self.resolve(repo, base), self.resolve(repo, head)
        spec = [f"{base_sha}...{head_sha}"] if merge_base else [base_sha, head_sha]
        args = [
            "diff", "--no-color", "--no-ext-diff", "--no-textconv", "--find-renames",
            "--src-prefix=a/", "--dst-prefix=b/", *spec, "--", *paths,
        ]  # fmt: skip
        with self._lock(repo, exclusive=False):
            result = self._check(self._git(args, git_dir=self.mirror_path(repo)), f"{repo}: diff")
        return result.out.decode("utf-8", "replace")

    # pushing

    def remote_sha(self, repo: str, branch: str) -> str | None:
        """Where ``branch`` is on the remote now (None: it does not exist)."""
        ref = full_ref(branch)
        command = ["ls-remote", "--quiet"]
        result = self._remote_git(repo, command, [ref], git_dir=self.ensure_mirror(repo))
        self._check(result, f"{repo}: ls-remote failed")
        for line in result.out.decode().splitlines():
            sha, _, name = line.partition("\t")
            if name == ref:
                return sha
        return None

    def push_branch(
        self,
        repo: str,
        branch: str,
        sha: str,
        *,
        expected: str | None,
        remote: str | None = None,
    ) -> PushOutcome:
        """Point remote ``branch`` at ``sha`` if it is still at ``expected`` (None: absent).

        Idempotent: when the branch already points at ``sha`` nothing happens and
        ``UNCHANGED`` is returned, whatever ``expected`` says. Otherwise a branch that is
        not where ``expected`` says raises :class:`LeaseMismatch`. ``remote`` pushes to
        another repository (a fork) with ``repo``'s credentials; the mirror's own
        branches are left alone then.
        """
        ref = full_ref(branch)
        if not is_sha(sha) or (expected is not None and not is_sha(expected)):
            raise WorkspaceError("push_branch needs full commit SHAs")
        path = self.ensure_mirror(repo)
        command = ["push", "--porcelain", f"--force-with-lease={ref}:{expected or ''}"]
        with self._lock(repo, exclusive=False):  # keeps eviction away while objects upload
            result = self._remote_git(repo, command, [f"{sha}:{ref}"], git_dir=path, remote=remote)
        outcome = self._push_outcome(remote or repo, branch, expected, result)
        if remote is not None:
            log.info("pushed %s to %s:%s (%s)", sha[:12], remote, branch, outcome.value)
            return outcome
        with self._lock(repo, exclusive=True):
            self._git(["update-ref", ref, sha], git_dir=path)
        log.info("pushed %s to %s:%s (%s)", sha[:12], repo, branch, outcome.value)
        return outcome

    def _push_outcome(
        self, repo: str, branch: str, expected: str | None, result: _Result
    ) -> PushOutcome:
        flag, summary = parse_push_porcelain(
            result.out.decode("utf-8", "replace"), full_ref(branch)
        )
        outcome = _PUSH_FLAGS.get(flag or "")
        if outcome is not None and result.status == 0:
            return outcome
        if flag == "!" and any(reason in summary for reason in _LEASE_REASONS):
            try:
                actual = self.remote_sha(repo, branch)
            except WorkspaceError:
                actual = None  # a fork this installation cannot read directly
            raise LeaseMismatch(repo, branch, expected, actual)
        detail = summary.strip("[] ") if flag == "!" else describe_failure(result.err)
        raise WorkspaceError(f"{repo}: push to {branch!r} refused: {detail}")

    # worktrees

    @contextlib.contextmanager
    def worktree(self, repo: str, ref: str, *, label: str = "work") -> Iterator[Worktree]:
        """A fresh detached checkout of ``ref``, removed when the block ends."""
        if not _valid_name(label):
            raise WorkspaceError(f"not a usable worktree label: {label!r}")
        sha = self.resolve(repo, ref)
        path = self._worktrees_dir(repo) / f"{label}-{self._new_id()}"
        with _FileLock(path.with_name(path.name + ".lock"), exclusive=True):
            try:
                self._add_worktree(repo, path, sha)
                yield Worktree(self, repo, path, sha)
            finally:
                self._remove_worktree(repo, path)

    def _add_worktree(self, repo: str, path: Path, sha: str) -> None:
        mirror = self.mirror_path(repo)
        with self._lock(repo, exclusive=True):
            self._touch(mirror)
            add = ["worktree", "add", "--detach", "--no-checkout", str(path), sha]
            added = self._git(add, git_dir=mirror)
        self._check(added, f"{repo}: cannot create worktree")
        # Checking out happens outside the mirror lock: the registered worktree already
        # protects the mirror from eviction, and big checkouts must not stall fetches.
        reset = ["reset", "--hard", "--quiet", sha]
        checkout = self._git(reset, git_dir=path / ".git", work_tree=path)
        self._check(checkout, f"{repo}: cannot check out {sha[:12]}")
        log.info("worktree %s at %s", path.name, sha[:12])

    def _remove_worktree(self, repo: str, path: Path) -> None:
        mirror = self.mirror_path(repo)
        shutil.rmtree(path, ignore_errors=True)
        with self._lock(repo, exclusive=True):
            self._git(["worktree", "prune"], git_dir=mirror)
        path.with_name(path.name + ".lock").unlink(missing_ok=True)

    # housekeeping

    def cleanup(self) -> CleanupReport:
        """Remove worktrees whose owner is gone, prune git's records, enforce the size bound."""
        removed = tuple(self._remove_orphan_worktrees())
        for repo in self.mirrors():
            with self._lock(repo, exclusive=True):
                self._git(["worktree", "prune"], git_dir=self.mirror_path(repo))
        self._remove_staging_dirs()
        evicted = tuple(self.enforce_cache_bound())
        return CleanupReport(removed, evicted, self.cache_bytes())

    def _remove_orphan_worktrees(self) -> Iterator[str]:
        base = self.root / "worktrees"
        for lock_path in sorted(base.glob("*/*/*.lock")):
            lock = _FileLock(lock_path, exclusive=True, blocking=False)
            if not lock.acquire():
                continue  # its owner is still working in it
            try:
                shutil.rmtree(lock_path.with_suffix(""), ignore_errors=True)
                lock_path.unlink(missing_ok=True)
            finally:
                lock.release()
            yield lock_path.with_suffix("").name

    def _remove_staging_dirs(self) -> None:
        for staging in (self.root / "mirrors").glob("*/*.git.tmp-*"):
            owner, name = staging.parent.name, staging.name.split(".git.tmp-")[0]
            lock = self._lock(f"{owner}/{name}", exclusive=True, blocking=False)
            if lock.acquire():
                shutil.rmtree(staging, ignore_errors=True)
                lock.release()

    def mirrors(self) -> list[str]:
        """Every cached repository, as ``owner/name``."""
        found = (self.root / "mirrors").glob("*/*.git")
        return sorted(f"{p.parent.name}/{p.name.removesuffix('.git')}" for p in found if p.is_dir())

    def last_used(self, repo: str) -> float:
        marker = self.mirror_path(repo) / _LAST_USED
        try:
            return marker.stat().st_mtime
        except FileNotFoundError:
            return 0.0

    def cache_bytes(self) -> int:
        return sum(_tree_size(self.mirror_path(repo)) for repo in self.mirrors())

    def enforce_cache_bound(self, keep: Sequence[str] = ()) -> list[str]:
        """Evict least-recently-used mirrors until the cache fits ``max_cache_bytes``.

        Mirrors in ``keep``, mirrors another thread or process holds, and mirrors with live
        worktrees are skipped. Returns the evicted repositories.
        """
        sizes = {repo: _tree_size(self.mirror_path(repo)) for repo in self.mirrors()}
        total = sum(sizes.values())
        evicted = []
        for repo in sorted(sizes, key=self.last_used):
            if total <= self.max_cache_bytes:
                break
            if repo not in keep and self._evict(repo):
                total -= sizes[repo]
                evicted.append(repo)
        return evicted

    def _evict(self, repo: str) -> bool:
        lock = self._lock(repo, exclusive=True, blocking=False)
        if not lock.acquire():
            return False
        try:
            path = self.mirror_path(repo)
            if any((path / "worktrees").glob("*")):
                return False
            shutil.rmtree(path)
        finally:
            lock.release()
        log.info("evicted mirror %s to keep the cache under %d bytes", repo, self.max_cache_bytes)
        return True


def exchange(
    local: Path,
    direction: str,
    url: str,
    refspecs: Sequence[str],
    credentials: Credentials | None = None,
    *,
    timeout: float = 120.0,
) -> None:
    """``git push`` (direction ``push``) or ``git fetch`` (``fetch``) between the local
    repository ``local`` and ``url``, with credentials in the environment only.

    Used by ``techlead run`` to carry a local repository to a local forge and bring the
    branches TechLead made back.
    """
    if direction not in ("push", "fetch"):
        raise WorkspaceError(f"unknown direction {direction!r}")
    if urlparse(url).username or urlparse(url).password:
        raise WorkspaceError("the remote URL must not carry credentials")
    git_dir = local / ".git" if (local / ".git").exists() else local
    command = ["push", "--porcelain", "--force"] if direction == "push" else ["fetch", "--quiet"]
    env = {**_BASE_ENV, **config_env((*_BASE_CONFIG, *_auth_config(credentials)))}
    env["GIT_DIR"] = str(git_dir)
    runner = git.Git(str(local))
    try:
        status, _, err = runner.execute(
            ["git", *command, url, *refspecs],
            env=env,
            with_extended_output=True,
            with_exceptions=False,
            kill_after_timeout=timeout,
        )
    except GitCommandError:
        raise WorkspaceError("cannot run git") from None
    if status != 0:
        detail = describe_failure(redact(str(err or ""), _secret_forms(credentials)))
        raise WorkspaceError(f"git {direction} failed: {detail}")


class Worktree:
    """One checked-out working directory for one unit of work (see :meth:`Workspace.worktree`)."""

    def __init__(self, workspace: Workspace, repo: str, path: Path, base: str) -> None:
        self._ws = workspace
        self.repo = repo
        self.path = path
        self.base = base

    def _git(self, args: Sequence[str], env: Mapping[str, str] | None = None) -> _Result:
        return self._ws._git(args, git_dir=self.path / ".git", work_tree=self.path, env=env)

    def head(self) -> str:
        result = self._ws._check(self._git(["rev-parse", "HEAD"]), f"{self.repo}: no HEAD")
        return result.out.decode().strip()

    def commit_all(
        self,
        message: str,
        *,
        author: Identity,
        trailers: Sequence[tuple[str, str]] = (),
        allow_empty: bool = False,
    ) -> str | None:
        """Commit every change (new, modified, deleted files); None when nothing changed.

        ``allow_empty`` commits even without a change (a hand-off's "Start T3" commit).
        """
        trailer_args = [f"--trailer={_trailer(key, value)}" for key, value in trailers]
        self._ws._check(self._git(["add", "--all"]), f"{self.repo}: git add failed")
        if not allow_empty and self._git(["diff", "--cached", "--quiet"]).status == 0:
            return None
        env = self._identity_env(author)
        empty = ["--allow-empty"] if allow_empty else []
        commit = self._git(
            ["commit", "--quiet", "--no-verify", *empty, "-m", message, *trailer_args], env=env
        )
        self._ws._check(commit, f"{self.repo}: commit failed")
        return self.head()

    def _identity_env(self, author: Identity) -> dict[str, str]:
        stamp = f"{int(self._ws._clock())} +0000"
        committer = self._ws.committer
        return {
            "GIT_AUTHOR_NAME": author.name,
            "GIT_AUTHOR_EMAIL": author.email,
            "GIT_AUTHOR_DATE": stamp,
            "GIT_COMMITTER_NAME": committer.name,
            "GIT_COMMITTER_EMAIL": committer.email,
            "GIT_COMMITTER_DATE": stamp,
        }

    def squash_to_base(self) -> None:
        """Fold any commits made in the worktree back into uncommitted changes on top of
        the checked-out commit (``git reset --soft``), so what an agent committed on its
        own is checked and committed like everything else."""
        if self.head() != self.base:
            reset = self._git(["reset", "--soft", "--quiet", self.base])
            self._ws._check(reset, f"{self.repo}: cannot fold commits back")

    def changes(self) -> list[tuple[str, str, int, int]]:
        """Every uncommitted change as (path, status letter, lines added, lines deleted).

        Stages everything (like :meth:`commit_all` will); binary files count 0 lines.
        """
        self._ws._check(self._git(["add", "--all"]), f"{self.repo}: git add failed")
        names = self._git(["diff", "--cached", "--name-status", "-z", "--no-renames"])
        counts = self._git(["diff", "--cached", "--numstat", "-z", "--no-renames"])
        self._ws._check(names, f"{self.repo}: diff failed")
        fields = names.out.decode("utf-8", "replace").split("\0")
        statuses = {fields[i + 1]: fields[i][:1] for i in range(0, len(fields) - 1, 2)}
        lines: dict[str, tuple[int, int]] = {}
        for entry in counts.out.decode("utf-8", "replace").split("\0"):
            added, _, rest = entry.partition("\t")
            deleted, _, path = rest.partition("\t")
            if path:
                lines[path] = (
                    int(added) if added.isdigit() else 0,
                    int(deleted) if deleted.isdigit() else 0,
                )
        return [(path, status, *lines.get(path, (0, 0))) for path, status in statuses.items()]

    def push(self, branch: str, *, expected: str | None, remote: str | None = None) -> PushOutcome:
        """Push this worktree's HEAD to ``branch`` with a lease (see ``push_branch``)."""
        return self._ws.push_branch(
            self.repo, branch, self.head(), expected=expected, remote=remote
        )


def parse_batch(out: bytes) -> dict[str, bytes]:
    """``git cat-file --batch`` output: ``<sha> <type> <size>\n<content>\n`` per object."""
    found: dict[str, bytes] = {}
    at = 0
    while at < len(out):
        end = out.find(b"\n", at)
        if end < 0:
            break
        header = out[at:end].split()
        at = end + 1
        if len(header) != 3:  # "<sha> missing"
            continue
        size = int(header[2])
        found[header[0].decode()] = out[at : at + size]
        at += size + 1
    return found


def _trailer(key: str, value: str) -> str:
    if not _TRAILER_KEY_RE.fullmatch(key) or "\n" in value or not value.strip():
        raise WorkspaceError(f"not a valid commit trailer: {key!r}")
    return f"{key}: {value.strip()}"
