"""Stories in SQLite (see watching/stories.py): the cards of one channel that tell the same story, grouped on the
first one, the keys a new card is looked up by, and the campaign flag.

Grouping runs for every new card: inserts here are plain SQL rather than sqlite-utils' `insert`, whose checks cost
more.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from veilleur.storage.store import Store, _chunks, iso

# Row ids per statement, well under SQLite's 32,766 parameters.
_IDS_PER_STATEMENT = 500


@dataclass(frozen=True, slots=True)
class StoryMember:
    """A card's place in its story."""

    card_id: int
    story_id: int
    mention_id: int
    channel: str
    author: str | None
    fingerprint: int | None  # signed, as SQLite stores 64 bits
    link_key: str | None
    joined_by: str  # first, link or text
    at: datetime


@dataclass(frozen=True, slots=True)
class KeyMatch:
    """A live story holding one of the looked-up keys, and the fingerprint of the card that holds it."""

    story_id: int
    key: str
    fingerprint: int | None


@dataclass(frozen=True, slots=True)
class Campaign:
    posts: int
    authors: int


@dataclass(frozen=True, slots=True)
class OtherMention:
    """Another mention of a first card's story: where it was seen, and by whom."""

    source: str
    url: str | None
    author: str | None


@dataclass(frozen=True, slots=True)
class FirstCardStory:
    story_id: int
    campaign: Campaign | None
    others: tuple[OtherMention, ...]


class StoryRecords:
    def __init__(self, store: Store) -> None:
        self._db = store._db

    # The outbox while a poll's cards are placed ----------------------------------------------------------

    def hold(self, delivery_ids: Sequence[int], until: str) -> None:
        """Keep these pending rows from the outbox until `until` (also the hold's mark for `release`)."""
        with self._db.atomic():
            for ids in _chunks(list(delivery_ids), _IDS_PER_STATEMENT):
                self._db.execute(
                    f"update deliveries set not_before = ? where id in ({', '.join('?' * len(ids))})"
                    " and state = 'pending' and not_before is null",
                    [until, *ids],
                )

    def release(self, delivery_ids: Sequence[int], until: str) -> None:
        """Let go the rows `hold` kept with this mark."""
        for ids in _chunks(list(delivery_ids), _IDS_PER_STATEMENT):
            self._db.execute(
                f"update deliveries set not_before = null where id in ({', '.join('?' * len(ids))})"
                " and not_before = ?",
                [*ids, until],
            )

    def recount_rollup(self, rollup_id: int) -> None:
        """The roll-up counts the cards left in its thread; with none left it is not posted, unless it also tells
        of mentions past the poll's card limit."""
        (left,) = self._db.execute(
            "select count(*) from deliveries where parent_id = ? and state != 'grouped'", [rollup_id]
        ).fetchone()
        self._db.execute(
            "update deliveries set rollup_count = ?,"
            " state = case when ? = 0 and rollup_more is null then 'grouped' else state end"
            " where id = ? and state = 'pending'",
            [left, left, rollup_id],
        )

    # Placing cards ------------------------------------------------------------------------------------

    def start_story(self, channel: str, watcher: str, first_card_id: int, at: datetime) -> int:
        cursor = self._db.conn.execute(
            "insert into stories (channel, watcher, first_card_id, created_at) values (?, ?, ?, ?)",
            [channel, watcher, first_card_id, iso(at)],
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def mark_grouped(self, card_id: int) -> None:
        """The card joined a story told elsewhere: it is not posted."""
        self._db.execute("update deliveries set state = 'grouped' where id = ? and state = 'pending'", [card_id])

    def add_member(self, member: StoryMember) -> None:
        self._db.conn.execute(
            "insert into story_members (card_id, story_id, mention_id, channel, author, fingerprint, link_key,"
            " joined_by, at) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                member.card_id,
                member.story_id,
                member.mention_id,
                member.channel,
                member.author,
                member.fingerprint,
                member.link_key,
                member.joined_by,
                iso(member.at),
            ],
        )

    def add_keys(self, channel: str, keys: Sequence[str], at: datetime, story_id: int, card_id: int) -> None:
        """What later cards find this story by."""
        self._db.conn.executemany(
            "insert into story_keys (channel, key, at, story_id, card_id) values (?, ?, ?, ?, ?)",
            [(channel, key, iso(at), story_id, card_id) for key in keys],
        )

    def member_count(self, story_id: int) -> int:
        (count,) = self._db.execute("select count(*) from story_members where story_id = ?", [story_id]).fetchone()
        return count

    def stories_with_keys(
        self, channel: str, keys: Sequence[str], since: datetime, limit: int
    ) -> Iterator[KeyMatch]:
        """Stories of `channel` begun since `since` that hold one of `keys` (added since then), oldest story first.
        A story whose first card Slack refused for good is left out. Each match is made as it is read: the caller
        mostly stops at the first, of up to `limit` rows (a campaign's copies all share their keys)."""
        cutoff = iso(since)
        rows = self._db.execute(
            f"""
            select k.story_id, k.key, m.fingerprint from story_keys k
            join stories s on s.id = k.story_id
            join deliveries first on first.id = s.first_card_id and first.state != 'failed'
            join story_members m on m.card_id = k.card_id
            where k.channel = ? and k.key in ({", ".join("?" for _ in keys)}) and k.at >= ? and s.created_at >= ?
            order by s.created_at, s.id
            limit {int(limit)}
            """,
            [channel, *keys, cutoff, cutoff],
        ).fetchall()
        return (KeyMatch(story_id, key, fingerprint) for story_id, key, fingerprint in rows)

    # Campaigns ---------------------------------------------------------------------------------------------

    def is_flagged(self, story_id: int) -> bool:
        (flagged,) = self._db.execute("select campaign_at from stories where id = ?", [story_id]).fetchone()
        return flagged is not None

    def first_card_id(self, story_id: int) -> int:
        (card_id,) = self._db.execute("select first_card_id from stories where id = ?", [story_id]).fetchone()
        return card_id

    def recent_prints(self, story_id: int, since: datetime, limit: int) -> list[tuple[str, int]]:
        """(author, fingerprint) of the story's latest members since `since` that have both, newest first."""
        rows = self._db.execute(
            "select author, fingerprint from story_members"
            " where story_id = ? and at >= ? and fingerprint is not null and author is not null"
            " order by at desc limit ?",
            [story_id, iso(since), limit],
        ).fetchall()
        return [(author, fingerprint) for author, fingerprint in rows]

    def flag_campaign(self, story_id: int, at: datetime, campaign: Campaign) -> None:
        self._db["stories"].update(
            story_id, {"campaign_at": iso(at), "campaign_posts": campaign.posts, "campaign_authors": campaign.authors}
        )

    # Reading a first card's story ----------------------------------------------------------------------

    def first_card_story(self, card_id: int) -> FirstCardStory | None:
        """The story the card is the first card of (the other mentions, the campaign flag); None for any other."""
        story = self._db.execute(
            "select id, campaign_posts, campaign_authors, campaign_at from stories where first_card_id = ?", [card_id]
        ).fetchone()
        if story is None:
            return None
        story_id, posts, authors, campaign_at = story
        rows = self._db.execute(
            """
            select mentions.source, mentions.url, coalesce(nullif(mentions.author_handle, ''), mentions.author_name)
            from story_members m join mentions on mentions.id = m.mention_id
            where m.story_id = ? and m.mention_id != (select mention_id from story_members where card_id = ?)
            group by m.mention_id
            order by min(m.at), min(m.card_id)
            """,
            [story_id, card_id],
        ).fetchall()
        campaign = Campaign(posts, authors) if campaign_at is not None else None
        return FirstCardStory(story_id, campaign, tuple(OtherMention(*row) for row in rows))

    def first_card_state(self, story_id: int) -> tuple[int, str]:
        """The story's first card and where it stands in the outbox (pending, sending, posted...)."""
        first_card_id, state = self._db.execute(
            "select s.first_card_id, d.state from stories s join deliveries d on d.id = s.first_card_id where s.id = ?",
            [story_id],
        ).fetchone()
        return first_card_id, state
