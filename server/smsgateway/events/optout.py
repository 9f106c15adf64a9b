"""Detection of unsubscribe (opt-out) uplinks.

A handset that answers a marketing message with an unsubscribe keyword ("TD",
"退订", ...) must not get marketing messages of that sign again. The rule is
deliberately narrow: the whole content, once case, width and whitespace are
ignored, must be one keyword; "TD谢谢" or "please stop" are ordinary uplinks.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

DEFAULT_OPT_OUT_KEYWORDS: frozenset[str] = frozenset({"T", "TD", "N", "退订", "退"})


def _canonical(text: str) -> str:
    # NFKC folds full-width letters (ＴＤ) and the ideographic space to their
    # ASCII forms; casefold handles "td"/"Td"; then every whitespace goes.
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in folded if not ch.isspace())


@dataclass(frozen=True)
class OptOutRules:
    """Which uplink contents are unsubscribe requests."""

    keywords: frozenset[str] = DEFAULT_OPT_OUT_KEYWORDS
    """Unsubscribe keywords; matched against the whole content, ignoring case,
    full/half width and all whitespace. An empty set disables detection."""

    _canonical_keywords: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Canonicalise once so that matching is a set lookup.
        canonical = frozenset(_canonical(k) for k in self.keywords) - {""}
        object.__setattr__(self, "_canonical_keywords", canonical)

    def is_opt_out(self, content: str) -> bool:
        """True when `content` is exactly one of the keywords."""
        keywords = self._canonical_keywords
        if not keywords or len(content) > 64:  # no bare keyword is that long
            return False
        return _canonical(content) in keywords

    @classmethod
    def from_text(cls, text: str) -> OptOutRules:
        """Rules from a comma-separated keyword list (an env var, say)."""
        parts = (p.strip() for p in text.replace("，", ",").split(","))
        return cls(keywords=frozenset(p for p in parts if p))
