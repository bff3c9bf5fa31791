"""The slow-loris source of the fault matrix. Its case plays in the background while the rest of the suite runs
(conftest.py, `slow_loris_case`); this module sorts last so that waiting for it costs little."""

from tests.reliability.support import Background


async def test_a_slow_loris_source_is_cut_off_by_the_answer_deadline_and_the_others_post(
    slow_loris: Background,
) -> None:
    await slow_loris.result(within=180)
