"""The ledger journal: appends are on disk when they return, committed segments are emptied,
closed segments are replayed, directories of stopped writers are adopted (never a live one's),
and a line torn by a crash is skipped."""

from __future__ import annotations

import os
import random
from pathlib import Path

from stargate.telemetry.journal import Journal, read_lines


def lines_of(path: Path) -> list[bytes]:
    return list(read_lines(path))


def segment(journal: Journal, seq: int) -> Path:
    return journal.directory / f"{seq:08d}.jsonl"


def test_an_append_is_in_the_file_when_it_returns(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path)
    seq = journal.append(b'{"n": 1}\n')
    journal.append(b'{"n": 2}\n')
    # Another reader (a process started after a crash) sees both lines at once, before any fsync.
    assert lines_of(segment(journal, seq)) == [b'{"n": 1}', b'{"n": 2}']
    assert journal.dirty
    journal.sync()
    assert not journal.dirty
    assert journal.uncommitted == 2
    journal.close()


def test_a_fully_committed_current_segment_is_truncated(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path)
    seq = journal.append(b"a\n")
    journal.append(b"b\n")
    assert journal.size == 4
    journal.mark_committed(seq, 1)
    assert segment(journal, seq).stat().st_size == 4  # one row is still uncommitted
    assert journal.size == 4
    journal.mark_committed(seq, 1)
    assert segment(journal, seq).stat().st_size == 0
    assert journal.uncommitted == 0
    assert journal.size == 0
    journal.append(b"c\n")
    assert lines_of(segment(journal, seq)) == [b"c"]
    journal.close()


def test_a_rotated_segment_is_backlog_until_replayed(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path)
    journal.append(b"spilled\n")
    journal.rotate()
    journal.append(b"next\n")
    assert journal.size == len(b"spilled\nnext\n")
    (closed,) = journal.backlog()
    assert closed.seq == 1
    assert lines_of(closed.path) == [b"spilled"]
    assert journal.uncommitted == 2
    journal.replayed(closed)
    assert not closed.path.exists()
    assert journal.backlog() == []
    assert journal.uncommitted == 1
    assert journal.size == len(b"next\n")
    journal.close()


def test_a_stopped_writers_directory_is_adopted_and_removed_once_replayed(
    tmp_path: Path,
) -> None:
    stopped = Journal.open(tmp_path)
    stopped.append(b"left behind\n")
    stopped.close()  # uncommitted: the directory stays, unlocked
    assert stopped.directory.exists()

    journal = Journal.open(tmp_path)
    (adopted,) = journal.backlog()
    assert adopted.seq is None
    assert lines_of(adopted.path) == [b"left behind"]
    journal.replayed(adopted)
    assert not stopped.directory.exists()
    journal.close()


def test_a_live_writers_directory_is_never_adopted(tmp_path: Path) -> None:
    live = Journal.open(tmp_path)
    live.append(b"mine\n")
    other = Journal.open(tmp_path)
    assert other.backlog() == []
    assert other.adopt_orphans() == 0
    other.close()
    live.close()


def test_closing_with_everything_committed_leaves_nothing(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path)
    seq = journal.append(b"x\n")
    journal.mark_committed(seq, 1)
    journal.close()
    assert list(tmp_path.iterdir()) == []


def test_a_torn_last_line_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "segment.jsonl"
    path.write_bytes(b'{"a": 1}\n{"b": 2}\n{"c": ')
    assert lines_of(path) == [b'{"a": 1}', b'{"b": 2}']


def test_long_segments_are_read_across_chunks(tmp_path: Path) -> None:
    path = tmp_path / "segment.jsonl"
    rows = [b"x" * 1000 + str(n).encode() for n in range(3000)]  # about 3 MB
    path.write_bytes(b"\n".join(rows) + b"\n")
    assert lines_of(path) == rows


def test_a_rejected_line_is_kept_aside(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path)
    journal.reject(b"not json", "not a ledger row")
    journal.reject(b'{"x": 1}\n', "IntegrityError")
    assert (tmp_path / "rejected.jsonl").read_bytes() == b'not json\n{"x": 1}\n'
    journal.close()


def test_segments_are_private_to_the_gateway_user(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path)
    assert os.stat(segment(journal, 1)).st_mode & 0o077 == 0
    journal.close()


def test_the_counts_kept_up_to_date_match_the_segments_after_any_history(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path)
    pending: list[int] = []  # the segment of each row appended and not yet committed
    chooser = random.Random(7)
    for step in range(600):
        action = chooser.random()
        if action < 0.55:
            pending.append(journal.append(b"r" * chooser.randint(1, 40) + b"\n"))
        elif action < 0.85 and pending:
            seq = chooser.choice(pending)
            count = chooser.randint(1, pending.count(seq))
            for _ in range(count):
                pending.remove(seq)
            journal.mark_committed(seq, count)
        elif action < 0.93:
            journal.rotate()
        elif journal.closed:
            closed = [s for s in journal.backlog() if s.seq is not None]
            journal.replayed(closed[0])  # replayed from disk: its queued rows count no more
            pending = [seq for seq in pending if seq != closed[0].seq]
        recount = sum(n - journal.committed.get(seq, 0) for seq, n in journal.written.items())
        assert journal.uncommitted == recount == len(pending), step
        assert journal.size == sum(journal.sizes.values()), step
        live = [journal.seq, *journal.closed]
        assert journal.size == sum(segment(journal, seq).stat().st_size for seq in live), step
    journal.close()
