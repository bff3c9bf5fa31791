"""Keep URLs given in Slack from reaching inside the network the bot runs in (server-side request forgery).

Anyone allowed to run `/watch add` chooses what the bot fetches, so such a URL may only reach public addresses
unless the operator says otherwise with ALLOW_PRIVATE_URLS. `check_url` gives a clear answer when the watcher is
created; `new_guarded_http_client` enforces the same rule on every connection the watcher makes later, redirects
included, on the addresses actually connected to: a DNS answer that changes between the check and the fetch
(DNS rebinding) gains nothing.

Watchers from WATCHERS_FILE keep the unrestricted client: operators may point them anywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import socket
from dataclasses import dataclass

import httpx
from aiohttp import ClientSession, TCPConnector
from aiohttp.connector import AddrInfoType, SocketFactoryType

from veilleur.core.i18n import Phrase
from veilleur.core.settings import Settings
from watchers.base import POOL_LIMITS, TIMEOUT, new_http_client

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Cloud instance metadata (AWS, GCP, Azure, OpenStack...; AWS's IPv6 one): credentials live there. Refused even
# when their network is allowed, unless the address itself is listed.
METADATA_ADDRESSES = frozenset({ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")})
RESOLVE_TIMEOUT = 2.0  # seconds a host may take to resolve when a URL is checked
SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT; Alibaba Cloud's metadata too


class UnsafeUrlError(ValueError):
    """A URL is not http(s), or reaches an address it may not; `phrase` says which (`str()` in English)."""

    def __init__(self, phrase: Phrase) -> None:
        super().__init__(str(phrase))
        self.phrase = phrase


class RefusedAddressError(PermissionError):
    """A connection to a forbidden address was stopped before it was made.

    An OSError, so aiohttp reports it like any failed connection (httpx-aiohttp then raises httpx.ConnectTimeout
    from it); watchers.base.fetch and fetch_json find it in the causes and raise a `SourceError` with its
    `phrase`, which names the address.
    """

    def __init__(self, phrase: Phrase) -> None:
        super().__init__(errno.EACCES, str(phrase))
        self.phrase = phrase


@dataclass(frozen=True)
class UrlPolicy:
    """Which addresses URLs given in Slack may reach: public ones, plus `allowed_networks`, or all."""

    allow_private: bool = False
    allowed_networks: tuple[Network, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> UrlPolicy:
        return cls(allow_private=settings.allow_private_urls, allowed_networks=settings.private_url_networks)


def refusal(address: Address, policy: UrlPolicy) -> Phrase | None:
    """Why `policy` forbids connecting to `address` ("a loopback address, refused unless…"), or None when it may
    be reached.

    An IPv4-mapped IPv6 address (::ffff:127.0.0.1) is judged as the IPv4 address it reaches; a 6to4 address
    (2002::/16) is refused when the IPv4 address it embeds would be.
    """
    if policy.allow_private:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        reason = refusal(address.ipv4_mapped, policy)
        return None if reason is None else Phrase.of("url.ipv4_mapped", address=str(address.ipv4_mapped), reason=reason)
    if address in METADATA_ADDRESSES:
        if any(network.num_addresses == 1 and address in network for network in policy.allowed_networks):
            return None
        return Phrase.of("url.metadata")
    if any(address in network for network in policy.allowed_networks):
        return None
    if kind := _non_public_kind(address):
        return Phrase.of("url.refused", kind=Phrase.of(f"url.kind.{kind}"))
    if isinstance(address, ipaddress.IPv6Address) and address.sixtofour is not None:
        reason = refusal(address.sixtofour, policy)
        return None if reason is None else Phrase.of("url.sixtofour", address=str(address.sixtofour), reason=reason)
    return None


def _refused(host: str, address: Address, reason: Phrase) -> Phrase:
    """ "10.0.0.1 is a private address, …" for an IP literal; "intranet resolves to 10.0.0.1, a private …"."""
    with contextlib.suppress(ValueError):
        if ipaddress.ip_address(host) == address:
            return Phrase.of("url.is", host=host, reason=reason)
    return Phrase.of("url.resolves_to", host=host, address=str(address), reason=reason)


def _non_public_kind(address: Address) -> str | None:
    """What kind of non-public address this is (the most telling first: `url.kind.<kind>` names it), or None for a
    public one."""
    kinds = (
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link_local"),
        (address.is_unspecified, "unspecified"),
        (address.is_multicast, "multicast"),
        (address in SHARED_ADDRESS_SPACE, "shared"),
        (address.is_private, "private"),
        (address.is_reserved, "reserved"),
        (not address.is_global, "non_public"),
    )
    return next((name for matches, name in kinds if matches), None)


async def check_url(url: str, policy: UrlPolicy) -> None:
    """Refuse (UnsafeUrlError) a URL that is not http(s) with a host, or whose host resolves to an address the
    policy forbids. Every address the host resolves to must be allowed, not just the first."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as error:
        raise UnsafeUrlError(Phrase.of("url.invalid", url=repr(url), detail=str(error))) from None
    if parsed.scheme not in ("http", "https"):
        raise UnsafeUrlError(Phrase.of("url.scheme", url=repr(url)))
    if not parsed.host:
        raise UnsafeUrlError(Phrase.of("url.no_host", url=repr(url)))
    if policy.allow_private:
        return
    host = parsed.raw_host.decode("ascii")
    for address in await _resolve(host, parsed.port or (443 if parsed.scheme == "https" else 80)):
        if reason := refusal(address, policy):
            raise UnsafeUrlError(_refused(host, address, reason))


async def _resolve(host: str, port: int) -> set[Address]:
    """The addresses the system resolver gives for `host`; an IP literal is its own answer.

    Numeric spellings such as 2130706433, 0x7f.1 or 127.1 are not literals for `ipaddress` but the resolver
    turns them into the address they spell, which is then judged like any other.
    """
    try:
        return {ipaddress.ip_address(host)}
    except ValueError:
        pass
    try:
        # Bounded: the check runs before a Slack form is answered, which Slack allows 3 seconds.
        async with asyncio.timeout(RESOLVE_TIMEOUT):
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise UnsafeUrlError(Phrase.of("url.cannot_resolve", host=host, detail=str(error.strerror))) from None
    except TimeoutError:
        raise UnsafeUrlError(Phrase.of("url.resolve_timeout", host=host, count=round(RESOLVE_TIMEOUT))) from None
    return {ipaddress.ip_address(sockaddr[0]) for *_, sockaddr in infos}


def guarded_socket_factory(policy: UrlPolicy) -> SocketFactoryType:
    """Open the socket of each connection attempt only if its address is allowed.

    aiohttp calls this with every address it is about to connect to, whether it came from DNS (at connect time,
    so a rebinding answer is judged too) or from an IP literal in the URL (which aiohttp never resolves). Of a
    host with several addresses, only the allowed ones are tried.
    """

    def open_socket(addr_info: AddrInfoType) -> socket.socket:
        family, type_, proto, _, sockaddr = addr_info
        address = ipaddress.ip_address(sockaddr[0])
        if reason := refusal(address, policy):
            raise RefusedAddressError(Phrase.of("url.is", host=str(address), reason=reason))
        return socket.socket(family=family, type=type_, proto=proto)

    return open_socket


def new_guarded_http_client(policy: UrlPolicy, timeout: httpx.Timeout | None = None) -> httpx.AsyncClient:
    """Like watchers.base.new_http_client, but no connection, redirects included, reaches a forbidden address.

    Proxies from the environment (HTTP_PROXY...) are not used: httpx ignores them when given a transport, and so
    does aiohttp's session by default. That matters: through a proxy only the proxy's address would be checked.
    """
    ssl_context = httpx.create_ssl_context()

    def open_session() -> ClientSession:
        # Called by the transport on its first request, inside the running loop, as aiohttp requires.
        connector = TCPConnector(
            limit=POOL_LIMITS.max_connections or 0,
            keepalive_timeout=POOL_LIMITS.keepalive_expiry,
            ssl=ssl_context,
            socket_factory=guarded_socket_factory(policy),
        )
        return ClientSession(connector=connector)

    return new_http_client(timeout or TIMEOUT, session=open_session)
