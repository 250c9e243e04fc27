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

# ---------------------------------------------------------------------------- OpenAPI

# What each OpenAPI change says, by oasdiff rule id (the wording follows oasdiff's).
OPENAPI: dict[str, str] = {
    "api-path-removed-without-deprecation": "api path {path} removed without deprecation",
    "api-path-removed-with-deprecation": "deprecated api path {path} removed",
    "api-path-removed-before-sunset": "api path {path} removed before its sunset date",
    "api-removed-without-deprecation": "api {endpoint} removed without deprecation",
    "api-removed-with-deprecation": "deprecated api {endpoint} removed",
    "api-removed-before-sunset": "api {endpoint} removed before its sunset date",
    "endpoint-added": "endpoint added",
    "endpoint-deprecated": "endpoint deprecated",
    "request-parameter-removed": "deleted the {where} request parameter {name}",
    "new-required-request-parameter": "added the new required {where} request parameter {name}",
    "new-optional-request-parameter": "added the new optional {where} request parameter {name}",
    "request-parameter-became-required": "the {where} request parameter {name} became required",
    "request-parameter-became-optional": "the {where} request parameter {name} became optional",
    "request-body-added-required": "added a required request body",
    "request-body-added-optional": "added an optional request body",
    "request-body-became-required": "the request body became required",
    "request-body-became-optional": "the request body became optional",
    "request-body-media-type-removed": "removed the media type {media} from the request body",
    "request-body-media-type-added": "added the media type {media} to the request body",
    "response-media-type-removed": "removed the media type {media} of the response {status}",
    "response-media-type-added": "added the media type {media} to the response {status}",
    "response-success-status-removed": "removed the success response with the status {status}",
    "response-non-success-status-removed": "removed the response with the status {status}",
    "response-success-status-added": "added the success response with the status {status}",
    "response-non-success-status-added": "added the response with the status {status}",
    "required-response-header-removed": (
        "removed the required header {name}of the response {status}"
    ),
    "optional-response-header-removed": (
        "removed the optional header {name} of the response {status}"
    ),
    "response-header-added": "added the header {name} to the response {status}",
    "request-property-removed": "removed the request property {property}",
    "new-required-request-property": "added the new required request property {property}",
    "new-optional-request-property": "added the new optional request property {property}",
    "request-property-became-required": "the request property {property} became required",
    "request-property-became-optional": "the request property {property} became optional",
    "response-required-property-removed": (
        "removed the required property {property} from the response {status}"
    ),
    "response-optional-property-removed": (
        "removed the optional property {property} from the response {status}"
    ),
    "response-required-property-added": (
        "added the required property {property} to the response {status}"
    ),
    "response-optional-property-added": (
        "added the optional property {property} to the response {status}"
    ),
    "response-property-became-optional": (
        "the property {property} of the response {status} became optional"
    ),
    "response-property-became-required": (
        "the property {property} of the response {status} became required"
    ),
    "api-security-removed": "the security requirement {schemes} was removed",
    "api-security-added": "the security requirement {schemes} was added",
    "api-security-scope-added": "the security scope {scope} was added to {scheme}",
    "api-security-scope-removed": "the security scope {scope} was removed from {scheme}",
}
# Whose schema changed, by the start of the rule id.
SUBJECTS: dict[str, str] = {
    "request-parameter": "the {where} request parameter {name}",
    "request-property": "the request property {property}",
    "request-body": "the request body",
    "response-property": "the property {property} of the response {status}",
    "response-body": "the body of the response {status}",
}
# How a schema changed, by the end of the rule id; {subject} is one of SUBJECTS.
SCHEMA_CHANGES: dict[str, str] = {
    "type-changed": "{subject}: type changed from {before} to {after}",
    "type-generalized": "{subject}: type widened from {before} to {after}",
    "became-enum": "{subject} was restricted to a list of enum values",
    "enum-value-removed": "{subject}: enum value {value} removed",
    "enum-value-added": "{subject}: enum value {value} added",
    "max-length-set": "{subject}: maxLength set to {after}",
    "max-length-decreased": "{subject}: maxLength decreased from {before} to {after}",
    "max-length-increased": "{subject}: maxLength increased from {before} to {after}",
    "became-nullable": "{subject} became nullable",
    "became-not-nullable": "{subject} became not nullable",
}
