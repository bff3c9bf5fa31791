"""The word list's stance estimate (`classify_lexically`) against the hand-labelled set: prints figures, asserts
nothing.

    .venv/bin/python bench/bench_stance.py [--errors dev|test]

For each half of `tests/fixtures/stance/labelled.jsonl` (dev, read when tuning the word list; test, only
measured): accuracy and macro-F1 overall, on the sarcasm and negation posts and per language, the confusion
matrix, then the time per post (the set's posts, and 400-character ones). `--errors dev` lists the dev posts it
gets wrong (do not tune on `test`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from veilleur.core.stances import LABELS, classify_lexically, score

LABELLED = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "stance" / "labelled.jsonl"
HALVES = ("dev", "test")
SUBSETS = {
    "all": lambda post: True,
    "sarcasm": lambda post: "sarcasm" in post["tags"],
    "negation": lambda post: "negation" in post["tags"],
    "French": lambda post: post["lang"] == "fr",
    "English": lambda post: post["lang"] == "en",
}
TIMING_ROUNDS = 30


def print_half(half: str, posts: list[dict]) -> None:
    print(f"\n{half} half ({len(posts)} posts)      posts  accuracy  macro-F1")
    for name, keep in SUBSETS.items():
        chosen = [post for post in posts if keep(post)]
        scores = score([post["label"] for post in chosen], [classify_lexically(post["text"]) for post in chosen])
        print(f"  {name:<26} {scores.count:>5}  {scores.accuracy:8.1%}  {scores.macro_f1:8.3f}")
    confusion = score([post["label"] for post in posts], [classify_lexically(post["text"]) for post in posts]).confusion
    print(f"  confusion (rows expected, columns predicted)\n  {'':<10}" + "".join(f"{label:>10}" for label in LABELS))
    for wanted in LABELS:
        print(f"  {wanted:<10}" + "".join(f"{confusion[(wanted, got)]:>10}" for got in LABELS))


def print_errors(posts: list[dict]) -> None:
    print("\nwrong:")
    for post in posts:
        predicted = classify_lexically(post["text"])
        if predicted != post["label"]:
            print(f"  {post['id']} expected {post['label']:<8} got {predicted:<8} {post['text']}")


def time_per_post(texts: list[str]) -> float:
    """Microseconds per post, best of three passes over the set repeated (the least disturbed figure)."""
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(TIMING_ROUNDS):
            for text in texts:
                classify_lexically(text)
        timings.append(time.perf_counter() - started)
    return min(timings) / (TIMING_ROUNDS * len(texts)) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--errors", choices=HALVES, help="also list the posts of this half the word list gets wrong")
    arguments = parser.parse_args()
    posts = [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines() if line.strip()]
    for half in HALVES:
        print_half(half, [post for post in posts if post["half"] == half])
    if arguments.errors:
        print_errors([post for post in posts if post["half"] == arguments.errors])
    texts = [post["text"] for post in posts]
    # A stored mention is often a title and a few sentences: six posts of the set joined are about 400 characters.
    joined = [" ".join(texts[index : index + 6]) for index in range(0, len(texts) - 5, 6)]
    for sample in (texts, joined):
        mean_length = sum(map(len, sample)) / len(sample)
        print(f"\n{time_per_post(sample):.1f} µs per post of {mean_length:.0f} characters on average", end="")
    print()


if __name__ == "__main__":
    main()
