"""A small order service that keeps its orders in DynamoDB through boto3.

Nothing here knows about the harness: in production `endpoints` is empty and boto3 uses AWS's
regional endpoints; under test it names the world's (`http://dynamodb.us-east-1.aws.test:PORT`),
resolved through the world's DNS server. Two ways to build the store:

- `default_store(...)`: one boto3 client for the home region with boto3's default configuration.
  When the home region's DNS record is emptied, every new connection fails to resolve and boto3
  raises EndpointConnectionError (after its own retries).
- `failover_store(...)`: one client per region, in order of preference; a request that cannot
  reach a region (DNS or connection failure) is sent to the next one, and the home region is
  tried again after `failback_after` seconds. With DynamoDB global tables the other region has
  the data (replicated, a little behind).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError

TABLE = "orders"
UNREACHABLE = (EndpointConnectionError, ConnectTimeoutError)


@dataclass(frozen=True, slots=True)
class Order:
    order_id: str
    customer: str
    quantity: int
    status: str = "placed"


def dynamodb_client(
    region: str, endpoint_url: str | None = None, config: Config | None = None
) -> Any:
    """A boto3 DynamoDB client; credentials are whatever the environment provides (the world
    accepts any, so tests set dummy ones)."""
    return boto3.client("dynamodb", region_name=region, endpoint_url=endpoint_url, config=config)


class FailoverClient:
    """Sends each call to the first region that can be reached; `served_by` says which did."""

    def __init__(
        self,
        clients: Sequence[tuple[str, Any]],
        *,
        failback_after: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clients = list(clients)
        self._failback_after = failback_after
        self._clock = clock
        self._avoid_until: dict[str, float] = {}
        self.served_by: str | None = None

    def call(self, operation: str, **params: Any) -> dict[str, Any]:
        now = self._clock()
        usable = [c for c in self._clients if self._avoid_until.get(c[0], 0.0) <= now]
        last_error: Exception | None = None
        for region, client in usable or self._clients:
            try:
                result: dict[str, Any] = getattr(client, operation)(**params)
            except UNREACHABLE as exc:
                self._avoid_until[region] = now + self._failback_after
                last_error = exc
                continue
            self.served_by = region
            return result
        assert last_error is not None
        raise last_error


class _Single:
    def __init__(self, client: Any) -> None:
        self._client = client

    def call(self, operation: str, **params: Any) -> dict[str, Any]:
        result: dict[str, Any] = getattr(self._client, operation)(**params)
        return result


class OrderStore:
    def __init__(self, client: FailoverClient | _Single, table: str = TABLE) -> None:
        self._client = client
        self._table = table

    def place(self, order: Order) -> None:
        self._client.call("put_item", TableName=self._table, Item=_item(order))

    def get(self, order_id: str) -> Order | None:
        found = self._client.call(
            "get_item", TableName=self._table, Key={"pk": {"S": order_id}}, ConsistentRead=True
        )
        item = found.get("Item")
        return None if item is None else _order(item)

    def ship(self, order_id: str) -> Order:
        updated = self._client.call(
            "update_item",
            TableName=self._table,
            Key={"pk": {"S": order_id}},
            UpdateExpression="SET #s = :s",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": {"S": "shipped"}},
            ReturnValues="ALL_NEW",
        )
        return _order(updated["Attributes"])

    def cancel(self, order_id: str) -> None:
        self._client.call("delete_item", TableName=self._table, Key={"pk": {"S": order_id}})


def default_store(home: str, endpoints: Mapping[str, str] | None = None) -> OrderStore:
    """boto3's defaults, one region."""
    return OrderStore(_Single(dynamodb_client(home, (endpoints or {}).get(home))))


def failover_store(
    regions: Sequence[str],
    endpoints: Mapping[str, str] | None = None,
    *,
    failback_after: float = 5.0,
) -> tuple[OrderStore, FailoverClient]:
    """One client per region in order of preference. Each fails fast instead of retrying a
    region it cannot reach: one attempt, short connect timeout; the other region is the retry."""
    config = Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=2)
    clients = [(r, dynamodb_client(r, (endpoints or {}).get(r), config)) for r in regions]
    router = FailoverClient(clients, failback_after=failback_after)
    return OrderStore(router), router


def _item(order: Order) -> dict[str, Any]:
    return {
        "pk": {"S": order.order_id},
        "customer": {"S": order.customer},
        "quantity": {"N": str(order.quantity)},
        "status": {"S": order.status},
    }


def _order(item: Mapping[str, Any]) -> Order:
    return Order(
        order_id=item["pk"]["S"],
        customer=item["customer"]["S"],
        quantity=int(item["quantity"]["N"]),
        status=item["status"]["S"],
    )
