"""A forgiving JSON reader for the provider's pushes.

The provider's own samples are not strict JSON: they have trailing commas,
`//` comments and missing commas between members. A push we cannot read is a
report we lose, so after a strict parse fails the text is repaired token by
token and parsed again. The repair never guesses values: it only drops
comments and trailing commas and inserts a comma where one value directly
follows another. Anything else is still an error.
"""

from __future__ import annotations

import json
import re

__all__ = ["LenientJSONError", "loads_lenient"]


class LenientJSONError(ValueError):
    """The text is not JSON even after repair."""


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


def loads_lenient(text: str) -> object:
    """Parse `text` as JSON, repairing the provider's usual mistakes."""
    try:
        return json.loads(repair(text))
    except json.JSONDecodeError as exc:
        raise LenientJSONError(f"not JSON even after repair: {exc.msg} (offset {exc.pos})") from exc
