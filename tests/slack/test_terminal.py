from veilleur.slack.terminal import as_text


def test_blocks_read_as_lines_with_links_buttons_and_entities_decoded() -> None:
    message = {
        "text": "fallback",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "*Tram* &amp; bus &lt;3 <https://e.fr/1|Article>"}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "<@U0ANN> in <#C0TRAM|tram> <!here>"}]},
            {"type": "section", "fields": [{"type": "mrkdwn", "text": "<https://e.fr/2>"}]},
            {"type": "actions", "elements": [
                {"type": "button", "text": {"type": "plain_text", "text": "Open"}, "url": "https://e.fr/1"},
                {"type": "button", "text": {"type": "plain_text", "text": "Flag"}, "action_id": "flag"},
            ]},
        ],
    }
    assert as_text(message).splitlines() == [
        "*Tram* & bus <3 Article (https://e.fr/1)",
        "@U0ANN in tram !here",
        "https://e.fr/2",
        "[Open] https://e.fr/1",
        "[Flag]",
    ]


def test_a_message_without_blocks_shows_its_text() -> None:
    assert as_text({"text": "Rien de neuf &gt; ok"}) == "Rien de neuf > ok"
