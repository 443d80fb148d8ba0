"""The onboarding keys file: 0600 from its first byte, appended to, header once."""

from __future__ import annotations

import csv
import stat
from pathlib import Path

import pytest

from stargate.cli.errors import InputError
from stargate.cli.keys_file import KeysFile


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_created_0600_with_a_header_and_one_line_per_key(tmp_path: Path) -> None:
    path = tmp_path / "keys.csv"
    with KeysFile(path) as keys:
        keys.write("a@x.io", "coding", "A, Jr.", "sk-aaaaaaaaaaaaaaaaaaaa")
        assert mode(path) == 0o600
        keys.write("b@x.io", "drafting", None, "sk-bbbbbbbbbbbbbbbbbbbb")
    rows = list(csv.reader(path.read_text().splitlines()))
    assert rows == [
        ["email", "tier", "key_alias", "key"],
        ["a@x.io", "coding", "A, Jr.", "sk-aaaaaaaaaaaaaaaaaaaa"],
        ["b@x.io", "drafting", "", "sk-bbbbbbbbbbbbbbbbbbbb"],
    ]


def test_no_key_no_file(tmp_path: Path) -> None:
    path = tmp_path / "keys.csv"
    with KeysFile(path) as keys:
        keys.check()
    assert not path.exists()


def test_an_existing_file_is_appended_to_and_made_0600(tmp_path: Path) -> None:
    path = tmp_path / "keys.csv"
    path.write_text("email,tier,key_alias,key\nold@x.io,coding,,sk-old\n")
    path.chmod(0o644)
    with KeysFile(path) as keys:
        keys.write("new@x.io", "coding", None, "sk-new")
    assert mode(path) == 0o600
    assert path.read_text().splitlines() == [
        "email,tier,key_alias,key",
        "old@x.io,coding,,sk-old",
        "new@x.io,coding,,sk-new",
    ]


def test_an_unwritable_place_is_refused_before_any_key_is_made(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        KeysFile(tmp_path / "missing" / "keys.csv").check()
    with pytest.raises(InputError, match="is a directory"):
        KeysFile(tmp_path).check()
