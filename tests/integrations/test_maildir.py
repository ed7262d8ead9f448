"""MaildirSource: the embedded mail source keeps IMAP's promises on a plain Maildir."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from integrations.mailsource import SLICE_BYTES, FetchedMail, MailSourceError, Wakeup
from integrations.maildir import UIDLIST, MaildirSource, deliver

CANCELLATION = (
    b"From: Ada Customer <ada@customer.example>\n"
    b"To: cancel@desk.example\n"
    b"Subject: Please cancel my subscription\n"
    b"Message-ID: <cancel-1@customer.example>\n"
    b"\n"
    b"Hello, please cancel contract 4711 at the end of the month.\n"
)
PATIENCE = 30.0


def mail(n: int) -> bytes:
    return CANCELLATION.replace(b"cancel-1@", f"cancel-{n}@".encode())


@pytest.fixture
def inbox(tmp_path) -> Path:
    return tmp_path / "Maildir"


def files_in(folder: Path) -> list[Path]:
    return sorted(p for sub in ("new", "cur") for p in (folder / sub).iterdir())


def test_connect_creates_the_maildir_and_processed_folder(inbox):
    MaildirSource(inbox).connect()

    for sub in ("cur", "new", "tmp", ".Processed/cur", ".Processed/new", ".Processed/tmp"):
        assert (inbox / sub).is_dir()
    assert (inbox / ".Processed" / "maildirfolder").exists()


def test_delivered_mail_comes_back_byte_for_byte(inbox):
    deliver(inbox, CANCELLATION)
    source = MaildirSource(inbox)
    source.connect()

    [uid] = source.new_uids(0)
    assert source.fetch([uid]) == [FetchedMail(uid, CANCELLATION)]
    assert list((inbox / "tmp").iterdir()) == []


def test_uids_follow_arrival_and_only_newer_ones_are_listed(inbox):
    paths = [deliver(inbox, mail(n)) for n in (1, 2, 3)]
    # Arrival is the file's time, whatever the names say.
    for offset, path in enumerate(paths):
        os.utime(path, ns=(10**18 - offset * 10**9,) * 2)
    source = MaildirSource(inbox)
    source.connect()

    uids = source.new_uids(0)
    assert [m.raw for m in source.fetch(uids)] == [mail(3), mail(2), mail(1)]
    assert source.new_uids(uids[0]) == uids[1:]
    assert source.new_uids(uids[-1]) == []


def test_uids_and_uidvalidity_are_stable_across_instances(inbox):
    deliver(inbox, mail(1))
    first = MaildirSource(inbox)
    validity = first.connect()
    before = first.new_uids(0)

    deliver(inbox, mail(2))
    second = MaildirSource(inbox)

    assert second.connect() == validity
    after = second.new_uids(0)
    assert after[: len(before)] == before and len(after) == 2
    assert second.fetch(after[-1:]) == [FetchedMail(after[-1], mail(2))]


def test_uids_are_not_reused_after_a_mail_leaves(inbox):
    deliver(inbox, mail(1))
    source = MaildirSource(inbox)
    source.connect()
    [gone] = source.new_uids(0)
    source.mark_done(gone)

    deliver(inbox, mail(2))

    assert source.new_uids(0) == [gone + 1]


def test_losing_the_state_file_changes_uidvalidity(inbox):
    deliver(inbox, CANCELLATION)
    source = MaildirSource(inbox)
    before = source.connect()

    (inbox / UIDLIST).unlink()

    assert MaildirSource(inbox).connect() != before


def test_fetch_does_not_touch_flags_or_place(inbox):
    path = deliver(inbox, CANCELLATION)
    source = MaildirSource(inbox)
    source.connect()

    source.fetch(source.new_uids(0))

    assert files_in(inbox) == [Path(path)]


def test_fetch_skips_uids_that_are_gone(inbox):
    deliver(inbox, CANCELLATION)
    source = MaildirSource(inbox)
    source.connect()
    [uid] = source.new_uids(0)

    assert source.fetch([uid + 5, uid]) == [FetchedMail(uid, CANCELLATION)]


def test_mark_done_moves_the_mail_to_the_processed_folder(inbox):
    deliver(inbox, CANCELLATION)
    source = MaildirSource(inbox, processed_folder="Processed")
    source.connect()
    [uid] = source.new_uids(0)

    source.mark_done(uid)
    source.mark_done(uid)  # idempotent

    assert source.new_uids(0) == []
    [moved] = files_in(inbox / ".Processed")
    assert moved.read_bytes() == CANCELLATION


def test_mark_done_without_a_folder_sets_the_seen_flag(inbox):
    deliver(inbox, CANCELLATION)
    source = MaildirSource(inbox, processed_folder=None)
    source.connect()
    [uid] = source.new_uids(0)

    source.mark_done(uid)
    source.mark_done(uid)

    [flagged] = files_in(inbox)
    assert flagged.parent.name == "cur" and flagged.name.endswith(":2,S")
    assert source.new_uids(0) == [uid]  # still there, same UID
    assert source.fetch([uid]) == [FetchedMail(uid, CANCELLATION)]


def test_a_flag_set_by_another_program_keeps_the_uid(inbox):
    path = Path(deliver(inbox, CANCELLATION))
    source = MaildirSource(inbox, processed_folder=None, done_flag="P")
    source.connect()
    [uid] = source.new_uids(0)

    path.rename(inbox / "cur" / f"{path.name}:2,F")  # a mail client flagged it
    source.mark_done(uid)

    [flagged] = files_in(inbox)
    assert flagged.name.endswith(":2,FP")
    assert source.new_uids(0) == [uid]


def test_wait_wakes_up_when_mail_is_delivered(inbox):
    source = MaildirSource(inbox, poll_interval=0.05)
    source.connect()

    deliverer = threading.Thread(target=deliver, args=(inbox, CANCELLATION))
    deliverer.start()
    source.wait(PATIENCE)
    deliverer.join()

    assert source.last_wakeup is Wakeup.ACTIVITY
    assert len(source.new_uids(0)) == 1


def test_wait_times_out_when_nothing_arrives(inbox):
    deliver(inbox, CANCELLATION)
    source = MaildirSource(inbox, poll_interval=0.05)
    source.connect()
    source.mark_done(source.new_uids(0)[0])

    source.wait(0.2)

    assert source.last_wakeup is Wakeup.TIMEOUT


def test_wait_reports_mail_that_arrived_before_it_was_called(inbox):
    source = MaildirSource(inbox, poll_interval=0.05)
    source.connect()
    deliver(inbox, CANCELLATION)

    source.wait(PATIENCE)

    assert source.last_wakeup is Wakeup.ACTIVITY


def test_key_names_the_absolute_path(inbox):
    assert MaildirSource(inbox).key == f"maildir:{inbox.absolute()}"


@pytest.mark.parametrize("folder", ["", ".", "a/b"])
def test_processed_folder_must_be_a_folder_name(inbox, folder):
    with pytest.raises(ValueError):
        MaildirSource(inbox, processed_folder=folder)


def test_a_large_file_is_read_in_slices_when_it_is_stored(inbox):
    large = CANCELLATION + b"".join(b"line %08d of a large mail\n" % i for i in range(3 * 2**20 // 27))
    deliver(inbox, large)
    deliver(inbox, mail(2))
    source = MaildirSource(inbox, processed_folder=None)
    source.connect()
    uids = source.new_uids(0)

    big, small = source.fetch(uids)

    assert small == FetchedMail(uids[1], mail(2))
    assert not isinstance(big.raw, bytes) and big.raw.size == len(large) and big.arrived is not None
    pieces = list(big.raw)
    assert b"".join(pieces) == large and max(map(len, pieces)) == SLICE_BYTES
    source.mark_done(uids[0])  # renamed with its flag: found again under its new name
    assert b"".join(big.raw) == large
    for path in files_in(inbox):
        path.unlink()
    with pytest.raises(MailSourceError, match="went away"):
        list(big.raw)
