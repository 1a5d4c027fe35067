"""DynamoDB's expression language as the world evaluates it: conditions, updates, projections,
and the errors DynamoDB gives for bad ones."""

from __future__ import annotations

from typing import Any

import pytest

from harness.world.dynamo_expr import ExpressionError, Expressions, apply_update, project

ITEM: dict[str, Any] = {
    "pk": {"S": "order-1"},
    "total": {"N": "12.50"},
    "status": {"S": "open"},
    "tags": {"SS": ["a", "b"]},
    "lines": {"L": [{"S": "x"}, {"N": "2"}]},
    "address": {"M": {"city": {"S": "Seattle"}, "zip": {"S": "98101"}}},
}


def holds(text: str, item: dict[str, Any] = ITEM, **values: dict[str, str]) -> bool:
    request = {
        "ExpressionAttributeValues": {f":{k}": v for k, v in values.items()},
        "ExpressionAttributeNames": {"#s": "status"} if "#s" in text else None,
    }
    expressions = Expressions(request)
    condition = expressions.condition(text)
    expressions.finish()
    return condition(item)


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ("attribute_exists(pk)", {}, True),
        ("attribute_not_exists(pk)", {}, False),
        ("attribute_not_exists(missing)", {}, True),
        ("total > :n", {"n": {"N": "12.4"}}, True),
        ("total = :n", {"n": {"N": "12.5"}}, True),  # numbers compare as decimals
        ("total < :n", {"n": {"N": "9"}}, False),
        ("total >= :s", {"s": {"S": "1"}}, False),  # across types: false, not an error
        (
            "#s = :o AND total BETWEEN :lo AND :hi",
            {"o": {"S": "open"}, "lo": {"N": "10"}, "hi": {"N": "20"}},
            True,
        ),
        ("#s IN (:a, :b)", {"a": {"S": "closed"}, "b": {"S": "open"}}, True),
        ("NOT #s = :o OR attribute_exists(tags)", {"o": {"S": "open"}}, True),
        ("NOT (#s = :o OR attribute_exists(tags))", {"o": {"S": "open"}}, False),
        ("begins_with(pk, :p)", {"p": {"S": "order-"}}, True),
        ("contains(tags, :t)", {"t": {"S": "b"}}, True),
        ("contains(lines, :n)", {"n": {"N": "2.0"}}, True),
        ("size(lines) = :two", {"two": {"N": "2"}}, True),
        ("address.city = :c", {"c": {"S": "Seattle"}}, True),
        ("lines[1] = :n", {"n": {"N": "2"}}, True),
        ("attribute_type(total, :t)", {"t": {"S": "N"}}, True),
        # AND binds tighter than OR
        ("attribute_exists(nope) AND attribute_exists(pk) OR attribute_exists(pk)", {}, True),
    ],
)
def test_conditions(text: str, values: dict[str, dict[str, str]], expected: bool) -> None:
    assert holds(text, **values) is expected


def test_conditions_on_a_missing_item_see_no_attributes() -> None:
    assert holds("attribute_not_exists(pk)", {}) is True
    assert holds("version = :v", {}, v={"N": "1"}) is False


@pytest.mark.parametrize(
    ("text", "request_extra", "message"),
    [
        ("total >", {}, 'Syntax error; token: "<EOF>"'),
        (
            "total = :nope",
            {},
            "attribute value used in expression is not defined; attribute value: :nope",
        ),
        (
            "#nope = :v",
            {":v": {"S": "x"}},
            "attribute name used in the document path is not defined",
        ),
        ("attribute_exists(pk)", {":v": {"S": "x"}}, "unused in expressions: keys: {:v}"),
        ("frobnicate(pk)", {}, "Invalid function name; function: frobnicate"),
    ],
)
def test_bad_conditions_are_refused_with_dynamodbs_words(
    text: str, request_extra: dict[str, Any], message: str
) -> None:
    expressions = Expressions({"ExpressionAttributeValues": request_extra or None})
    with pytest.raises(ExpressionError, match=message.replace("{", r"\{").replace("(", r"\(")):
        expressions.condition(text)
        expressions.finish()


def update(text: str, item: dict[str, Any] = ITEM, **values: dict[str, Any]) -> dict[str, Any]:
    expressions = Expressions(
        {"ExpressionAttributeValues": {f":{k}": v for k, v in values.items()}}
    )
    actions = expressions.update(text)
    expressions.finish()
    return apply_update(item, actions)


def test_counters_and_defaults() -> None:
    new = update(
        "SET total = total + :d, seen = if_not_exists(seen, :zero) + :one",
        d={"N": "0.5"},
        zero={"N": "0"},
        one={"N": "1"},
    )
    assert new["total"] == {"N": "13"}  # canonical: 12.50 + 0.5 = 13
    assert new["seen"] == {"N": "1"}
    again = update(
        "SET seen = if_not_exists(seen, :zero) + :one", new, zero={"N": "0"}, one={"N": "1"}
    )
    assert again["seen"] == {"N": "2"}


def test_add_delete_remove_and_list_append() -> None:
    # ADD and DELETE on one path overlap: DynamoDB refuses that
    with pytest.raises(ExpressionError, match="Two document paths overlap"):
        update("ADD tags :more DELETE tags :gone", more={"SS": ["c"]}, gone={"SS": ["a"]})
    new = update(
        "ADD visits :one, tags :more REMOVE address SET lines = list_append(lines, :l)",
        one={"N": "1"},
        more={"SS": ["c", "a"]},
        l={"L": [{"S": "y"}]},
    )
    assert new["visits"] == {"N": "1"}
    assert new["tags"] == {"SS": ["a", "b", "c"]}
    assert "address" not in new
    assert new["lines"] == {"L": [{"S": "x"}, {"N": "2"}, {"S": "y"}]}
    emptied = update("DELETE tags :all", all={"SS": ["a", "b"]})
    assert "tags" not in emptied  # an emptied set is removed


def test_values_come_from_the_old_item() -> None:
    new = update("SET a = total, total = :z", z={"N": "0"})
    assert new["a"] == {"N": "12.50"} and new["total"] == {"N": "0"}


@pytest.mark.parametrize(
    ("text", "values", "message"),
    [
        ("SET total = missing + :one", {"one": {"N": "1"}}, "does not exist in the item"),
        ("SET status = status + :one", {"one": {"N": "1"}}, "incorrect data type"),
        (
            "SET a = :one SET b = :one",
            {"one": {"N": "1"}},
            'The "SET" section can only be used once',
        ),
        ("ADD status :s", {"s": {"S": "x"}}, "operator: ADD, operand type: S"),
        ("SET address.city = :s", {"s": {"S": "x"}}, "top-level attributes only"),
    ],
)
def test_bad_updates(text: str, values: dict[str, Any], message: str) -> None:
    with pytest.raises(ExpressionError, match=message):
        update(text, **values)


def test_projection_keeps_the_named_paths() -> None:
    expressions = Expressions({"ExpressionAttributeNames": {"#s": "status"}})
    paths = expressions.projection("pk, #s, address.city, lines[0]")
    expressions.finish()
    assert project(ITEM, paths) == {
        "pk": ITEM["pk"],
        "status": ITEM["status"],
        "address": {"M": {"city": {"S": "Seattle"}}},
        "lines": ITEM["lines"],
    }


def test_the_key_conditions_equality_is_found() -> None:
    expressions = Expressions(
        {"ExpressionAttributeNames": {"#p": "pk"}, "ExpressionAttributeValues": {":v": {"S": "o"}}}
    )
    assert expressions.equality_on("#p = :v AND begins_with(sk, :v)", "pk") == {"S": "o"}
    assert expressions.equality_on("sk = :v", "pk") is None
