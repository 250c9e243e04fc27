"""Real bare git repositories behind the sandbox's repositories, driven by the git CLI."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bot.errors import SandboxError

ZERO_SHA = "0" * 40


# Imports with this many loose objects are packed (git's own gc.auto is 6,700).
PACK_THRESHOLD = 1000


class GitFailed(SandboxError):
    """A git command failed; carries git's own message (never credentials)."""


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    epoch: int

    def env(self, role: str) -> dict[str, str]:
        return {
            f"GIT_{role}_NAME": self.name,
            f"GIT_{role}_EMAIL": self.email,
            f"GIT_{role}_DATE": f"{self.epoch} +0000",
        }


@dataclass(frozen=True)
class TreeEntry:
    mode: str
    kind: str  # blob | tree | commit
    sha: str
    path: str
    size: int | None


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    tree: str
    parents: tuple[str, ...]
    author: Person
    committer: Person
    message: str


class GitRepo:
    """One bare repository; every method is a few git plumbing commands."""

    def __init__(self, path: Path, env: Mapping[str, str]) -> None:
        self.path = path
        self._env = dict(env)

    # --- plumbing ---------------------------------------------------------------------

    def git(
        self,
        *args: str,
        input: bytes | None = None,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> bytes:
        command = ["git", "--git-dir", str(self.path), *args]
        result = subprocess.run(
            command,
            input=input,
            capture_output=True,
            env={**self._env, **(env or {})},
            cwd=cwd,
            check=False,
        )
        if result.returncode != 0:
            detail = result.stderr.decode(errors="replace").strip()
            raise GitFailed(f"git {args[0]} failed: {detail}")
        return result.stdout

    def text(self, *args: str, env: Mapping[str, str] | None = None) -> str:
        return self.git(*args, env=env).decode().strip()

    # --- setup ------------------------------------------------------------------------

    def init(self, default_branch: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                "git",
                "init",
                "--quiet",
                "--bare",
                f"--initial-branch={default_branch}",
                str(self.path),
            ],
            capture_output=True,
            env=self._env,
            check=True,
        )
        # Let `git http-backend` serve pushes without extra configuration.
        self.git("config", "http.receivepack", "true")

    def import_directory(self, source: Path, branch: str, message: str, who: Person) -> str:
        """Commit every file under ``source`` (minus .git) as the tip of ``branch``."""
        with tempfile.TemporaryDirectory() as scratch:
            env = {"GIT_INDEX_FILE": str(Path(scratch) / "index"), "GIT_WORK_TREE": str(source)}
            self.git("add", "--all", "--force", ".", env=env, cwd=source)
            tree = self.text("write-tree", env=env)
        commit = self.commit_tree(tree, [], message, who, who)
        self.update_ref(f"refs/heads/{branch}", commit, ZERO_SHA)
        self._pack_if_large()
        return commit

    def _pack_if_large(self) -> None:
        """Pack a large import, as GitHub stores repositories packed.

        A fetch from loose objects makes git compress every object again (seconds for
        thousands of files); from a pack it sends what is already compressed.
        """
        counts = dict(line.split(": ", 1) for line in self.text("count-objects", "-v").splitlines())
        if int(counts.get("count", "0")) >= PACK_THRESHOLD:
            self.git("repack", "-a", "-d", "-q")

    # --- objects ----------------------------------------------------------------------

    def resolve(self, ref: str) -> str | None:
        """The commit SHA ``ref`` names (SHA, branch, tag, ``heads/x``), or None."""
        candidates = [ref]
        if ref.startswith(("heads/", "tags/")):
            candidates.insert(0, f"refs/{ref}")
        for candidate in candidates:
            if candidate.startswith("-"):
                return None
            try:
                return self.text("rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}")
            except GitFailed:
                continue
        return None

    def object_type(self, sha: str) -> str | None:
        try:
            return self.text("cat-file", "-t", sha)
        except GitFailed:
            return None

    def read_blob(self, sha: str) -> bytes:
        return self.git("cat-file", "blob", sha)

    def write_blob(self, content: bytes) -> str:
        return self.git("hash-object", "-w", "--stdin", input=content).decode().strip()

    def commit_info(self, sha: str) -> CommitInfo:
        raw = self.git("cat-file", "commit", sha).decode(errors="replace")
        header, _, message = raw.partition("\n\n")
        fields: dict[str, list[str]] = {}
        for line in header.splitlines():
            key, _, value = line.partition(" ")
            fields.setdefault(key, []).append(value)
        return CommitInfo(
            sha=sha,
            tree=fields["tree"][0],
            parents=tuple(fields.get("parent", [])),
            author=_person(fields["author"][0]),
            committer=_person(fields["committer"][0]),
            message=message.rstrip("\n"),
        )

    def ls_tree(self, treeish: str, *, recursive: bool = False) -> list[TreeEntry]:
        args = ["ls-tree", "-l", "-z"] + (["-r", "-t"] if recursive else []) + [treeish]
        out = self.git(*args).decode(errors="replace")
        entries = []
        for record in filter(None, out.split("\0")):
            meta, _, path = record.partition("\t")
            mode, kind, sha, size = meta.split()
            entries.append(TreeEntry(mode, kind, sha, path, None if size == "-" else int(size)))
        return entries

    def entry_at(self, commit: str, path: str) -> TreeEntry | None:
        """The tree entry at ``path`` in ``commit`` ('' = the root tree)."""
        if not path:
            return TreeEntry(
                "040000", "tree", self.text("rev-parse", f"{commit}^{{tree}}"), "", None
            )
        out = self.git("ls-tree", "-l", "-z", commit, "--", path).decode(errors="replace")
        record = out.split("\0")[0]
        if not record:
            return None
        meta, _, found = record.partition("\t")
        mode, kind, sha, size = meta.split()
        if found != path:
            return None
        return TreeEntry(mode, kind, sha, found, None if size == "-" else int(size))

    def mktree(self, entries: list[TreeEntry]) -> str:
        lines = "".join(f"{e.mode} {e.kind} {e.sha}\t{e.path}\0" for e in entries)
        return self.git("mktree", "-z", input=lines.encode()).decode().strip()

    def commit_tree(
        self, tree: str, parents: list[str], message: str, author: Person, committer: Person
    ) -> str:
        args = ["commit-tree", tree]
        for parent in parents:
            args += ["-p", parent]
        env = author.env("AUTHOR") | committer.env("COMMITTER")
        return self.git(*args, input=message.encode(), env=env).decode().strip()

    def commit_change(
        self,
        parent: str | None,
        path: str,
        content: bytes | None,
        message: str,
        author: Person,
        committer: Person,
    ) -> str:
        """A new commit on top of ``parent`` writing (or, with None, deleting) one file."""
        with tempfile.TemporaryDirectory() as scratch:
            # update-index refuses to run without a work tree, even on index-only changes.
            env = {"GIT_INDEX_FILE": str(Path(scratch) / "index"), "GIT_WORK_TREE": scratch}
            if parent:
                self.git("read-tree", parent, env=env)
            if content is None:
                self.git("update-index", "--force-remove", "--", path, env=env)
            else:
                blob = self.write_blob(content)
                self.git("update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=env)
            tree = self.text("write-tree", env=env)
        return self.commit_tree(tree, [parent] if parent else [], message, author, committer)

    # --- refs -------------------------------------------------------------------------

    def refs(self, prefix: str = "refs/") -> list[tuple[str, str, str]]:
        """(refname, object sha, object type) under ``prefix``, sorted by name."""
        out = self.text("for-each-ref", "--format=%(refname) %(objectname) %(objecttype)", prefix)
        return [tuple(line.split(" ")) for line in out.splitlines() if line]  # type: ignore[misc]

    def ref_sha(self, refname: str) -> str | None:
        try:
            return self.text("rev-parse", "--verify", "--quiet", refname)
        except GitFailed:
            return None

    def update_ref(self, refname: str, new: str, old: str | None = None) -> None:
        """Move ``refname`` to ``new``; with ``old`` only if it still points there."""
        args = ["update-ref", refname, new] + ([old] if old is not None else [])
        self.git(*args)

    def delete_ref(self, refname: str) -> None:
        self.git("update-ref", "-d", refname)

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        result = subprocess.run(
            [
                "git",
                "--git-dir",
                str(self.path),
                "merge-base",
                "--is-ancestor",
                ancestor,
                descendant,
            ],
            capture_output=True,
            env=self._env,
            check=False,
        )
        return result.returncode == 0

    def changed_files(self, sha: str) -> list[tuple[str, int, int, str]]:
        """(path, additions, deletions, status letter) of ``sha`` against its first parent."""
        numstat = self.text("diff-tree", "--root", "--no-commit-id", "-r", "--numstat", sha)
        status = self.text("diff-tree", "--root", "--no-commit-id", "-r", "--name-status", sha)
        letters: dict[str, str] = {}
        for line in status.splitlines():
            letter, _, path = line.partition("\t")
            letters[path] = letter
        files = []
        for line in numstat.splitlines():
            added, deleted, path = line.split("\t", 2)
            files.append((path, _int(added), _int(deleted), letters.get(path, "M")[:1]))
        return files


def git_environment(base: Mapping[str, str], home: Path) -> dict[str, str]:
    """A minimal, predictable environment for git: no user or system config."""
    return {
        "PATH": base.get("PATH", os.defpath),
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_TERMINAL_PROMPT": "0",
        "LC_ALL": "C",
    }


def _person(raw: str) -> Person:
    name, _, rest = raw.partition(" <")
    email, _, when = rest.partition("> ")
    return Person(name, email, int(when.split()[0]))


def _int(text: str) -> int:
    return int(text) if text.isdigit() else 0
