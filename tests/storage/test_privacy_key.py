"""The key of the keyed hashes: PRIVACY_KEY, else a private file beside the database, made only when needed."""

import stat
from pathlib import Path

import pytest

from veilleur.core.settings import SettingsError
from veilleur.storage.privacy_key import KEY_FILE, PrivacyKey


def test_the_key_file_is_made_on_first_need_private_and_then_reused(tmp_path: Path) -> None:
    key = PrivacyKey.for_database(None, tmp_path / "veilleur.db")
    assert key.load() is None and not (tmp_path / KEY_FILE).exists()
    made = key.ensure()
    assert stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode) == 0o600
    assert len(made) == 64
    assert PrivacyKey.for_database(None, tmp_path / "veilleur.db").load() == made
    assert [path.name for path in tmp_path.iterdir()] == [KEY_FILE]  # no scratch file left


def test_privacy_key_wins_and_no_file_is_made(tmp_path: Path) -> None:
    key = PrivacyKey.for_database("k" * 40, tmp_path / "veilleur.db")
    assert key.ensure() == b"k" * 40
    assert not (tmp_path / KEY_FILE).exists()


def test_an_in_memory_database_keeps_its_key_in_memory() -> None:
    key = PrivacyKey.for_database(None, ":memory:")
    assert key.load() is None
    assert key.ensure() == key.ensure() and key.path is None


def test_a_damaged_key_file_is_a_configuration_error_saying_what_to_do(tmp_path: Path) -> None:
    (tmp_path / KEY_FILE).write_text("short\n")
    with pytest.raises(SettingsError, match=r"damaged \(too short\): restore it from its backup"):
        PrivacyKey.for_database(None, tmp_path / "veilleur.db").load()
