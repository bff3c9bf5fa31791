"""compute_digest, the one entry: an empty period gives an empty digest and the quiet sentence."""

from tests.support.digest_figures import DAY
from veilleur.digest.compute import compute_digest
from veilleur.digest.model import Change
from veilleur.digest.narrative import narrate
from veilleur.storage.store import Store


async def test_an_empty_period(store: Store) -> None:
    digest = compute_digest(store, DAY, watchers=["nobody"])

    assert digest.total == 0 and digest.themes == () and digest.top_mentions == ()
    assert digest.overall.vs_previous == Change("flat", 0)
    assert (await narrate(digest, None, "en")).text == "No mention was found in this period."
