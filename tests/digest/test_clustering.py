"""TF-IDF and leader clustering, alone: unit vectors, similar texts together, order-led and deterministic."""

import math
from collections import Counter

from veilleur.digest.clustering import leader_clusters, tf_idf


def documents(*texts: str) -> list[Counter[str]]:
    return [Counter(text.split()) for text in texts]


def test_vectors_have_unit_length_and_common_terms_weigh_less() -> None:
    vectors, frequency = tf_idf(documents("tram late avenue", "tram park", "tram budget vote"))
    assert all(math.isclose(sum(w * w for w in vector.values()), 1.0) for vector in vectors)
    assert frequency["tram"] == 3 and frequency["park"] == 1
    assert vectors[1]["tram"] < vectors[1]["park"]


def test_similar_documents_share_a_cluster_led_by_the_first() -> None:
    vectors, _ = tf_idf(documents("tram late avenue works", "park trees gardens", "avenue tram works delays",
                                  "gardens park lovely trees", "council budget vote", ""))
    clusters = leader_clusters(vectors)
    assert [cluster.members for cluster in clusters] == [[0, 2], [1, 3], [4]]  # the empty document joins none
    assert leader_clusters(vectors)[0].centroid == clusters[0].centroid
