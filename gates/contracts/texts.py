"""Every text the contracts gate shows people."""

from __future__ import annotations

NOTHING_TO_CHECK = "no OpenAPI, JSON Schema, GraphQL or protobuf contract changed"
UNREADABLE = "{kind} document cannot be read: {reason}"
INVALID_GRAPHQL = "GraphQL schema is invalid: {reason}"
CHANGE = "{operation}: {text}"
CHANGE_NO_OPERATION = "{text}"
REMOVED = "{message}. Removed: it was at line {line} of the base version; shown where it was."
NOT_READ = "{path}: not checked: it cannot be read or is larger than {limit} MB"
EXTERNAL_REFS = "{path}: references to other files are not followed: {refs}"
DELETED = "{path}: the contract was deleted ({kind}); every client of it breaks"
BUF_MISSING = (
    "protobuf: {count} changed .proto file(s) not compared: `buf` is not on PATH "
    "(install it from https://buf.build/docs/installation to check breaking changes)"
)
BUF_FAILED = "protobuf: buf breaking could not run: {reason}"
COMPATIBLE_SECTION = "### Compatible changes ({count})"
COMPATIBLE_ROW = "- `{path}`: {message}"
COMPATIBLE_MORE = "- …and {count} more"
COMPARED = "**Contracts compared:** {paths}"
