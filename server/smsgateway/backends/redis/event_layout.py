"""Where the event aggregate lives in Redis, and how its small values are spelled.

Every key shares the hash tag of `RedisKeys.events`, so one Lua script may touch
all of them (an append reads the send log and writes suppressions atomically) and
the whole aggregate sits in one Cluster slot.

Per stream (`reports`, `uplinks`):

* `<s>:log`: the Redis Stream; entry ID `<cursor>-0`, so cursor == ID.
* `<s>:meta`: hash, `seq` (the newest cursor ever handed out; survives pruning)
  and `tmax` (the newest receive time so far, see `cursor_before_time`).
* `<s>:dedup`: sorted set, member = 16-byte BLAKE2b of the event's `dedup_key`,
  score = its cursor (pruned by score with the events).
* `<s>:groups` / `<s>:gfilter`: hashes, group name → position / filter key.
* `<s>:lease:<group>`: sorted set, cursor → lease expiry (wall-clock seconds).
* `<s>:holder:<group>`: hash, cursor → "<deliveries>|<member>".

Shared:

* `groups:active`: sorted set, "<stream>:<group>" → last join/claim/ack time.
* `reports:biz:<bizId>`: sorted set of the bizId's report cursors (score = cursor).
* `reports:unsigned`: hash, bizId → newest cursor of a report stored without a sign.
* `reports:late`: hash, bizId → signs given later by `record_sends` (see `LateSigns`).
* `sends`: hash, bizId → send record; `sends:at`: sorted set, bizId → sent_at.
* `supp`: sorted set (score 0, lexical order) of `supp_member(sign, phone)`;
  `supp:rec`: hash, member → "<created_at>|<reason>".
* `dead`: stream of dead letters; `dead:meta`: hash `seq`, `bytes`, `dropped`.

Text is UTF-8 with `surrogatepass` both ways, so any `str` the API accepts
round-trips. Times are `repr(float)` of epoch seconds (exact round trip).
Cursors and scores stay below 2**53 (exact in Lua numbers and in scores).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from smsgateway.backends.redis.keys import RedisKeys
from smsgateway.events.model import SentBatch, Stream


def enc(text: str) -> bytes:
    """Text as stored (UTF-8; lone surrogates kept)."""
    return text.encode("utf-8", "surrogatepass")


def dec(data: bytes) -> str:
    """Stored bytes as text (the inverse of `enc`)."""
    return data.decode("utf-8", "surrogatepass")


def num(value: float) -> str:
    """A float as stored: `repr`, which `float()` reads back exactly."""
    return repr(float(value))


def utc(ts: float) -> datetime:
    """Epoch seconds as an aware UTC datetime (what the SQLite backend returns too)."""
    return datetime.fromtimestamp(ts, UTC)


def digest(dedup_key: str) -> bytes:
    """The de-duplication member of an event: 16 bytes of BLAKE2b of its `dedup_key`.

    Collisions are negligible (~1e-26 for 5 million events), and it keeps the
    sorted set small whatever the keys' length.
    """
    return hashlib.blake2b(enc(dedup_key), digest_size=16).digest()


@dataclass(frozen=True, slots=True)
class EventKeys:
    """Key names of the event aggregate (see the module docstring)."""

    keys: RedisKeys

    def log(self, stream: Stream) -> str:
        return self.keys.events(stream.value, "log")

    def meta(self, stream: Stream) -> str:
        return self.keys.events(stream.value, "meta")

    def dedup(self, stream: Stream) -> str:
        return self.keys.events(stream.value, "dedup")

    def group_positions(self, stream: Stream) -> str:
        return self.keys.events(stream.value, "groups")

    def group_filters(self, stream: Stream) -> str:
        return self.keys.events(stream.value, "gfilter")

    def group_activity(self) -> str:
        return self.keys.events("groups", "active")

    def leases(self, stream: Stream, group: str) -> str:
        return self.keys.events(stream.value, "lease", group)

    def holders(self, stream: Stream, group: str) -> str:
        return self.keys.events(stream.value, "holder", group)

    def biz_prefix(self) -> str:
        """The per-bizId index key without the bizId (Lua appends it)."""
        return self.keys.events("reports", "biz", "")

    def biz(self, biz_id: str) -> bytes:
        return enc(self.biz_prefix()) + enc(biz_id)

    def unsigned(self) -> str:
        return self.keys.events("reports", "unsigned")

    def late(self) -> str:
        return self.keys.events("reports", "late")

    def sends(self) -> str:
        return self.keys.events("sends")

    def sends_at(self) -> str:
        return self.keys.events("sends", "at")

    def suppressions(self) -> str:
        return self.keys.events("supp")

    def suppression_records(self) -> str:
        return self.keys.events("supp", "rec")

    def dead(self) -> str:
        return self.keys.events("dead")

    def dead_meta(self) -> str:
        return self.keys.events("dead", "meta")


def group_member(stream: Stream, group: str) -> bytes:
    """The member of a group in `groups:active` (stream names hold no ':')."""
    return enc(f"{stream.value}:{group}")


# -- suppressions: an order-preserving (sign, phone) member ---------------------
# 0x00 separates sign and phone; inside each part 0x00 -> 01 01 and 0x01 -> 01 02.
# Byte order of members is then the order of (sign, phone) tuples, as SQLite sorts.


def _escape(data: bytes) -> bytes:
    return data.replace(b"\x01", b"\x01\x02").replace(b"\x00", b"\x01\x01")


def _unescape(data: bytes) -> bytes:
    return data.replace(b"\x01\x01", b"\x00").replace(b"\x01\x02", b"\x01")


def sign_prefix(sign: str) -> bytes:
    """The bytes every member of `sign` starts with."""
    return _escape(enc(sign)) + b"\x00"


def supp_member(sign: str, phone_number: str) -> bytes:
    """The sorted-set member of a suppression."""
    return sign_prefix(sign) + _escape(enc(phone_number))


def supp_key(member: bytes) -> tuple[str, str]:
    """(sign, phone) of a member."""
    sign, _, phone = member.partition(b"\x00")
    return dec(_unescape(sign)), dec(_unescape(phone))


def supp_record(reason: str, created_at: float) -> bytes:
    return enc(num(created_at)) + b"|" + enc(reason)


def parse_supp_record(record: bytes) -> tuple[str, datetime]:
    """(reason, created_at) of a stored record."""
    created, _, reason = record.partition(b"|")
    return dec(reason), utc(float(created))


def opt_out_reason(content: str) -> str:
    """The reason of a suppression written by an opt-out uplink (as SQLite writes it)."""
    return f"uplink: {content[:64]}"


# -- send records: "<len(sign)>:<sign><json>" so that Lua can cut the sign out ---


def send_record(batch: SentBatch) -> bytes:
    sign = enc(batch.sign)
    rest = json.dumps(
        [batch.kind, num(batch.sent_at.timestamp()), ",".join(batch.phone_numbers), batch.caller],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return str(len(sign)).encode() + b":" + sign + enc(rest)


def parse_send_record(biz_id: str, record: bytes) -> SentBatch:
    length, _, rest = record.partition(b":")
    n = int(length)
    sign, payload = rest[:n], rest[n:]
    kind, sent_at, phones, *more = json.loads(dec(payload))
    return SentBatch(
        biz_id,
        tuple(p for p in str(phones).split(",") if p),
        dec(sign),
        int(kind),
        utc(float(sent_at)),
        str(more[0]) if more else "",  # records written before callers existed have none
    )


# -- late signs -----------------------------------------------------------------


class LateSigns:
    """Signs that `record_sends` gave to reports stored before their send was recorded.

    A stream entry cannot change, so where SQLite updates `sign` in place Redis
    keeps, per bizId, rounds "through cursor C the empty-signed reports of this
    bizId have sign S" (`reports:late` = "<last C>|" + "<C>:<len>:<S>"...). A
    report stored with an empty sign takes the sign of the first round whose
    cursor is at or above its own; later ones (none recorded yet) stay empty.
    """

    __slots__ = ("_rounds",)

    def __init__(self, raw: dict[bytes, bytes] | None = None) -> None:
        self._rounds: dict[bytes, list[tuple[int, bytes]]] = {}
        for biz, value in (raw or {}).items():
            self._rounds[biz] = _parse_rounds(value)

    def sign(self, biz_id: bytes, cursor: int) -> bytes:
        """The late sign of an empty-signed report, b"" when none was recorded."""
        for through, sign in self._rounds.get(biz_id, ()):
            if cursor <= through:
                return sign
        return b""


def _parse_rounds(value: bytes) -> list[tuple[int, bytes]]:
    _, _, rest = value.partition(b"|")
    rounds: list[tuple[int, bytes]] = []
    while rest:
        through, _, rest = rest.partition(b":")
        length, _, rest = rest.partition(b":")
        n = int(length)
        rounds.append((int(through), rest[:n]))
        rest = rest[n:]
    return rounds
