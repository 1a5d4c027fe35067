"""The DynamoDB JSON protocol (awsJson1_0) as the harness speaks it: no I/O, bytes and outcomes.

Requests: `POST /` with `X-Amz-Target: DynamoDB_20120810.<Operation>` and
`Content-Type: application/x-amz-json-1.0`; the item's key is the string attribute `pk`, its payload
the string attribute `value`.

Errors come back as `{"__type": "com.amazonaws.dynamodb.v20120810#<Code>", "message": ...}`; like
botocore we take the code after the last `#` (falling back to the `x-amzn-ErrorType` header).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping

from harness.client.api import AttemptResult, Request
from harness.outcomes import Outcome

API_VERSION = "DynamoDB_20120810"
CONTENT_TYPE = "application/x-amz-json-1.0"
KEY_ATTRIBUTE = "pk"
VALUE_ATTRIBUTE = "value"
REGION_HEADER = "x-harness-region"
VERSION_HEADER = "x-harness-version"

OPERATIONS: Mapping[str, str] = {
    "get": "GetItem",
    "put": "PutItem",
    "update": "UpdateItem",
    "delete": "DeleteItem",
}
TARGETS: Mapping[str, str] = {op: f"{API_VERSION}.{name}" for op, name in OPERATIONS.items()}

# Error codes that mean "slow down" on a 400. DynamoDB returns the first two; the rest are the
# throttling codes botocore's standard retry mode recognises (botocore/retries/standard.py).
THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "Throttling",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestThrottled",
        "SlowDown",
    }
)


def encode(request: Request, table: str) -> bytes:
    """The JSON body of one request (its X-Amz-Target is TARGETS[request.op]).

    The body's shape is JSON-encoded once per (op, table); per request only the key and value
    are escaped and slotted in (a full json.dumps per request cost as much as aiohttp's send)."""
    template = _template(request.op, table)
    if request.op in ("put", "update"):
        return (template % (json.dumps(request.key), json.dumps(request.value))).encode()
    return (template % (json.dumps(request.key),)).encode()


_KEY_SLOT = "\x00key"
_VALUE_SLOT = "\x00value"


@functools.lru_cache(maxsize=64)
def _template(op: str, table: str) -> str:
    """The body of `op` as a %-template: `%s` where the JSON strings of key and value go."""
    text = json.dumps(_shape(op, table, _KEY_SLOT, _VALUE_SLOT), separators=(",", ":"))
    text = text.replace("%", "%%")
    return text.replace(json.dumps(_KEY_SLOT), "%s").replace(json.dumps(_VALUE_SLOT), "%s")


def _shape(op: str, table: str, key_value: str, value: str) -> dict[str, object]:
    key = {KEY_ATTRIBUTE: {"S": key_value}}
    if op == "get":
        return {"TableName": table, "Key": key, "ConsistentRead": False}
    if op == "put":
        return {"TableName": table, "Item": {**key, VALUE_ATTRIBUTE: {"S": value}}}
    if op == "update":
        return {
            "TableName": table,
            "Key": key,
            "UpdateExpression": "SET #v = :v",
            "ExpressionAttributeNames": {"#v": VALUE_ATTRIBUTE},
            "ExpressionAttributeValues": {":v": {"S": value}},
        }
    if op == "delete":
        return {"TableName": table, "Key": key}
    raise ValueError(f"unknown op {op!r}")


def decode(status: int, headers: Mapping[str, str], body: bytes, region: str) -> AttemptResult:
    """Classify a complete HTTP response. 2xx -> OK (region and version from our headers); 400 with
    a throttling code -> THROTTLED; other 4xx (and anything unexpected below 500) -> CLIENT_ERROR;
    5xx -> SERVER_ERROR (botocore retries those as transient)."""
    if 200 <= status < 300:
        return AttemptResult(
            Outcome.OK,
            headers.get(REGION_HEADER, region),
            status,
            version=_float_or_none(headers.get(VERSION_HEADER)),
        )
    code = error_code(headers, body)
    if status >= 500:
        return AttemptResult(Outcome.SERVER_ERROR, region, status, detail=code)
    if code in THROTTLING_CODES or status == 429:
        return AttemptResult(Outcome.THROTTLED, region, status, detail=code)
    return AttemptResult(Outcome.CLIENT_ERROR, region, status, detail=code)


def error_code(headers: Mapping[str, str], body: bytes) -> str:
    """The short error code of an error response, or "" when it carries none."""
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        parsed = None
    raw = parsed.get("__type") if isinstance(parsed, dict) else None
    if not isinstance(raw, str):
        raw = headers.get("x-amzn-ErrorType", "").split(":", 1)[0]
    return raw.rsplit("#", 1)[-1]


def _float_or_none(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        return None
