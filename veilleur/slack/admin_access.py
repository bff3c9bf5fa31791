"""Who the bot's admins are: ADMIN_USERS, members of ADMIN_GROUP, or else the workspace's admins. They may change
watchers from Slack (/watch) and export or erase what is held about a person (/privacy).

With neither setting, the workspace's admins and owners (users.info `is_admin`/`is_owner`) may: they installed
the bot or could have, and are already trusted with every channel, so /watch works out of the box without
handing it to everyone. Setting ADMIN_USERS or ADMIN_GROUP replaces that rule.
Memberships are cached for a minute, so a busy modal does not call Slack on every click.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from veilleur.core.settings import Settings

log = logging.getLogger(__name__)

CACHE_SECONDS = 60.0
# A user group names several people, however many it holds: "only the people named" takes the plural.
GROUP_COUNTS_AS = 2


def admin_mentions(admin_users: Sequence[str], admin_group: str | None) -> str:
    """ADMIN_USERS and ADMIN_GROUP as Slack mentions (both validated IDs); "" when the workspace's admins are."""
    return ", ".join([f"<@{user}>" for user in admin_users] + ([f"<!subteam^{admin_group}>"] if admin_group else []))


def admins_named(admin_users: Sequence[str], admin_group: str | None) -> int:
    """How many people ADMIN_USERS and ADMIN_GROUP name, for the grammar of a sentence naming them."""
    return len(admin_users) + (GROUP_COUNTS_AS if admin_group else 0)


class AdminAccess:
    def __init__(
        self,
        settings: Settings,
        slack: AsyncWebClient,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.users = settings.admin_users
        self.group = settings.admin_group
        self.slack = slack
        self.clock = clock
        self._group_members: tuple[float, frozenset[str]] | None = None
        self._workspace_admins: dict[str, tuple[float, bool]] = {}

    @property
    def configured(self) -> bool:
        """True when ADMIN_USERS or ADMIN_GROUP says who may; False when workspace admins do."""
        return bool(self.users or self.group)

    async def is_admin(self, user: str) -> bool:
        if user in self.users:
            return True
        if self.group is not None:
            return user in await self._members()
        if not self.configured:
            return await self._is_workspace_admin(user)
        return False

    async def _members(self) -> frozenset[str]:
        cached = self._group_members
        if cached is not None and cached[0] > self.clock():
            return cached[1]
        try:
            response = await self.slack.usergroups_users_list(usergroup=self.group)
        except SlackApiError as error:
            log.warning("could not read ADMIN_GROUP %s: %s", self.group, error.response.get("error"))
            return frozenset()  # not cached: the next click asks again
        members = frozenset(response.get("users") or [])
        self._group_members = (self.clock() + CACHE_SECONDS, members)
        return members

    async def _is_workspace_admin(self, user: str) -> bool:
        cached = self._workspace_admins.get(user)
        if cached is not None and cached[0] > self.clock():
            return cached[1]
        try:
            response = await self.slack.users_info(user=user)
        except SlackApiError as error:
            log.warning("could not read user %s: %s", user, error.response.get("error"))
            return False
        profile = response.get("user") or {}
        allowed = bool(profile.get("is_admin") or profile.get("is_owner"))
        self._workspace_admins[user] = (self.clock() + CACHE_SECONDS, allowed)
        return allowed
