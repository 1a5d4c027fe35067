"""DynamoDB's expression language: condition, key-condition, filter, projection and update
expressions, parsed once per request by a small recursive-descent parser and evaluated on items.

Grammar (DynamoDB developer guide, "Condition and filter expressions", "Update expressions"):

    condition  ::= disjunct (OR disjunct)*
    disjunct   ::= negation (AND negation)*
    negation   ::= NOT negation | predicate
    predicate  ::= '(' condition ')' | function | operand comparator operand
                 | operand BETWEEN operand AND operand | operand IN '(' operand (',' operand)* ')'
    function   ::= attribute_exists(path) | attribute_not_exists(path) | attribute_type(path, :t)
                 | begins_with(path, operand) | contains(path, operand)
    operand    ::= path | :value | size(path)
    path       ::= name ('.' name | '[' n ']')*      name: identifier or #token
    update     ::= (SET set-action,… | REMOVE path,… | ADD path :v,… | DELETE path :v,…)+
    set-action ::= path '=' value (('+' | '-') value)?
    value      ::= operand | if_not_exists(path, value) | list_append(value, value)

Errors are raised as ExpressionError with DynamoDB's wording; dynamo.py answers them as
ValidationException. Values are DynamoDB typed JSON ({"S": "x"}, {"N": "3"}, ...); numbers are
compared and added as decimals, as DynamoDB does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, NoReturn

Item = dict[str, Any]
Value = dict[str, Any]  # one typed attribute value
PathPart = str | int  # attribute name, or list index
Path = tuple[PathPart, ...]


class ExpressionError(ValueError):
    """The expression is invalid; the message is DynamoDB's."""


_TOKEN = re.compile(
    r"\s*(?:(?P<name>#[A-Za-z0-9_]+)|(?P<value>:[A-Za-z0-9_]+)|(?P<op><>|<=|>=|[=<>(),.\[\]+-])"
    r"|(?P<number>\d+)|(?P<word>[A-Za-z_][A-Za-z0-9_]*))"
)
_KEYWORDS = frozenset({"AND", "OR", "NOT", "BETWEEN", "IN", "SET", "REMOVE", "ADD", "DELETE"})
_COMPARATORS = frozenset({"=", "<>", "<", "<=", ">", ">="})
_MAX_LENGTH = 4096  # DynamoDB's limit on one expression string


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # name | value | op | number | word | end
    text: str
    at: int


def _tokens(text: str, what: str) -> list[_Token]:
    if len(text) > _MAX_LENGTH:
        raise ExpressionError(f"Invalid {what}: Expression size has exceeded the maximum allowed")
    out: list[_Token] = []
    position = 0
    while position < len(text):
        if text[position:].isspace():
            break
        match = _TOKEN.match(text, position)
        if match is None or match.lastgroup is None:
            bad = text[position:].strip()[:1]
            raise ExpressionError(f'Invalid {what}: Syntax error; token: "{bad}", near: "{bad}"')
        out.append(
            _Token(match.lastgroup, match.group(match.lastgroup), match.start(match.lastgroup))
        )
        position = match.end()
    out.append(_Token("end", "<EOF>", len(text)))
    return out


_START = _Token("start", "", 0)


class _Substitutions:
    """ExpressionAttributeNames/Values, and which of them the expressions used."""

    def __init__(self, names: object, values: object) -> None:
        if names is not None and not isinstance(names, dict):
            raise ExpressionError("ExpressionAttributeNames must be a map")
        if values is not None and not isinstance(values, dict):
            raise ExpressionError("ExpressionAttributeValues must be a map")
        self.names: dict[str, Any] = names or {}
        self.values: dict[str, Any] = values or {}
        self.used_names: set[str] = set()
        self.used_values: set[str] = set()

    def name(self, token: str) -> str:
        if token not in self.names:
            raise ExpressionError(
                "An expression attribute name used in the document path is not defined; "
                f"attribute name: {token}"
            )
        self.used_names.add(token)
        return str(self.names[token])

    def value(self, token: str) -> Value:
        if token not in self.values:
            raise ExpressionError(
                "An expression attribute value used in expression is not defined; "
                f"attribute value: {token}"
            )
        self.used_values.add(token)
        value = self.values[token]
        if not isinstance(value, dict) or len(value) != 1:
            raise ExpressionError(f"Supplied AttributeValue is empty or invalid: {token}")
        return value

    def check_all_used(self) -> None:
        unused_names = sorted(set(self.names) - self.used_names)
        if unused_names:
            raise ExpressionError(
                "Value provided in ExpressionAttributeNames unused in expressions: "
                f"keys: {{{', '.join(unused_names)}}}"
            )
        unused_values = sorted(set(self.values) - self.used_values)
        if unused_values:
            raise ExpressionError(
                "Value provided in ExpressionAttributeValues unused in expressions: "
                f"keys: {{{', '.join(unused_values)}}}"
            )


# ---- evaluation helpers --------------------------------------------------------------------------

Operand = Callable[[Item], Value | None]
Condition = Callable[[Item], bool]


def resolve(item: Item | Value | None, path: Path) -> Value | None:
    """The value at `path` in `item`, or None when absent."""
    current: Any = {"M": item} if item is not None else None
    for part in path:
        if current is None:
            return None
        if isinstance(part, int):
            seq = current.get("L")
            current = seq[part] if isinstance(seq, list) and 0 <= part < len(seq) else None
        else:
            mapping = current.get("M")
            current = mapping.get(part) if isinstance(mapping, dict) else None
    return current if isinstance(current, dict) else None


def _number(value: Value) -> Decimal:
    try:
        return Decimal(str(value["N"]))
    except (InvalidOperation, KeyError) as exc:
        raise ExpressionError(
            f"The parameter cannot be converted to a numeric value: {value}"
        ) from exc


def number_text(number: Decimal) -> str:
    """DynamoDB's canonical form of a number: no exponent, no trailing zeros."""
    text = format(number.normalize(), "f")
    return text if text != "-0" else "0"


def _compare(left: Value | None, op: str, right: Value | None) -> bool:
    if left is None or right is None:
        return False
    if op in ("=", "<>"):
        equal = _equal(left, right)
        return equal if op == "=" else not equal
    ((lt, lv),) = left.items()
    ((rt, rv),) = right.items()
    if lt != rt or lt not in ("S", "N", "B"):
        return False  # DynamoDB: ordering across types (or of other types) is false
    a: Any = _number(left) if lt == "N" else lv
    b: Any = _number(right) if lt == "N" else rv
    return bool({"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op])


def _equal(left: Value, right: Value) -> bool:
    if "N" in left and "N" in right:
        return _number(left) == _number(right)
    for kind in ("SS", "NS", "BS"):
        if kind in left and kind in right:
            return set(left[kind]) == set(right[kind])
    return left == right


def _size(value: Value | None) -> Value | None:
    if value is None:
        return None
    ((kind, raw),) = value.items()
    if kind == "S":
        return {"N": str(len(raw.encode()))}
    if kind in ("B", "L", "M", "SS", "NS", "BS"):
        return {"N": str(len(raw))}
    raise ExpressionError(
        "Invalid ConditionExpression: Incorrect operand type for operator or function; "
        f"operator or function: size, operand type: {kind}"
    )


# ---- the parser --------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str, what: str, subs: _Substitutions) -> None:
        self.text = text
        self.what = what
        self.subs = subs
        self.tokens = _tokens(text, what)
        self.index = 0

    # token stream
    @property
    def peek(self) -> _Token:
        return self.tokens[self.index]

    @property
    def following(self) -> _Token:
        """The token after the next one (the end token when there is none)."""
        return self.tokens[min(self.index + 1, len(self.tokens) - 1)]

    def take(self) -> _Token:
        token = self.tokens[self.index]
        if token.kind != "end":
            self.index += 1
        return token

    def keyword(self, word: str) -> bool:
        token = self.peek
        if token.kind == "word" and token.text.upper() == word:
            self.index += 1
            return True
        return False

    def symbol(self, text: str) -> bool:
        if self.peek.kind == "op" and self.peek.text == text:
            self.index += 1
            return True
        return False

    def expect(self, text: str) -> None:
        if not self.symbol(text):
            self.fail()

    def fail(self, token: _Token | None = None) -> NoReturn:
        token = token or self.peek
        near = self.text[max(0, token.at - 8) : token.at + len(token.text) + 8].strip()
        raise ExpressionError(
            f'Invalid {self.what}: Syntax error; token: "{token.text}", near: "{near}"'
        )

    def done(self) -> None:
        if self.peek.kind != "end":
            self.fail()

    # paths and operands
    def path(self) -> Path:
        token = self.take()
        if token.kind == "name":
            parts: list[PathPart] = [self.subs.name(token.text)]
        elif token.kind == "word" and token.text.upper() not in _KEYWORDS:
            parts = [token.text]
        else:
            self.fail(token)
        while True:
            if self.symbol("."):
                part = self.take()
                if part.kind == "name":
                    parts.append(self.subs.name(part.text))
                elif part.kind == "word":
                    parts.append(part.text)
                else:
                    self.fail(part)
            elif self.symbol("["):
                index = self.take()
                if index.kind != "number":
                    self.fail(index)
                parts.append(int(index.text))
                self.expect("]")
            else:
                return tuple(parts)

    def operand(self) -> Operand:
        token = self.peek
        if token.kind == "value":
            self.index += 1
            value = self.subs.value(token.text)
            return lambda item: value
        if token.kind == "word" and token.text == "size":
            self.index += 1
            self.expect("(")
            path = self.path()
            self.expect(")")
            return lambda item: _size(resolve(item, path))
        path = self.path()
        return lambda item: resolve(item, path)

    # conditions
    def condition(self) -> Condition:
        terms = [self.conjunction()]
        while self.keyword("OR"):
            terms.append(self.conjunction())
        if len(terms) == 1:
            return terms[0]
        return lambda item: any(term(item) for term in terms)

    def conjunction(self) -> Condition:
        terms = [self.negation()]
        while self.keyword("AND"):
            terms.append(self.negation())
        if len(terms) == 1:
            return terms[0]
        return lambda item: all(term(item) for term in terms)

    def negation(self) -> Condition:
        if self.keyword("NOT"):
            inner = self.negation()
            return lambda item: not inner(item)
        return self.predicate()

    def predicate(self) -> Condition:
        if self.symbol("("):
            inner = self.condition()
            self.expect(")")
            return inner
        token = self.peek
        following = self.following
        is_call = token.kind == "word" and following.kind == "op" and following.text == "("
        if is_call and token.text != "size":
            return self.function()
        left = self.operand()
        if self.keyword("BETWEEN"):
            low = self.operand()
            if not self.keyword("AND"):
                self.fail()
            high = self.operand()
            return lambda item: (
                _compare(left(item), ">=", low(item)) and _compare(left(item), "<=", high(item))
            )
        if self.keyword("IN"):
            self.expect("(")
            choices = [self.operand()]
            while self.symbol(","):
                choices.append(self.operand())
            self.expect(")")
            return lambda item: any(_compare(left(item), "=", c(item)) for c in choices)
        op = self.peek
        if op.kind != "op" or op.text not in _COMPARATORS:
            self.fail()
        self.index += 1
        right = self.operand()
        return lambda item: _compare(left(item), op.text, right(item))

    def function(self) -> Condition:
        name = self.take().text
        self.expect("(")
        if name in ("attribute_exists", "attribute_not_exists"):
            path = self.path()
            self.expect(")")
            exists = name == "attribute_exists"
            return lambda item: (resolve(item, path) is not None) == exists
        if name == "attribute_type":
            path = self.path()
            self.expect(",")
            wanted = self.operand()
            self.expect(")")

            def has_type(item: Item) -> bool:
                value, kind = resolve(item, path), wanted(item)
                return value is not None and kind is not None and kind.get("S") in value

            return has_type
        if name in ("begins_with", "contains"):
            path = self.path()
            self.expect(",")
            needle = self.operand()
            self.expect(")")
            check = _begins_with if name == "begins_with" else _contains
            return lambda item: check(resolve(item, path), needle(item))
        raise ExpressionError(f"Invalid {self.what}: Invalid function name; function: {name}")


def _begins_with(value: Value | None, prefix: Value | None) -> bool:
    if value is None or prefix is None:
        return False
    for kind in ("S", "B"):
        if kind in value and kind in prefix:
            return str(value[kind]).startswith(str(prefix[kind]))
    return False


def _contains(value: Value | None, needle: Value | None) -> bool:
    if value is None or needle is None:
        return False
    if "S" in value and "S" in needle:
        return str(needle["S"]) in str(value["S"])
    for kind, member in (("SS", "S"), ("NS", "N"), ("BS", "B")):
        if kind in value and member in needle:
            return needle[member] in value[kind]
    if "L" in value:
        return any(_equal(element, needle) for element in value["L"])
    return False


# ---- public entry points -----------------------------------------------------------------------


class Expressions:
    """All the expressions of one request, sharing its substitutions (so unused ones are caught)."""

    def __init__(self, request: Mapping[str, Any]) -> None:
        self._subs = _Substitutions(
            request.get("ExpressionAttributeNames"), request.get("ExpressionAttributeValues")
        )

    def condition(self, text: object, what: str = "ConditionExpression") -> Condition:
        if not isinstance(text, str) or not text.strip():
            raise ExpressionError(f"Invalid {what}: The expression can not be empty;")
        parser = _Parser(text, what, self._subs)
        condition = parser.condition()
        parser.done()
        return condition

    def projection(self, text: object) -> tuple[Path, ...]:
        if not isinstance(text, str) or not text.strip():
            raise ExpressionError("Invalid ProjectionExpression: The expression can not be empty;")
        parser = _Parser(text, "ProjectionExpression", self._subs)
        paths = [parser.path()]
        while parser.symbol(","):
            paths.append(parser.path())
        parser.done()
        return tuple(paths)

    def update(self, text: object) -> tuple[UpdateAction, ...]:
        if not isinstance(text, str) or not text.strip():
            raise ExpressionError("Invalid UpdateExpression: The expression can not be empty;")
        return _UpdateParser(text, self._subs).actions()

    def key_condition(self, text: object) -> Condition:
        return self.condition(text, "KeyConditionExpression")

    def equality_on(self, text: object, attribute: str) -> Value | None:
        """The value a key condition requires of `attribute` (`attribute = :v`), if it does."""
        tokens = [_START, *_tokens(str(text), "KeyConditionExpression")]
        for before, a, op, b in zip(tokens, tokens[1:], tokens[2:], tokens[3:], strict=False):
            if op.kind != "op" or op.text != "=" or before.text == ".":
                continue
            for path, value in ((a, b), (b, a)):
                named = self._subs.names.get(path.text) if path.kind == "name" else path.text
                if value.kind == "value" and path.kind in ("name", "word") and named == attribute:
                    found = self._subs.values.get(value.text)
                    return found if isinstance(found, dict) else None
        return None

    def finish(self) -> None:
        """Call after parsing every expression of the request."""
        self._subs.check_all_used()


def project(item: Item, paths: tuple[Path, ...]) -> Item:
    """The item reduced to `paths` (top-level attributes, or nested ones rebuilt as maps)."""
    out: Item = {}
    for path in paths:
        value = resolve(item, path)
        if value is None:
            continue
        if len(path) == 1:
            out[str(path[0])] = value
            continue
        head = path[0]
        if isinstance(head, str) and all(isinstance(p, str) for p in path):
            node = out.setdefault(head, {"M": {}})
            for part in path[1:-1]:
                node = node["M"].setdefault(part, {"M": {}})
            node["M"][path[-1]] = value
        else:  # list elements are projected as the whole top-level attribute
            whole = item.get(str(head))
            if whole is not None:
                out[str(head)] = whole
    return out


# ---- updates -----------------------------------------------------------------------------------

ValueExpr = Callable[[Item], Value | None]


@dataclass(frozen=True, slots=True)
class UpdateAction:
    clause: str  # SET | REMOVE | ADD | DELETE
    path: Path
    value: ValueExpr | None = None

    @property
    def attribute(self) -> str:
        return str(self.path[0])


class _UpdateParser(_Parser):
    def __init__(self, text: str, subs: _Substitutions) -> None:
        super().__init__(text, "UpdateExpression", subs)

    def actions(self) -> tuple[UpdateAction, ...]:
        actions: list[UpdateAction] = []
        seen: set[str] = set()
        while self.peek.kind != "end":
            token = self.take()
            clause = token.text.upper() if token.kind == "word" else ""
            if clause not in ("SET", "REMOVE", "ADD", "DELETE"):
                self.fail(token)
            if clause in seen:
                raise ExpressionError(
                    f'Invalid UpdateExpression: The "{clause}" section can only be used once in '
                    "an update expression;"
                )
            seen.add(clause)
            while True:
                actions.append(self.action(clause))
                if not self.symbol(","):
                    break
        paths = [action.path for action in actions]
        for i, a in enumerate(paths):
            for b in paths[i + 1 :]:
                if a[: len(b)] == b or b[: len(a)] == a:
                    raise ExpressionError(
                        "Invalid UpdateExpression: Two document paths overlap with each other; "
                        "must remove or rewrite one of these paths; "
                        f"path one: {_show(a)}, path two: {_show(b)}"
                    )
        return tuple(actions)

    def action(self, clause: str) -> UpdateAction:
        path = self.path()
        if clause == "REMOVE":
            return UpdateAction(clause, path)
        if clause == "SET":
            self.expect("=")
            first = self.value()
            if self.symbol("+"):
                second = self.value()
                return UpdateAction(clause, path, _arithmetic(first, second, 1))
            if self.symbol("-"):
                second = self.value()
                return UpdateAction(clause, path, _arithmetic(first, second, -1))
            return UpdateAction(clause, path, first)
        token = self.peek
        if token.kind != "value":
            self.fail()
        self.index += 1
        value = self.subs.value(token.text)
        return UpdateAction(clause, path, lambda item: value)

    def value(self) -> ValueExpr:
        token = self.peek
        following = self.following
        if token.kind == "word" and following.kind == "op" and following.text == "(":
            name = self.take().text
            self.expect("(")
            if name == "if_not_exists":
                path = self.path()
                self.expect(",")
                fallback = self.value()
                self.expect(")")
                return lambda item: resolve(item, path) or fallback(item)
            if name == "list_append":
                left = self.value()
                self.expect(",")
                right = self.value()
                self.expect(")")
                return lambda item: _list_append(left(item), right(item))
            raise ExpressionError(
                f"Invalid UpdateExpression: Invalid function name; function: {name}"
            )
        return self.operand()


def _show(path: Path) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


def _arithmetic(first: ValueExpr, second: ValueExpr, sign: int) -> ValueExpr:
    def compute(item: Item) -> Value | None:
        a, b = first(item), second(item)
        if a is None or b is None:
            raise ExpressionError(
                "The provided expression refers to an attribute that does not exist in the item"
            )
        if "N" not in a or "N" not in b:
            raise ExpressionError("An operand in the update expression has an incorrect data type")
        return {"N": number_text(_number(a) + sign * _number(b))}

    return compute


def _list_append(a: Value | None, b: Value | None) -> Value:
    if a is None or b is None or "L" not in a or "L" not in b:
        raise ExpressionError("An operand in the update expression has an incorrect data type")
    return {"L": [*a["L"], *b["L"]]}


def apply_update(item: Item, actions: tuple[UpdateAction, ...]) -> Item:
    """The new item. Every value is computed from the OLD item, as DynamoDB does."""
    old = item
    new = dict(item)
    for action in actions:
        if len(action.path) != 1:
            raise ExpressionError(
                "Invalid UpdateExpression: this endpoint updates top-level attributes only; "
                f"path: {_show(action.path)}"
            )
        name = action.attribute
        if action.clause == "REMOVE":
            new.pop(name, None)
            continue
        assert action.value is not None
        value = action.value(old)
        if value is None:
            raise ExpressionError(
                "The provided expression refers to an attribute that does not exist in the item"
            )
        current = old.get(name)
        if action.clause == "SET":
            new[name] = value
        elif action.clause == "ADD":
            new[name] = _add(current, value)
        else:
            result = _delete(current, value)
            if result is None:
                new.pop(name, None)
            else:
                new[name] = result
    return new


def _add(current: Value | None, value: Value) -> Value:
    if "N" in value:
        if current is None:
            return {"N": number_text(_number(value))}
        if "N" not in current:
            raise ExpressionError("An operand in the update expression has an incorrect data type")
        return {"N": number_text(_number(current) + _number(value))}
    for kind in ("SS", "NS", "BS"):
        if kind in value:
            if current is None:
                return {kind: list(dict.fromkeys(value[kind]))}
            if kind not in current:
                raise ExpressionError(
                    "An operand in the update expression has an incorrect data type"
                )
            return {kind: list(dict.fromkeys([*current[kind], *value[kind]]))}
    raise ExpressionError(
        "Invalid UpdateExpression: Incorrect operand type for operator or function; "
        f"operator: ADD, operand type: {next(iter(value))}"
    )


def _delete(current: Value | None, value: Value) -> Value | None:
    for kind in ("SS", "NS", "BS"):
        if kind in value:
            if current is None:
                return None
            if kind not in current:
                raise ExpressionError(
                    "An operand in the update expression has an incorrect data type"
                )
            left = [v for v in current[kind] if v not in set(value[kind])]
            return {kind: left} if left else None  # DynamoDB drops a set that becomes empty
    raise ExpressionError(
        "Invalid UpdateExpression: Incorrect operand type for operator or function; "
        f"operator: DELETE, operand type: {next(iter(value))}"
    )
