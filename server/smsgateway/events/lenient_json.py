"""Bounded JSON reading for the provider's pushes: strict first, then forgiving.

Bounds, so that no body can crash or stall the reader:

* nesting deeper than `max_depth` is refused: a document deeper than the
  interpreter's recursion limit makes `json.loads` stop early with a
  `RecursionError` (after reading about a thousand brackets), which is caught
  and reported as `TooDeepError`; anything shallower is measured after parsing
  (a push's usual array of flat objects by counting its brackets, C-fast;
  anything else by an iterative walk, `depth_exceeds`), so that nothing
  downstream (item checks, `json.dumps` of a dead letter) ever recurses deeply;
* an integer literal too long for Python's int/str conversion limit (4,300
  digits) does not fail the whole body: the document is read again with such
  numbers as `Decimal`, and the item holding one is refused on its own.

The provider's own samples are not strict JSON: they have trailing commas,
`//` comments and missing commas between members. A push we cannot read is a
report we lose, so after a strict parse fails the text is repaired token by
token and parsed again (`loads_lenient`). The repair never guesses values: it
only drops comments and trailing commas and inserts a comma where one value
directly follows another. Anything else is still an error. The repair is a
Python loop (about 1 µs per token): callers bound the size they hand it and run
it off the event loop.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal

__all__ = [
    "DEFAULT_MAX_DEPTH",
    "LenientJSONError",
    "TooDeepError",
    "depth_exceeds",
    "loads_lenient",
    "loads_strict",
]

DEFAULT_MAX_DEPTH = 32
"""Arrays/objects nested deeper than this are refused (a push needs 2)."""


class LenientJSONError(ValueError):
    """The text is not JSON even after repair."""


class TooDeepError(LenientJSONError):
    """The text nests arrays/objects deeper than allowed."""

    def __init__(self, max_depth: int) -> None:
        super().__init__(f"nested deeper than {max_depth} levels")
        self.max_depth = max_depth


# -- strict, bounded ------------------------------------------------------------


def depth_exceeds(doc: object, max_depth: int) -> bool:
    """True when `doc` (as `json.loads` returns it) nests lists/dicts deeper than `max_depth`.

    Iterative (no recursion), stops at the first container that is too deep;
    costs one type check per value otherwise.
    """
    containers = (list, dict)  # a tuple: isinstance with one is faster than with `list | dict`
    if not isinstance(doc, containers):
        return False
    stack: list[tuple[list[object] | dict[str, object], int]] = [(doc, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > max_depth:
            return True
        for child in value.values() if isinstance(value, dict) else value:
            if isinstance(child, containers):
                stack.append((child, depth + 1))
    return False


def loads_strict(text: str, max_depth: int = DEFAULT_MAX_DEPTH) -> object:
    """`json.loads` with bounded nesting and tolerance of over-long integers.

    Raises `TooDeepError` when the document nests deeper than `max_depth` (a
    document deeper than the interpreter's recursion limit fails fast inside
    `json.loads` and is reported the same way, never as `RecursionError`), and
    `json.JSONDecodeError` when the text is not strict JSON. Integers longer
    than Python's int/str conversion limit come back as `Decimal` instead of
    failing the whole text.
    """
    try:
        try:
            doc = json.loads(text)
        except json.JSONDecodeError:
            raise
        except ValueError:
            # "Exceeds the limit (4300 digits) for integer string conversion".
            doc = json.loads(text, parse_int=Decimal)
    except RecursionError:
        raise TooDeepError(max_depth) from None
    if not (max_depth >= 2 and _flat_array(text, doc)) and depth_exceeds(doc, max_depth):
        raise TooDeepError(max_depth)
    return doc


def _flat_array(text: str, doc: object) -> bool:
    """True when `doc` (parsed from `text`) is an array whose only containers are objects
    of scalars, i.e. nests at most 2 deep, found by counting brackets in `text` (C speed).

    Every array or object in `doc` comes from its own `[` or `{` in `text`, so when the
    text has exactly as many of them as `doc` has known containers (itself and its
    object items), there is no other container. Brackets inside strings only make the
    count larger, and the walk (`depth_exceeds`) decides then.
    """
    if type(doc) is not list:
        return False
    objects = list(map(type, doc)).count(dict)
    return text.count("[") + text.count("{") == 1 + objects


# -- lenient --------------------------------------------------------------------

# One token of JSON-with-comments: a string, a comment, punctuation, or a bare
# word (number, true/false/null, or garbage that json.loads will reject).
_TOKEN = re.compile(
    r"""
      (?P<ws>\s+)
    | (?P<string>"(?:[^"\\]|\\.)*")
    | (?P<line_comment>//[^\n]*)
    | (?P<block_comment>/\*.*?\*/)
    | (?P<punct>[{}\[\]:,])
    | (?P<word>[^\s{}\[\]:,"/]+)
    """,
    re.VERBOSE | re.DOTALL,
)

_VALUE_END = frozenset("}]")
_VALUE_START = frozenset("{[")


def _ends_value(token: str) -> bool:
    return token in _VALUE_END or token[0] == '"' or token[0] not in "{[:,"


def _starts_value(token: str) -> bool:
    return token in _VALUE_START or token[0] == '"' or token[0] not in "}]:,"


def repair(text: str) -> str:
    """Drop comments and trailing commas; insert missing commas between values."""
    tokens: list[str] = []
    pos = 0
    length = len(text)
    while pos < length:
        match = _TOKEN.match(text, pos)
        if match is None:
            raise LenientJSONError(f"not JSON: unexpected character at offset {pos}")
        pos = match.end()
        kind = match.lastgroup
        if kind in ("ws", "line_comment", "block_comment"):
            continue
        token = match.group()
        if (
            token in _VALUE_END
            and len(tokens) >= 2
            and tokens[-1] == ","
            and _ends_value(tokens[-2])
        ):
            tokens.pop()  # a trailing comma after a value (not "[,]")
        elif tokens and _ends_value(tokens[-1]) and _starts_value(token):
            tokens.append(",")  # missing comma between two values / members
        tokens.append(token)
    return "".join(tokens)


def loads_lenient(text: str, max_depth: int = DEFAULT_MAX_DEPTH) -> object:
    """Parse `text` as JSON, repairing the provider's usual mistakes.

    Raises `LenientJSONError` (or its `TooDeepError`) when even the repaired
    text is not JSON; the depth bound applies to the repaired text, so a comment
    cannot hide nesting from it.
    """
    try:
        return loads_strict(repair(text), max_depth)
    except json.JSONDecodeError as exc:
        raise LenientJSONError(f"not JSON even after repair: {exc.msg} (offset {exc.pos})") from exc
