"""Summaries of conversations: main points, stances with exact counts, who matters, open questions, next steps.

With an LLM, messages go out in chunks that fit LLM_INPUT_TOKENS (map): each request answers, as JSON, a stance
label per message, the chunk's main points, the questions that need an official answer and next steps. When there
are several chunks, one more request combines their notes (reduce). Counts, shares and rankings are computed here
from the labels, never by the model. Without an LLM, or when it fails, times out or the day's budget is spent,
`extractive_summary` answers instead: the most central messages, the lexical classifier's stances and the top
authors, labelled as such. A message that is a stored mention keeps the stance stored for it (the team's
correction, else the model's label, see labelling.py) over the summary's own.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from veilleur.assist.conversations import Conversation, Post
from veilleur.assist.llm import LLM, LLMUnavailable, estimate_tokens
from veilleur.assist.prompt_book import Fence, PromptBook
from veilleur.assist.pseudonyms import REAL_NAMES, Pseudonyms
from veilleur.core.i18n import Phrase
from veilleur.core.language import FUNCTION_WORDS, language_name
from veilleur.core.reach import is_high_followers
from veilleur.core.stance_synthesis import AuthorStance, StanceSynthesis, author_stance, synthesize
from veilleur.core.stances import LABELS, classify_lexically, tally
from veilleur.core.text import one_line, truncate
from veilleur.core.watcher_config import AUTHOR_LABELS, PUBLIC_ROLES

MAX_POINTS = 6
MAX_QUESTIONS = 5
MAX_NEXT_STEPS = 4
MAX_AUTHORS = 5
MAX_LABELLED = 10
KEY_POSTS = 5
POINT_CHARS = 400
MESSAGE_CHARS = 1000
CHUNKS_AT_ONCE = 4
MAX_CHUNK_MESSAGES = 150
# Room kept in each request for the instructions and the guard around the messages.
INSTRUCTION_TOKENS = 800
ANSWER_BASE_TOKENS = 600
ANSWER_TOKENS_PER_LABEL = 12
COMBINE_ANSWER_TOKENS = 1000
DEADLINE_TIMEOUTS = 3
DEADLINE_EXTRA_SECONDS = 10.0
# Two key messages sharing more than this part of their words say the same thing: keep the first.
NEAR_DUPLICATE = 0.5
_WORD = re.compile(r"\w+", re.UNICODE)
_STOPWORDS = frozenset().union(*FUNCTION_WORDS.values())


@dataclass(frozen=True, slots=True)
class StanceLine:
    """One stance: its messages and share, the distinct authors holding it and their summed reach (None when
    no author's reach is known), and how many of its messages come from each kind of labelled author."""

    label: str
    count: int
    percent: int
    authors: int
    reach: int | None
    by_label: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class AuthorStat:
    author: str
    handle: str
    reach: int | None
    posts: int
    labels: tuple[str, ...]
    stances: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class Summary:
    """`main_points` and `next_steps` come from the LLM; an extractive summary has `key_posts` instead and
    `fallback` set to why (a reason of LLMUnavailable)."""

    conversation: Conversation
    covered: int
    stances: tuple[StanceLine, ...]
    influential: tuple[AuthorStat, ...]
    by_reach: bool
    labelled: tuple[AuthorStat, ...]
    questions: tuple[Post, ...]
    main_points: tuple[str, ...] = ()
    key_posts: tuple[Post, ...] = ()
    next_steps: tuple[str, ...] = ()
    fallback: str | None = None
    fallback_detail: str | Phrase = ""
    chunks: int = 0
    synthesis: StanceSynthesis | None = None  # per author, high-reach authors and public figures


@dataclass(frozen=True, slots=True)
class ChunkNotes:
    labels: dict[int, str]
    points: list[str] = field(default_factory=list)
    questions: list[int] = field(default_factory=list)
    next_steps: list[str] = field(default_factory=list)


class Summarizer:
    def __init__(self, llm: LLM, prompts: PromptBook, lang: str) -> None:
        self.llm = llm
        self.prompts = prompts
        self.lang = lang
        # A long thread takes a few rounds of requests; past this, the person gets the extractive summary.
        self.deadline = llm.timeout * DEADLINE_TIMEOUTS + DEADLINE_EXTRA_SECONDS

    async def summarize(self, conversation: Conversation) -> Summary:
        """A summary written with the LLM, or the labelled extractive one when the LLM cannot answer in time."""
        if not self.llm.configured:
            return await asyncio.to_thread(extractive_summary, conversation, reason="not_configured")
        try:
            async with asyncio.timeout(self.deadline):
                return await self._with_llm(conversation)
        except TimeoutError:
            detail = f"no summary within {self.deadline:g} s"
            return await asyncio.to_thread(extractive_summary, conversation, reason="timeout", detail=detail)
        except LLMUnavailable as failure:
            return await asyncio.to_thread(
                extractive_summary, conversation, reason=failure.reason, detail=failure.detail
            )

    async def _with_llm(self, conversation: Conversation) -> Summary:
        posts = conversation.posts
        self.llm.check_budget()
        # One set of pseudonyms for the whole summary: every chunk and the combining request call an author alike.
        pseudonyms = Pseudonyms(self.lang, active=self.llm.pseudonymise)
        for post in posts:
            pseudonyms.author(post.handle, post.name)
        lines = [message_line(number, post, pseudonyms) for number, post in enumerate(posts, start=1)]
        budget = self.llm.input_tokens - INSTRUCTION_TOKENS - estimate_tokens(self.prompts.template("summarize_chunk"))
        chunks = chunk_lines(lines, budget)
        gate = asyncio.Semaphore(CHUNKS_AT_ONCE)

        async def read(chunk: list[int]) -> ChunkNotes:
            async with gate:
                return await self._read_chunk(chunk, lines, len(posts))

        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(read(chunk)) for chunk in chunks]
        except ExceptionGroup as failures:
            failure = next((e for e in failures.exceptions if isinstance(e, LLMUnavailable)), None)
            if failure is None:
                raise
            raise failure from None
        notes = [task.result() for task in tasks]
        llm_labels = {index: label for note in notes for index, label in note.labels.items()}
        # A stored mention's label (the team's correction, or the model's) wins over this summary's own.
        labels = [
            post.stance or llm_labels.get(index) or classify_lexically(post.text) for index, post in enumerate(posts)
        ]
        stances = stance_lines(posts, labels)
        stats = author_stats(posts, labels)
        influential, by_reach = most_influential(stats)
        labelled = labelled_authors(stats)
        if len(notes) == 1:
            main_points, next_steps = notes[0].points, notes[0].next_steps
        else:
            main_points, next_steps = await self._combine(
                notes, figures_text(stances, influential, labelled, pseudonyms), len(posts)
            )
        question_ids = dict.fromkeys(index for note in notes for index in note.questions)
        return Summary(
            conversation=conversation,
            covered=len(posts),
            stances=stances,
            influential=influential,
            by_reach=by_reach,
            labelled=labelled,
            questions=rank_questions(posts, list(question_ids)),
            main_points=tuple(pseudonyms.reveal(point) for point in main_points[:MAX_POINTS]),
            next_steps=tuple(pseudonyms.reveal(step) for step in next_steps[:MAX_NEXT_STEPS]),
            chunks=len(chunks),
            synthesis=stance_synthesis(stats),
        )

    async def _read_chunk(self, chunk: list[int], lines: Sequence[str], total: int) -> ChunkNotes:
        fence = Fence.new()
        prompt = self.prompts.prompt(
            "summarize_chunk",
            fence.wrap("\n".join(lines[index] for index in chunk)),
            fence,
            language=language_name(self.lang),
            first=chunk[0] + 1,
            last=chunk[-1] + 1,
            total=total,
        )
        max_tokens = ANSWER_BASE_TOKENS + ANSWER_TOKENS_PER_LABEL * len(chunk)
        answer = await self.llm.complete_json("summarize.chunk", prompt, max_tokens=max_tokens)
        numbers = {index + 1: index for index in chunk}
        raw_labels = answer.get("labels")
        labels: dict[int, str] = {}
        if isinstance(raw_labels, dict):
            for key, value in raw_labels.items():
                index = numbers.get(_number(key))
                label = value.strip().casefold() if isinstance(value, str) else None
                if index is not None and label in LABELS:
                    labels[index] = label
        raw_questions = answer.get("questions")
        questions = [
            numbers[number]
            for item in (raw_questions if isinstance(raw_questions, list) else [])
            if (number := _number(item)) in numbers
        ]
        return ChunkNotes(
            labels=labels,
            points=clean_strings(answer.get("points"), MAX_POINTS),
            questions=questions,
            next_steps=clean_strings(answer.get("next_steps"), MAX_NEXT_STEPS),
        )

    async def _combine(self, notes: Sequence[ChunkNotes], figures: str, total: int) -> tuple[list[str], list[str]]:
        """One request turning every chunk's notes (model output: data, like the messages) into the final points,
        with the `figures` computed from every message."""
        fence = Fence.new()
        parts = [
            f"Part {number}:\n" + "\n".join(f"- {point}" for point in note.points + note.next_steps)
            for number, note in enumerate(notes, start=1)
        ]
        data = "\n\n".join([*parts, figures])
        prompt = self.prompts.prompt(
            "summarize_combine",
            fence.wrap(data),
            fence,
            language=language_name(self.lang),
            total=total,
            parts=len(notes),
        )
        answer = await self.llm.complete_json("summarize.combine", prompt, max_tokens=COMBINE_ANSWER_TOKENS)
        points = clean_strings(answer.get("main_points"), MAX_POINTS)
        return points, clean_strings(answer.get("next_steps"), MAX_NEXT_STEPS)


def extractive_summary(conversation: Conversation, *, reason: str, detail: str | Phrase = "") -> Summary:
    """The no-LLM summary: deterministic, and fast enough for a 500-message thread on the event loop's thread."""
    posts = conversation.posts
    labels = [post.stance or classify_lexically(post.text) for post in posts]
    stats = author_stats(posts, labels)
    influential, by_reach = most_influential(stats)
    questions = [index for index, label in enumerate(labels) if label == "question"]
    return Summary(
        conversation=conversation,
        covered=len(posts),
        stances=stance_lines(posts, labels),
        influential=influential,
        by_reach=by_reach,
        labelled=labelled_authors(stats),
        questions=rank_questions(posts, questions),
        key_posts=tuple(central_posts(posts, KEY_POSTS)),
        fallback=reason,
        fallback_detail=detail,
        synthesis=stance_synthesis(stats),
    )


def message_line(number: int, post: Post, pseudonyms: Pseudonyms = REAL_NAMES) -> str:
    """"12. Ann (@ann) [reach 1200; journalist]: text", on one line; with active `pseudonyms`,
    "12. Author 3 [reach 1k-10k; journalist]: text" with the people it names hidden too."""
    facts = []
    if post.reach is not None:
        facts.append(pseudonyms.reach(post.reach))
    facts.extend(post.labels)
    meta = f" [{'; '.join(facts)}]" if facts else ""
    author = pseudonyms.author(post.handle, post.name, shown=post.author)
    return f"{number}. {one_line(author)}{meta}: {truncate(one_line(pseudonyms.hide(post.text)), MESSAGE_CHARS)}"


def chunk_lines(lines: Sequence[str], budget_tokens: int) -> list[list[int]]:
    """Consecutive runs of line indexes, each within `budget_tokens` and MAX_CHUNK_MESSAGES (never empty)."""
    chunks: list[list[int]] = []
    current: list[int] = []
    used = 0
    for index, line in enumerate(lines):
        cost = estimate_tokens(line) + 1
        if current and (used + cost > budget_tokens or len(current) >= MAX_CHUNK_MESSAGES):
            chunks.append(current)
            current, used = [], 0
        current.append(index)
        used += cost
    if current:
        chunks.append(current)
    return chunks


def stance_lines(posts: Sequence[Post], labels: Sequence[str]) -> tuple[StanceLine, ...]:
    lines = []
    for share in tally(labels):
        chosen = [post for post, label in zip(posts, labels, strict=True) if label == share.label]
        reach_by_author: dict[str, int | None] = {}
        for post in chosen:
            handle = post.handle.casefold()
            known = reach_by_author.get(handle)
            reach_by_author[handle] = post.reach if known is None else max(known, post.reach or 0)
        reaches = [reach for reach in reach_by_author.values() if reach is not None]
        by_label = Counter(label for post in chosen for label in post.labels)
        lines.append(
            StanceLine(
                label=share.label,
                count=share.count,
                percent=share.percent,
                authors=len(reach_by_author),
                reach=sum(reaches) if reaches else None,
                by_label=tuple((label, by_label[label]) for label in AUTHOR_LABELS if by_label[label]),
            )
        )
    return tuple(lines)


def author_stats(posts: Sequence[Post], labels: Sequence[str]) -> list[AuthorStat]:
    """One line per author (by handle, without case), in order of first appearance."""
    grouped: dict[str, list[tuple[Post, str]]] = defaultdict(list)
    for post, label in zip(posts, labels, strict=True):
        grouped[post.handle.casefold()].append((post, label))
    stats = []
    for items in grouped.values():
        reaches = [post.reach for post, _ in items if post.reach is not None]
        stance_counts = Counter(label for _, label in items)
        stats.append(
            AuthorStat(
                author=items[0][0].author,
                handle=items[0][0].handle,
                reach=max(reaches) if reaches else None,
                posts=len(items),
                labels=tuple(dict.fromkeys(label for post, _ in items for label in post.labels)),
                stances=tuple((label, stance_counts[label]) for label in LABELS if stance_counts[label]),
            )
        )
    return stats


def stance_synthesis(stats: Sequence[AuthorStat]) -> StanceSynthesis | None:
    """The synthesis sentence's figures: each author once, high-reach by followers, public roles only."""
    return synthesize([
        AuthorStance(
            stance=author_stance([label for label, count in stat.stances for _ in range(count)]),
            high_reach=is_high_followers(stat.reach),
            roles=tuple(label for label in stat.labels if label in PUBLIC_ROLES),
        )
        for stat in stats
    ])


def most_influential(stats: Sequence[AuthorStat]) -> tuple[tuple[AuthorStat, ...], bool]:
    """The authors with the most reach; when no reach is known (Slack), the most active. True: ranked by reach."""
    with_reach = [stat for stat in stats if stat.reach is not None]
    if with_reach:
        ranked = sorted(with_reach, key=lambda stat: (-(stat.reach or 0), -stat.posts))
        return tuple(ranked[:MAX_AUTHORS]), True
    return tuple(sorted(stats, key=lambda stat: -stat.posts)[:MAX_AUTHORS]), False


def labelled_authors(stats: Sequence[AuthorStat]) -> tuple[AuthorStat, ...]:
    return tuple(sorted((stat for stat in stats if stat.labels), key=lambda stat: -stat.posts)[:MAX_LABELLED])


def rank_questions(posts: Sequence[Post], indexes: Sequence[int]) -> tuple[Post, ...]:
    """The questions to answer first: the widest-reaching authors', then in conversation order."""
    ranked = sorted(dict.fromkeys(indexes), key=lambda index: (-(posts[index].reach or 0), index))
    return tuple(posts[index] for index in ranked[:MAX_QUESTIONS])


def central_posts(posts: Sequence[Post], count: int) -> list[Post]:
    """The `count` messages most similar to all the others (TF-IDF cosine), near-duplicates skipped, in order.

    A message's score is the sum of its similarities to every other message: what many people say, said once.
    """
    documents = [
        Counter(word for word in _WORD.findall(post.text.casefold()) if len(word) > 2 and word not in _STOPWORDS)
        for post in posts
    ]
    frequency = Counter(word for document in documents for word in document)
    size = len(documents)
    idf = {word: math.log((1 + size) / (1 + seen)) + 1 for word, seen in frequency.items()}
    vectors: list[dict[str, float]] = []
    centroid: dict[str, float] = defaultdict(float)
    for document in documents:
        weights = {word: times * idf[word] for word, times in document.items()}
        norm = math.sqrt(sum(weight * weight for weight in weights.values())) or 1.0
        vector = {word: weight / norm for word, weight in weights.items()}
        vectors.append(vector)
        for word, weight in vector.items():
            centroid[word] += weight
    # v·(sum of all) - v·v: the similarity to the others only.
    scores = [sum(weight * centroid[word] for word, weight in vector.items()) - (1.0 if vector else 0.0)
              for vector in vectors]
    order = sorted(range(size), key=lambda index: (-scores[index], index))
    chosen: list[int] = []
    for index in order:
        if len(chosen) == count:
            break
        words = set(documents[index])
        if not words:
            continue
        if any(_overlap(words, set(documents[other])) > NEAR_DUPLICATE for other in chosen):
            continue
        chosen.append(index)
    return [posts[index] for index in sorted(chosen)]


def figures_text(
    stances: Sequence[StanceLine],
    influential: Sequence[AuthorStat],
    labelled: Sequence[AuthorStat],
    pseudonyms: Pseudonyms = REAL_NAMES,
) -> str:
    """The computed figures, as the combining request reads them."""

    def who(stat: AuthorStat) -> str:
        return one_line(pseudonyms.author(stat.handle, shown=stat.author))

    lines = ["Figures computed from every message:"]
    lines += [f"- {line.label}: {line.count} messages ({line.percent}%), {line.authors} authors" for line in stances]
    lines += [
        f"- influential: {who(stat)} ("
        + (f"{pseudonyms.reach(stat.reach)}, " if stat.reach is not None else "")
        + f"{stat.posts} messages)"
        for stat in influential
    ]
    lines += [f"- labelled: {who(stat)} ({', '.join(stat.labels)}, {stat.posts} messages)" for stat in labelled]
    return "\n".join(lines)


def clean_strings(value: object, limit: int) -> list[str]:
    """Up to `limit` non-empty one-line strings from a model's JSON list (anything else is dropped)."""
    if not isinstance(value, list):
        return []
    cleaned = [truncate(one_line(item), POINT_CHARS) for item in value if isinstance(item, str)]
    return [item for item in cleaned if item][:limit]


def _number(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lstrip("#").isdigit():
        return int(value.strip().lstrip("#"))
    return None


def _overlap(first: set[str], second: set[str]) -> float:
    if not first or not second:
        return 0.0
    return len(first & second) / len(first | second)
