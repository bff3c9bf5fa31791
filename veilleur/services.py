"""What the Slack listeners and the commands are handed: the bot's long-lived objects, built by veilleur/runtime.py.

Two types, because Slack is not always there. `LocalServices` is what every command has: `bot.py status` and the
dry runs get only this, print instead of posting, and have no Slack client to misuse. `Services` adds Slack (the
client, the outbox, escalations): the running bot and the one-shot commands that post get this one.

This module sits between the handlers and the features: it names the features' objects, so it cannot live below
them, and the handlers read it, so it cannot live in the runtime (which builds the handlers).
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from slack_sdk.web.async_client import AsyncWebClient

from veilleur.assist.conversations import ConversationFetcher
from veilleur.assist.drafting import Drafter
from veilleur.assist.labelling import Labeller
from veilleur.assist.llm import LLM
from veilleur.assist.summarize import Summarizer
from veilleur.core.settings import Settings
from veilleur.core.watcher_config import AuthorLabel, ConfigProblem
from veilleur.digest.delivery import DigestService
from veilleur.escalation.service import EscalationService
from veilleur.privacy.service import PrivacyService
from veilleur.slack.outbox import Outbox
from veilleur.storage.audit import AuditLog
from veilleur.storage.store import Store
from veilleur.watching.catalog import WatcherCatalog
from veilleur.watching.claims import ClaimService
from veilleur.watching.mention_cards import MentionCards
from veilleur.watching.polling import Poller
from veilleur.watching.stories import StoryService
from watchers.base import Watcher


@dataclass(frozen=True)
class LocalServices:
    """Everything that works without Slack. `watchers` are the ones polling now (the catalogue adds and removes
    them; the poller reads the same dict). `scheduler` holds the bot's jobs; only the runtime starts it, so a
    one-shot command schedules nothing that runs. `audit` records who summarised, drafted, exported, erased or
    changed a watcher. `claims` are the false claims the team follows. `problems` are the configuration entries left
    out."""

    settings: Settings
    store: Store
    http: httpx.AsyncClient
    watchers: dict[str, Watcher]
    poller: Poller
    scheduler: AsyncIOScheduler
    catalog: WatcherCatalog
    stories: StoryService
    digests: DigestService
    llm: LLM
    authors: list[AuthorLabel]
    audit: AuditLog
    claims: ClaimService
    problems: list[ConfigProblem]
    privacy: PrivacyService

    async def aclose(self) -> None:
        await self.catalog.aclose()
        await self.stories.aclose()
        await self.digests.aclose()
        await self.llm.aclose()
        await self.http.aclose()
        self.store.close()


@dataclass(frozen=True)
class Services(LocalServices):
    """The services with Slack: what the listeners are given, and the commands that post."""

    slack: AsyncWebClient
    outbox: Outbox
    escalations: EscalationService
    conversations: ConversationFetcher
    summarizer: Summarizer
    drafter: Drafter
    cards: MentionCards
    labeller: Labeller  # the LLM's stance labels on new mentions (does nothing without an LLM)

    async def aclose(self) -> None:
        await self.labeller.aclose()
        await super().aclose()
