"""The two numbers the desk keeps with plain statements: how far each mailbox has been read
(the checkpoint, which only a mail that could not be stored moves back) and the year's case
numbers (each taken once, even by two writers at once)."""
from __future__ import annotations

import threading

from daemon.cases import next_reference
from daemon.db import transaction
from daemon.intake import store
from tests.support import mail


def _store(session, desk, uid: int, message_id: str, *, uidvalidity: int = 7):
    return store.store(session, mailbox="m", uidvalidity=uidvalidity, uid=uid,
                       raw=mail(message_id=message_id), now=desk.clock.now())


def test_a_new_mailbox_starts_its_checkpoint_at_its_first_mail(desk):
    with transaction(desk.factory) as session:
        assert store.checkpoint(session, "m", 7) == 0
        _store(session, desk, 4, "<first@acme.example>")
    with transaction(desk.factory) as session:
        assert store.checkpoint(session, "m", 7) == 4
        assert store.checkpoint(session, "m", 8) == 0  # another UIDVALIDITY is another mailbox


def test_the_checkpoint_only_moves_up_as_mail_is_stored(desk):
    with transaction(desk.factory) as session:
        _store(session, desk, 3, "<three@acme.example>")
        _store(session, desk, 1, "<one@acme.example>")  # a lower UID stored late
        assert store.checkpoint(session, "m", 7) == 3
        again = _store(session, desk, 3, "<three@acme.example>")  # read again after a crash
        assert not again.is_new and store.checkpoint(session, "m", 7) == 3
        _store(session, desk, 6, "<six@acme.example>")
        assert store.checkpoint(session, "m", 7) == 6


def test_the_same_uid_read_again_is_the_stored_mail_and_moves_the_checkpoint(desk):
    with transaction(desk.factory) as session:
        first = _store(session, desk, 5, "<five@acme.example>")
        store.hold_checkpoint(session, "m", 7, 2)  # as if the UID had not been passed yet
        again = _store(session, desk, 5, "<five@acme.example>")
        assert again.message_id == first.message_id and not again.is_new
        assert store.checkpoint(session, "m", 7) == 5


def test_a_resend_under_a_new_uid_does_not_move_the_checkpoint_by_itself(desk):
    with transaction(desk.factory) as session:
        _store(session, desk, 2, "<resent@acme.example>")
        resend = _store(session, desk, 9, "<resent@acme.example>")
        assert not resend.is_new
        # No row of ours remembers UID 9: the checkpoint passes it once it is moved (`passed`).
        assert store.checkpoint(session, "m", 7) == 2


def test_holding_the_checkpoint_only_ever_moves_it_back(desk):
    with transaction(desk.factory) as session:
        _store(session, desk, 8, "<eight@acme.example>")
        store.hold_checkpoint(session, "m", 7, 5)
        assert store.checkpoint(session, "m", 7) == 5
        store.hold_checkpoint(session, "m", 7, 6)
        assert store.checkpoint(session, "m", 7) == 5
        store.hold_checkpoint(session, "other", 7, 1)  # no row: nothing to hold
        assert store.checkpoint(session, "other", 7) == 0


def test_case_numbers_count_up_per_year_and_start_again_each_year(desk):
    with transaction(desk.factory) as session:
        taken = [next_reference(session, "CX", 2026) for _ in range(3)]
        taken.append(next_reference(session, "CX", 2027))
    with transaction(desk.factory) as session:
        taken.append(next_reference(session, "CX", 2026))
    assert taken == ["CX-2026-0001", "CX-2026-0002", "CX-2026-0003", "CX-2027-0001", "CX-2026-0004"]


def test_a_number_taken_in_a_transaction_that_rolls_back_is_taken_again(desk):
    try:
        with transaction(desk.factory) as session:
            assert next_reference(session, "CX", 2026) == "CX-2026-0001"
            raise RuntimeError("the mail failed")
    except RuntimeError:
        pass
    with transaction(desk.factory) as session:
        assert next_reference(session, "CX", 2026) == "CX-2026-0001"


def test_two_writers_at_once_never_share_a_number(desk):
    taken: list[str] = []
    start = threading.Barrier(4)

    def writer() -> None:
        start.wait()
        for _ in range(10):
            with transaction(desk.factory) as session:
                taken.append(next_reference(session, "CX", 2026))

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(taken) == [f"CX-2026-{n:04d}" for n in range(1, 41)]
