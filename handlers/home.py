"""The App Home tab, built afresh each time someone opens it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from veilleur.core.settings import Settings
from veilleur.escalation.service import EscalationService
from veilleur.storage.store import utcnow
from veilleur.watching.catalog import WatcherCatalog
from veilleur.watching.home_view import HomeEscalation, HomeWatcher, home_view
from veilleur.watching.views import who_may_change

if TYPE_CHECKING:
    from veilleur.services import Services

LAST_DAY = timedelta(hours=24)


@dataclass(frozen=True)
class Home:
    """What the Home tab shows."""

    catalog: WatcherCatalog
    escalations: EscalationService
    settings: Settings


async def handle_home_opened(event: dict[str, Any], client: AsyncWebClient, *, home: Home) -> None:
    if event.get("tab") != "home":
        return
    settings, catalog = home.settings, home.catalog
    counts, statuses = catalog.cards_since(utcnow() - LAST_DAY), catalog.statuses()
    watchers = [HomeWatcher(entry, statuses[entry.name], counts.get(entry.name, 0)) for entry in catalog.entries()]
    open_ones = [HomeEscalation(item, mention) for item, mention in home.escalations.in_progress()]
    view = home_view(
        watchers,
        open_ones,
        llm_enabled=settings.llm_enabled,
        who_may_change=who_may_change(settings.admin_users, settings.admin_group, settings.bot_language),
        tz=settings.bot_timezone,
        lang=settings.bot_language,
    )
    await client.views_publish(user_id=event["user"], view=view)


def register(app: AsyncApp, services: Services) -> None:
    home = Home(services.catalog, services.escalations, services.settings)
    app.event("app_home_opened")(partial(handle_home_opened, home=home))
