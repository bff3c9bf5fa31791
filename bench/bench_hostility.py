"""The hostility word list on the labelled set: precision, recall and F1 per language and split, and the time per
post. Prints figures, asserts nothing.

Run from the repository root: `.venv/bin/python bench/bench_hostility.py`.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.hostility_set import LabelledPost, labelled_posts, scores
from veilleur.core.hostility import classify, is_hostile


def report(name: str, posts: list[LabelledPost]) -> None:
    result = scores(posts, is_hostile)
    print(f"{name:<22} {result.posts:>5} posts  precision {result.precision:.2f}  recall {result.recall:.2f}  "
          f"F1 {result.f1:.2f}  (missed {result.false_negatives}, wrongly marked {result.false_positives})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200, help="passes over the set for the timing (default 200)")
    parser.add_argument("--show", action="store_true", help="list the posts the word list gets wrong")
    args = parser.parse_args()
    posts = labelled_posts()
    for lang in ("fr", "en"):
        report(lang, [post for post in posts if post.lang == lang])
    report("all", posts)
    report("written after (holdout)", [post for post in posts if post.split == "holdout"])
    negatives = [post for post in posts if post.kind == "hard_negative"]
    marked = sum(is_hostile(post.text) for post in negatives)
    print(f"{'hard negatives':<22} {len(negatives):>5} posts  wrongly marked {marked}")
    if args.show:
        for post in posts:
            if is_hostile(post.text) != post.hostile:
                print(f"  {'missed' if post.hostile else 'wrongly marked'} ({post.lang}): {post.text}")
    texts = [post.text for post in posts]
    classify(texts[0])  # compile the rules outside the timing
    hostile = [post.text for post in posts if post.hostile]
    ordinary = [post.text for post in posts if not post.hostile]
    for name, sample in (("all posts", texts), ("hostile posts", hostile), ("other posts", ordinary)):
        started = time.perf_counter()
        for _ in range(args.rounds):
            for text in sample:
                classify(text)
        elapsed = time.perf_counter() - started
        print(f"time per post, {name:<14} {elapsed / (args.rounds * len(sample)) * 1e6:6.1f} µs")


if __name__ == "__main__":
    main()
