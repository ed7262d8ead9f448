"""FileSender, the embedded outbox, on a temporary directory: one file per message, made
durable and published together at the end of a session, nothing of a failed session shown."""

import os
import subprocess
import sys
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy

import pytest

import integrations.durable as durable
import integrations.mailfiles as mailfiles
from integrations.mailfiles import FileSender
from tests.integrations.test_smtp import acks, cancellation_ack



def read_eml(path) -> EmailMessage:
    return BytesParser(policy=default_policy).parsebytes(path.read_bytes())


def test_file_sender_writes_one_file_per_message_id(tmp_path):
    outbox = FileSender(tmp_path / "outbox")

    outbox.send(cancellation_ack())
    outbox.send(cancellation_ack())

    [path] = (tmp_path / "outbox").iterdir()
    assert path.name.endswith("-ack-1@canceldesk.example.eml")
    written = read_eml(path)
    assert written["X-Canceldesk-Envelope-To"] == "ada@customer.example, audit@canceldesk.example"
    assert written["X-Canceldesk-Envelope-From"] == "<desk@canceldesk.example>"
    assert written["Bcc"] is None
    assert "cancellation request" in written.get_content()


def test_file_sender_keeps_ids_apart_that_sanitise_alike(tmp_path):
    outbox = FileSender(tmp_path)

    outbox.send(cancellation_ack("<a/b@canceldesk.example>"))
    outbox.send(cancellation_ack("<a_b@canceldesk.example>"))
    outbox.send(cancellation_ack("<x-a_b@canceldesk.example>"))

    assert len(list(tmp_path.glob("*.eml"))) == 3
    assert not list(tmp_path.glob(".*"))  # no temporary files left behind


def test_file_sender_needs_a_message_id(tmp_path):
    msg = cancellation_ack()
    del msg["Message-ID"]

    with pytest.raises(ValueError, match="Message-ID"):
        FileSender(tmp_path).send(msg)


def test_file_sender_session_writes_like_send(tmp_path):
    outbox = FileSender(tmp_path)

    with outbox.session() as session:
        for msg in acks(3):
            session.send(msg)

    assert len(list(tmp_path.glob("*.eml"))) == 3


def test_a_session_publishes_its_files_only_when_it_ends(tmp_path):
    outbox = FileSender(tmp_path)

    with outbox.session() as session:
        for msg in acks(3):
            session.send(msg)
        assert not list(tmp_path.glob("*.eml"))  # written beside their place, not yet shown

    assert len(list(tmp_path.glob("*.eml"))) == 3
    assert not list(tmp_path.glob(".*"))


def test_a_session_makes_its_files_durable_with_one_sync_and_one_folder_fsync(tmp_path, monkeypatch):
    synced, folder_syncs = [], []
    real_sync, real_fsync_folder = mailfiles.sync_files, mailfiles.fsync_folder

    def sync_files(folder, files):
        files = list(files)
        # Made durable before any is renamed into place.
        assert not list(tmp_path.glob("*.eml"))
        synced.append(sorted(path.name for path in files))
        real_sync(folder, files)

    def fsync_folder(folder):
        folder_syncs.append(len(list(folder.glob("*.eml"))))
        real_fsync_folder(folder)

    monkeypatch.setattr(mailfiles, "sync_files", sync_files)
    monkeypatch.setattr(mailfiles, "fsync_folder", fsync_folder)
    with FileSender(tmp_path).session() as session:
        for msg in acks(4):
            session.send(msg)

    assert len(synced) == 1 and len(synced[0]) == 4
    assert folder_syncs == [4]  # once, after every rename


def test_a_batch_is_synced_with_one_syncfs_and_a_lone_file_with_its_fsync(tmp_path, monkeypatch):
    if durable._SYNCFS is None:
        pytest.skip("this C library has no syncfs: every file is fsynced alone")
    calls = {"syncfs": 0, "fsync": 0}
    real_syncfs, real_fsync = durable._SYNCFS, os.fsync

    def syncfs(descriptor):
        calls["syncfs"] += 1
        return real_syncfs(descriptor)

    def fsync(descriptor):
        calls["fsync"] += 1
        real_fsync(descriptor)

    monkeypatch.setattr(durable, "_SYNCFS", syncfs)
    monkeypatch.setattr(durable.os, "fsync", fsync)
    files = [tmp_path / f"{n}.eml" for n in range(5)]
    for path in files:
        path.write_bytes(b"x")

    durable.sync_files(tmp_path, files)
    assert calls == {"syncfs": 1, "fsync": 0}
    durable.sync_files(tmp_path, files[:1])
    assert calls == {"syncfs": 1, "fsync": 1}


def test_without_syncfs_each_file_is_fsynced(tmp_path, monkeypatch):
    fsynced = []
    real_fsync = os.fsync
    monkeypatch.setattr(durable, "_SYNCFS", None)
    monkeypatch.setattr(durable.os, "fsync", lambda descriptor: (fsynced.append(descriptor), real_fsync(descriptor)))
    files = [tmp_path / f"{n}.eml" for n in range(3)]
    for path in files:
        path.write_bytes(b"x")

    durable.sync_files(tmp_path, files)

    assert len(fsynced) == 3


def test_a_session_ended_by_an_error_shows_nothing_and_the_next_writes_it_all(tmp_path):
    outbox = FileSender(tmp_path)

    with pytest.raises(RuntimeError), outbox.session() as session:
        for msg in acks(2):
            session.send(msg)
        raise RuntimeError("the pass was stopped")

    assert not list(tmp_path.iterdir())  # neither published nor left behind
    with outbox.session() as session:
        for msg in acks(2):
            session.send(msg)
    assert len(list(tmp_path.glob("*.eml"))) == 2


def test_a_message_sent_twice_in_one_session_is_one_file(tmp_path):
    with FileSender(tmp_path).session() as session:
        session.send(cancellation_ack())
        session.send(cancellation_ack())

    assert len(list(tmp_path.glob("*.eml"))) == 1


def test_a_file_published_before_is_not_written_again_by_a_session(tmp_path):
    outbox = FileSender(tmp_path)
    outbox.send(cancellation_ack())

    with outbox.session() as session:
        session.send(cancellation_ack())

    assert len(list(tmp_path.glob("*.eml"))) == 1


def test_unpublished_files_of_a_writer_that_is_gone_are_removed_at_start(tmp_path):
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(gone.stdout)
    leftover = tmp_path / f".20261203T090000.000000Z-ack-1@canceldesk.example.eml.{dead_pid}.tmp"
    ours = tmp_path / f".20261203T090000.000000Z-ack-2@canceldesk.example.eml.{os.getpid()}.tmp"
    leftover.write_bytes(b"half a mail")
    ours.write_bytes(b"a mail being written")

    FileSender(tmp_path)

    assert not leftover.exists()
    assert ours.exists()  # a running writer's file is its own business

