"""Text clustering for the digest's themes: TF-IDF vectors and leader clustering by cosine similarity.

Generic over bags of words: nothing here knows what a mention is. Deterministic: the same documents in the same
order give the same clusters.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

# A document joins the cluster whose centroid is at least this close (cosine of TF-IDF vectors), else starts one.
SIMILARITY = 0.3


@dataclass
class Cluster:
    """Documents (by index) in reading order, the first one leading; the centroid is their vectors' sum."""

    members: list[int] = field(default_factory=list)
    centroid: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    norm2: float = 0.0


def tf_idf(documents: Sequence[Counter[str]]) -> tuple[list[dict[str, float]], Counter[str]]:
    """Unit-length TF-IDF vectors (smoothed IDF, as scikit-learn's default) and each term's document frequency."""
    frequency: Counter[str] = Counter(term for document in documents for term in document)
    size = len(documents)
    idf = {term: math.log((1 + size) / (1 + seen)) + 1 for term, seen in frequency.items()}
    vectors = []
    for document in documents:
        weights = {term: count * idf[term] for term, count in document.items()}
        norm = math.sqrt(sum(weight * weight for weight in weights.values())) or 1.0
        vectors.append({term: weight / norm for term, weight in weights.items()})
    return vectors, frequency


def leader_clusters(vectors: Sequence[dict[str, float]]) -> list[Cluster]:
    """Leader clustering by cosine to each cluster's centroid; only clusters sharing a term are compared."""
    clusters: list[Cluster] = []
    by_term: dict[str, set[int]] = defaultdict(set)
    for index, vector in enumerate(vectors):
        if not vector:
            continue
        candidates = set().union(*(by_term[term] for term in vector if term in by_term))
        chosen, chosen_dot, best = None, 0.0, SIMILARITY
        for number in sorted(candidates):
            cluster = clusters[number]
            dot = sum(weight * cluster.centroid.get(term, 0.0) for term, weight in vector.items())
            similarity = dot / math.sqrt(cluster.norm2)
            if similarity >= best and (chosen is None or similarity > best):
                chosen, chosen_dot, best = number, dot, similarity
        if chosen is None:
            chosen = len(clusters)
            clusters.append(Cluster())
        cluster = clusters[chosen]
        cluster.members.append(index)
        # |c + v|² = |c|² + 2 c·v + |v|², and |v| = 1.
        cluster.norm2 += 2 * chosen_dot + 1.0
        for term, weight in vector.items():
            cluster.centroid[term] += weight
            by_term[term].add(chosen)
    return clusters
