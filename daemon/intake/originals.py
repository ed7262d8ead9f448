"""Intake, large mail: the exact bytes kept in slices beside the thinned copy the parsers read.

Above `parsers.blobs.THIN_ABOVE` bytes a mail's slices (integrations.mailsource.Slices)
are written to `inbound_originals` one by one as the source hands them over, and
`inbound_messages.raw` gets the mail with each long base64 run cut and marked
(parsers.blobs.Thinner): all that the parsers and the classifier read of it, parsed as
the mail itself would be. So no step holds a large mail whole; what needs the exact bytes
(a DKIM signature covers the attachments too) asks `daemon.intake.store.original_bytes`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from daemon.models import InboundOriginal
from integrations.mailsource import SLICE_BYTES
from parsers.blobs import THIN_ABOVE, Thinner


@dataclass(frozen=True)
class Kept:
    raw: bytes  # for inbound_messages.raw: the thinned copy, or the mail itself when nothing was cut
    digest: str  # SHA-256 of the exact bytes, hex


def sliced(raw: bytes) -> Iterator[bytes]:
    """A mail already in memory, in the slices a source would have given."""
    for start in range(0, len(raw), SLICE_BYTES):
        yield raw[start : start + SLICE_BYTES]


def keep(session: Session, message_id: int, slices: Iterable[bytes]) -> Kept:
    """Write the slices of stored message `message_id` as they come; what its `raw` should hold."""
    thinner = Thinner(mark=True)
    digest = hashlib.sha256()
    size = 0
    for seq, piece in enumerate(slices):
        session.execute(insert(InboundOriginal), {"message_id": message_id, "seq": seq, "data": piece})
        thinner.feed(piece)
        digest.update(piece)
        size += len(piece)
    thinned, left_out = thinner.finish()
    if left_out and size > THIN_ABOVE:
        return Kept(thinned, digest.hexdigest())
    # Nothing to cut, or smaller than a source said (thin() leaves such a mail whole): the
    # row holds the mail itself, as for any small mail, and the slices are not needed.
    raw = thinned if not left_out else joined(session, message_id)
    session.execute(delete(InboundOriginal).where(InboundOriginal.message_id == message_id))
    return Kept(raw, digest.hexdigest())


def joined(session: Session, message_id: int) -> bytes | None:
    """The slices of `message_id` joined, or None when it has none."""
    pieces = session.scalars(
        select(InboundOriginal.data).where(InboundOriginal.message_id == message_id).order_by(InboundOriginal.seq)
    ).all()
    return b"".join(pieces) if pieces else None
