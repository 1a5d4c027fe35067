"""What real applications' code sends, sent by real botocore to a region: conditional writes,
counters, Query on the hash key, batches, projections; and DynamoDB's errors for the rest."""

from __future__ import annotations

import asyncio
from typing import Any

from test_world_endpoints_protocol import botocore_client
from world_endpoint_support import region_spec, running_region


def _exercise(client: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    table = "orders"
    client.create_table(
        TableName=table,
        KeySchema=[
            {"AttributeName": "customer", "KeyType": "HASH"},
            {"AttributeName": "order", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "customer", "AttributeType": "S"},
            {"AttributeName": "order", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    first = {"customer": {"S": "c1"}, "order": {"N": "1"}, "total": {"N": "10"}}
    client.put_item(
        TableName=table, Item=first, ConditionExpression="attribute_not_exists(customer)"
    )
    try:  # the same create-if-absent again: DynamoDB's ConditionalCheckFailedException
        client.put_item(
            TableName=table,
            Item=first,
            ConditionExpression="attribute_not_exists(customer)",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except client.exceptions.ConditionalCheckFailedException as exc:
        out["conflict"] = exc.response
    out["counter"] = client.update_item(
        TableName=table,
        Key={"customer": {"S": "c1"}, "order": {"N": "1"}},
        UpdateExpression=(
            "SET #t = #t + :d, visits = if_not_exists(visits, :z) + :one ADD tags :tag"
        ),
        ConditionExpression="#t >= :min",
        ExpressionAttributeNames={"#t": "total"},
        ExpressionAttributeValues={
            ":d": {"N": "2.5"},
            ":z": {"N": "0"},
            ":one": {"N": "1"},
            ":min": {"N": "5"},
            ":tag": {"SS": ["vip"]},
        },
        ReturnValues="ALL_NEW",
    )["Attributes"]
    client.batch_write_item(
        RequestItems={
            table: [
                {
                    "PutRequest": {
                        "Item": {
                            "customer": {"S": "c1"},
                            "order": {"N": str(n)},
                            "total": {"N": str(n * 10)},
                        }
                    }
                }
                for n in range(2, 12)
            ]
            + [{"PutRequest": {"Item": {"customer": {"S": "c2"}, "order": {"N": "1"}}}}]
        }
    )
    pages = []
    start: dict[str, Any] | None = None
    while True:
        kwargs: dict[str, Any] = {"ExclusiveStartKey": start} if start else {}
        page = client.query(
            TableName=table,
            KeyConditionExpression="customer = :c AND #o BETWEEN :lo AND :hi",
            FilterExpression="#t > :big",
            ProjectionExpression="#o, #t",
            ExpressionAttributeNames={"#o": "order", "#t": "total"},
            ExpressionAttributeValues={
                ":c": {"S": "c1"},
                ":lo": {"N": "2"},
                ":hi": {"N": "10"},
                ":big": {"N": "30"},
            },
            ScanIndexForward=False,
            Limit=4,
            **kwargs,
        )
        pages.append(page)
        start = page.get("LastEvaluatedKey")
        if not start:
            break
    out["pages"] = pages
    out["batch"] = client.batch_get_item(
        RequestItems={
            table: {
                "Keys": [
                    {"customer": {"S": "c1"}, "order": {"N": "1"}},
                    {"customer": {"S": "c2"}, "order": {"N": "1"}},
                    {"customer": {"S": "c9"}, "order": {"N": "1"}},
                ],
                "ProjectionExpression": "customer, #o",
                "ExpressionAttributeNames": {"#o": "order"},
            }
        }
    )
    try:
        client.scan(TableName=table)
    except client.exceptions.ClientError as exc:
        out["scan"] = exc.response
    return out


async def test_real_botocore_speaks_expressions_queries_and_batches() -> None:
    async with running_region(region_spec(endpoints=1), octet=79) as region:
        client = botocore_client(region.endpoint_addresses()[0], region.port)
        out = await asyncio.to_thread(_exercise, client)
        client.close()
    conflict = out["conflict"]
    assert conflict["Error"]["Code"] == "ConditionalCheckFailedException"
    assert conflict["Error"]["Message"] == "The conditional request failed"
    assert conflict["Item"]["total"] == {"N": "10"}  # ReturnValuesOnConditionCheckFailure
    counter = out["counter"]
    assert counter["total"] == {"N": "12.5"}
    assert counter["visits"] == {"N": "1"}
    assert counter["tags"] == {"SS": ["vip"]}
    # orders 2..10 of c1, newest first, 4 evaluated per page, kept if total > 30 (orders 4..10)
    pages = out["pages"]
    assert [p["ScannedCount"] for p in pages] == [4, 4, 1]
    orders = [int(i["order"]["N"]) for p in pages for i in p["Items"]]
    assert orders == [10, 9, 8, 7, 6, 5, 4]
    assert all(set(i) == {"order", "total"} for p in pages for i in p["Items"])
    responses = out["batch"]["Responses"]["orders"]
    assert sorted(r["customer"]["S"] for r in responses) == ["c1", "c2"]
    assert all(set(r) == {"customer", "order"} for r in responses)
    assert out["batch"]["UnprocessedKeys"] == {}
    assert out["scan"]["Error"]["Code"] == "UnknownOperationException"
