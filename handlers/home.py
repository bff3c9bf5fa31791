"""The App Home tab, built afresh each time someone opens it."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from veilleur.storage.escalations import EscalationStore
from veilleur.storage.store import utcnow
from veilleur.watching.home_view import HomeEscalation, HomeWatcher, home_view
from veilleur.watching.views import who_may_change

if TYPE_CHECKING:
    from veilleur.services import Services

LAST_DAY = timedelta(hours=24)


def register(app: AsyncApp, services: Services) -> None:
    catalog = services.catalog
    settings = services.settings
    escalations = EscalationStore(services.store)

    async def opened(event: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab") != "home":
            return
        counts = catalog.cards_since(utcnow() - LAST_DAY)
        watchers = [
            HomeWatcher(entry, services.store.watcher_status(entry.name), counts.get(entry.name, 0))
            for entry in catalog.entries()
        ]
        open_ones = [
            HomeEscalation(item, services.store.mention(item.mention_id)) for item in escalations.in_progress()
        ]
        view = home_view(
            watchers,
            open_ones,
            llm_enabled=settings.llm_enabled,
            who_may_change=who_may_change(settings.admin_users, settings.admin_group, settings.bot_language),
            tz=settings.bot_timezone,
            lang=settings.bot_language,
        )
        await client.views_publish(user_id=event["user"], view=view)

    app.event("app_home_opened")(opened)
