import hashlib
import hmac
import os
import stat
from pathlib import Path

from veilleur.core.keyed_hash import KEY_FILE, author_hash, author_key, keyed_hash, load_key
from veilleur.core.settings import parse_settings

KEY = b"k" * 32


def test_keyed_hash_is_hmac_sha256_of_the_text() -> None:
    assert keyed_hash(KEY, "mastodon:ann") == hmac.new(KEY, b"mastodon:ann", hashlib.sha256).hexdigest()
    assert keyed_hash(b"x" * 32, "mastodon:ann") != keyed_hash(KEY, "mastodon:ann")


def test_an_author_is_hashed_without_case_or_leading_at_per_source_or_for_every_source() -> None:
    assert author_key("@Ann@Mastodon.social", "Mastodon") == "mastodon:ann@mastodon.social"
    assert author_key("ann", None) == "*:ann"
    assert author_hash(KEY, "@ANN", "bluesky") == author_hash(KEY, "ann", "bluesky")
    assert author_hash(KEY, "ann", "bluesky") != author_hash(KEY, "ann", None)


def test_privacy_key_is_the_key_when_set(tmp_path: Path) -> None:
    secret = "0123456789abcdef" * 4
    settings = parse_settings({"DATABASE_PATH": str(tmp_path / "v.db"), "PRIVACY_KEY": secret})
    assert load_key(settings) == secret.encode()
    assert not (tmp_path / KEY_FILE).exists()


def test_without_privacy_key_a_key_file_is_made_once_beside_the_database(tmp_path: Path) -> None:
    settings = parse_settings({"DATABASE_PATH": str(tmp_path / "data" / "v.db")})
    key = load_key(settings)
    path = tmp_path / "data" / KEY_FILE
    assert len(key) == 64 and path.read_bytes().strip() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_key(settings) == key
    assert os.listdir(path.parent) == [KEY_FILE]  # no draft left behind
