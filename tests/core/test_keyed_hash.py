import hashlib
import hmac

from veilleur.core.keyed_hash import author_hash, author_key, author_keys, item_key, keyed_hash

KEY = b"k" * 32


def test_an_author_is_named_as_author_tables_compare_them() -> None:
    assert author_key(" @Ann@Mastodon.social ", "mastodon") == "mastodon:ann@mastodon.social"
    assert author_key("Jeanne Martin", None) == "*:jeanne martin"
    assert author_keys("rss", "", "Jeanne Martin") == ["rss:jeanne martin", "*:jeanne martin"]
    assert author_keys("mastodon", "@ann", "ANN") == ["mastodon:ann", "*:ann"]
    assert item_key("mastodon", "109") == "mastodon:109"


def test_the_hash_depends_on_the_key() -> None:
    one, other = keyed_hash(b"k1", "mastodon:ann"), keyed_hash(b"k2", "mastodon:ann")
    assert one != other and len(one) == 64 and one == keyed_hash(b"k1", "mastodon:ann")


def test_keyed_hash_is_hmac_sha256_of_the_text() -> None:
    assert keyed_hash(KEY, "mastodon:ann") == hmac.new(KEY, b"mastodon:ann", hashlib.sha256).hexdigest()


def test_an_audit_subject_is_the_hash_of_the_author_per_source_or_for_every_source() -> None:
    assert author_hash(KEY, "@ANN", "bluesky") == author_hash(KEY, "ann", "bluesky") == keyed_hash(KEY, "bluesky:ann")
    assert author_hash(KEY, "ann", "bluesky") != author_hash(KEY, "ann", None)
