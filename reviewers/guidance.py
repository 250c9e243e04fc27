"""Why a security finding matters and how to fix it, by weakness and by bandit test.

Written from CWE's weakness descriptions (https://cwe.mitre.org) and bandit's plugin
docs (https://bandit.readthedocs.io/en/latest/plugins/index.html), in words for the
person who wrote the code.
"""

from __future__ import annotations

from typing import Final

WHY: Final[dict[int, str]] = {
    20: "Input that is not validated can make the program do things it was never meant to; "
    "for YAML, `load` can build arbitrary Python objects from the document.",
    22: "A path built from input can reach files outside the intended directory.",
    78: "A command built from strings can be extended by whoever controls part of it "
    "(OS command injection).",
    79: "Markup built from input without escaping lets others run script in your users' "
    "browsers (cross-site scripting).",
    89: "A query built from strings can be rewritten by whoever controls part of it "
    "(SQL injection).",
    94: "Running code built from data lets whoever controls the data run anything.",
    95: "`eval`/`exec` on data lets whoever controls the data run anything.",
    259: "A password in the code is readable by everyone with access to the repository "
    "and its history.",
    295: "Without certificate checks, anyone on the network path can impersonate the "
    "server and read or change the traffic.",
    319: "Traffic sent in clear text can be read and changed on the way.",
    327: "A broken or weak algorithm does not protect the data it is used on.",
    328: "A weak hash can be reversed or collided; it does not protect what it hashes.",
    330: "`random` is predictable: tokens or keys made with it can be guessed.",
    377: "A predictable temporary file can be created or swapped by another user first.",
    400: "A call with no time limit can hang forever when the other side stops answering.",
    502: "Deserialising untrusted data can run arbitrary code.",
    605: "Listening on every interface exposes the service to networks it was not meant for.",
    611: "An XML parser that resolves external entities can be made to read local files "
    "or reach internal hosts.",
    703: "Swallowing every exception hides failures, including security-relevant ones.",
    732: "Permissions wider than needed let other users read or change the file.",
    798: "Credentials in the code are readable by everyone with access to the repository "
    "and its history.",
}

HOW: Final[dict[str, str]] = {
    "B101": "Raise an exception for checks that must hold: `assert` disappears under `python -O`.",
    "B102": "Do not `exec` data; call the code you mean directly.",
    "B103": "Use the narrowest mode that works (for example `0o600` for a private file).",
    "B104": "Bind to `127.0.0.1`, or to an address taken from configuration.",
    "B105": "Read the password from the environment or a secret store.",
    "B106": "Read the password from the environment or a secret store.",
    "B107": "Do not default a password argument to a literal; require it.",
    "B108": "Use `tempfile.mkstemp()` or `tempfile.TemporaryDirectory()`.",
    "B110": "Catch the specific exception you expect and log it, instead of `pass`.",
    "B112": "Catch the specific exception you expect and log it, instead of `continue`.",
    "B113": "Pass `timeout=` (seconds) to every request.",
    "B201": "Never run Flask with `debug=True` outside development: it serves a console.",
    "B301": "Use a data format such as JSON for anything that is not fully trusted.",
    "B303": "Use `hashlib.sha256` or stronger (or `usedforsecurity=False` where it is not "
    "for security).",
    "B307": "Use `ast.literal_eval` for literals; never `eval` data.",
    "B310": "Check the URL's scheme (`http`/`https`) before opening it.",
    "B311": "Use the `secrets` module for tokens, passwords and keys.",
    "B324": "Use `hashlib.sha256` or stronger, or pass `usedforsecurity=False` where the "
    "hash is not for security.",
    "B501": "Remove `verify=False`; point `verify=` at a CA bundle if the server uses a "
    "private CA.",
    "B506": "Use `yaml.safe_load` (or `yaml.load(..., Loader=yaml.SafeLoader)`).",
    "B602": "Pass the command as a list without `shell=True`; quote with `shlex.quote` if a "
    "shell is unavoidable.",
    "B603": "Make sure no part of the argument list comes from untrusted input.",
    "B605": "Use `subprocess.run([...])` with a list instead of `os.system`.",
    "B607": "Call the program by its absolute path, or resolve it with `shutil.which` first.",
    "B608": "Use the driver's parameters (`cursor.execute(sql, params)`), never string formatting.",
    "B701": "Create the environment with `autoescape=True` (or `select_autoescape()`).",
}


def why(cwe: int | None) -> str | None:
    return WHY.get(cwe) if cwe is not None else None


def how(rule: str) -> str | None:
    return HOW.get(rule)
