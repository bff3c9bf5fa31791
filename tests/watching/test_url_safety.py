"""URL safety: what check_url refuses, and the guarded client refusing forbidden connections, over real sockets."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.support.feed_server import FeedServer
from veilleur.core.settings import parse_settings
from veilleur.watching import url_safety
from veilleur.watching.url_safety import UnsafeUrlError, UrlPolicy, check_url, new_guarded_http_client
from watchers.base import USER_AGENT, SourceError, WatcherContext, fetch, fetch_json

ONLY_LOCAL_SERVER = UrlPolicy(allowed_networks=(ipaddress.ip_network("127.0.0.1/32"),))

# (URL, the address the refusal must name)
FORBIDDEN = [
    ("http://127.0.0.1/feed", "127.0.0.1"),
    ("https://10.0.0.1/feed", "10.0.0.1"),
    ("http://172.16.5.4/", "172.16.5.4"),
    ("http://192.168.1.1/", "192.168.1.1"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
    ("http://[fd00:ec2::254]/latest/meta-data/", "fd00:ec2::254"),
    ("http://[::1]:8080/", "::1"),
    ("http://[::ffff:127.0.0.1]/", "127.0.0.1"),
    ("http://[::ffff:169.254.169.254]/", "169.254.169.254"),
    ("http://[2002:7f00:1::]/", "127.0.0.1"),
    ("http://[fe80::1]/", "fe80::1"),
    ("http://[fc00::5]/", "fc00::5"),
    ("http://100.64.0.1/", "100.64.0.1"),
    ("http://0.0.0.0/", "0.0.0.0"),
    ("http://[::]/", "::"),
    ("http://224.0.0.1/", "224.0.0.1"),
    ("http://240.0.0.1/", "240.0.0.1"),
    ("http://localhost/", "127.0.0.1"),
    ("http://2130706433/", "127.0.0.1"),
    ("http://0x7f.1/", "127.0.0.1"),
    ("http://127.1/", "127.0.0.1"),
    ("http://0/", "0.0.0.0"),
]


@pytest.mark.parametrize(("url", "address"), FORBIDDEN)
async def test_check_url_refuses_addresses_inside_the_network(url: str, address: str) -> None:
    with pytest.raises(UnsafeUrlError) as raised:
        await check_url(url, UrlPolicy())
    message = str(raised.value)
    assert address in message and "ALLOW_PRIVATE_URLS" in message


@pytest.mark.parametrize(("url", "address"), FORBIDDEN)
async def test_every_refusal_has_its_french_sentence(url: str, address: str) -> None:
    with pytest.raises(UnsafeUrlError) as raised:
        await check_url(url, UrlPolicy())
    french = raised.value.phrase.say("fr").replace("\u202f", " ")
    assert address in french and "ALLOW_PRIVATE_URLS" in french
    assert "refusée sauf si ALLOW_PRIVATE_URLS" in french and "refused" not in french and " is " not in french


@pytest.mark.parametrize(
    ("url", "french"),
    [
        ("http://127.0.0.1/feed", "127.0.0.1 est une adresse de bouclage (loopback), refusée sauf si "
         "ALLOW_PRIVATE_URLS l’autorise"),
        ("http://localhost/", "localhost correspond à 127.0.0.1, une adresse de bouclage (loopback), refusée"),
        ("http://[::ffff:10.0.0.1]/", "::ffff:10.0.0.1 est une forme IPv6 de 10.0.0.1, une adresse privée, refusée"),
        ("http://169.254.169.254/", "169.254.169.254 est une adresse de métadonnées du cloud, refusée sauf si "
         "ALLOW_PRIVATE_URLS cite cette adresse précise"),
        ("ftp://example.org/feed", "seules les URL en http:// ou https:// peuvent être surveillées (reçu "
         "'ftp://example.org/feed')"),
    ],
)
async def test_refusals_read_as_french(url: str, french: str) -> None:
    with pytest.raises(UnsafeUrlError) as raised:
        await check_url(url, UrlPolicy())
    assert raised.value.phrase.say("fr").replace("\u202f", " ").startswith(french)


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "gopher://127.0.0.1:70/_x", "ftp://example.org/feed", "javascript:alert(1)"]
)
async def test_check_url_refuses_other_schemes_even_when_private_urls_are_allowed(url: str) -> None:
    for policy in (UrlPolicy(), UrlPolicy(allow_private=True)):
        with pytest.raises(UnsafeUrlError, match="only http:// and https://"):
            await check_url(url, policy)


@pytest.mark.parametrize("url", ["http:///feed", "https://", "http://exa mple.org/"])
async def test_check_url_refuses_a_url_without_a_valid_host(url: str) -> None:
    with pytest.raises(UnsafeUrlError):
        await check_url(url, UrlPolicy())


async def test_a_host_that_does_not_resolve_in_time_is_refused_with_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(url_safety, "RESOLVE_TIMEOUT", 0)
    with pytest.raises(UnsafeUrlError, match=r"cannot resolve localhost: no answer within 0 s"):
        await check_url("http://localhost/feed.xml", UrlPolicy())


@pytest.mark.parametrize(
    "url", ["http://93.184.215.14/feed.xml", "https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/", "http://8.8.8.8:8080/"]
)
async def test_check_url_accepts_public_addresses(url: str) -> None:
    await check_url(url, UrlPolicy())


@pytest.mark.parametrize(("url", "address"), FORBIDDEN)
async def test_allow_private_urls_true_accepts_anything_http(url: str, address: str) -> None:
    await check_url(url, UrlPolicy(allow_private=True))


async def test_allowed_networks_open_only_what_they_list() -> None:
    for url in ("http://127.0.0.1:8080/feed", "http://127.1/", "http://[::ffff:127.0.0.1]/", "http://93.184.215.14/"):
        await check_url(url, ONLY_LOCAL_SERVER)
    for url in ("http://127.0.0.2/", "http://10.0.0.1/", "http://169.254.169.254/", "http://[::1]/"):
        with pytest.raises(UnsafeUrlError):
            await check_url(url, ONLY_LOCAL_SERVER)


async def test_metadata_address_needs_to_be_listed_itself() -> None:
    link_local = UrlPolicy(allowed_networks=(ipaddress.ip_network("169.254.0.0/16"), ipaddress.ip_network("fd00::/8")))
    await check_url("http://169.254.10.1/", link_local)
    await check_url("http://[fd00::1]/", link_local)
    for url in ("http://169.254.169.254/", "http://[fd00:ec2::254]/"):
        with pytest.raises(UnsafeUrlError, match="metadata"):
            await check_url(url, link_local)
    listed = UrlPolicy(allowed_networks=(ipaddress.ip_network("169.254.169.254"),))
    await check_url("http://169.254.169.254/latest/meta-data/", listed)


async def test_policy_comes_from_allow_private_urls() -> None:
    assert UrlPolicy.from_settings(parse_settings({})) == UrlPolicy()
    assert UrlPolicy.from_settings(parse_settings({"ALLOW_PRIVATE_URLS": "true"})).allow_private
    intranet = UrlPolicy.from_settings(parse_settings({"ALLOW_PRIVATE_URLS": "10.1.2.0/24,192.168.1.20"}))
    await check_url("http://10.1.2.200/feed", intranet)
    await check_url("http://192.168.1.20/feed", intranet)
    with pytest.raises(UnsafeUrlError):
        await check_url("http://192.168.1.21/feed", intranet)


# ---- the guarded client ------------------------------------------------------------------------------------------


@pytest.fixture
async def guarded_local() -> AsyncIterator[httpx.AsyncClient]:
    """A guarded client that may reach 127.0.0.1 (the test servers) and nothing else that is not public."""
    async with new_guarded_http_client(ONLY_LOCAL_SERVER, httpx.Timeout(5.0)) as http:
        yield http


async def test_guarded_client_fetches_an_allowed_address_end_to_end(
    feeds: FeedServer, guarded_local: httpx.AsyncClient
) -> None:
    feeds.add("/feed.xml", "<rss/>")
    feeds.redirect("/old", feeds.url("/feed.xml"))
    response, body = await fetch(guarded_local, feeds.url("/old"))
    assert (response.status_code, body) == (200, b"<rss/>")
    assert feeds.requests("/feed.xml")[0].headers["User-Agent"] == USER_AGENT


@pytest.mark.parametrize(
    ("target", "address"),
    [
        ("http://10.0.0.1/feed", "10.0.0.1"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        ("http://[fd00:ec2::254]/latest/meta-data/", "fd00:ec2::254"),
        ("http://[::1]:{port}/feed.xml", "::1"),
        ("http://[::ffff:10.0.0.1]/feed", "10.0.0.1"),
        ("http://100.64.0.1/feed", "100.64.0.1"),
    ],
)
async def test_a_redirect_to_a_forbidden_address_is_refused(
    feeds: FeedServer, guarded_local: httpx.AsyncClient, target: str, address: str
) -> None:
    feeds.add("/feed.xml", "<rss/>")
    feeds.redirect("/moved", target.format(port=feeds.port))
    with pytest.raises(SourceError) as raised:
        await fetch(guarded_local, feeds.url("/moved"))
    message = str(raised.value)
    assert address in message and "ALLOW_PRIVATE_URLS" in message
    assert feeds.requests("/feed.xml") == []


@pytest.mark.parametrize("spelling", ["2130706433", "127.1"])
async def test_a_redirect_to_a_legacy_numeric_spelling_is_refused(
    feeds: FeedServer, guarded_local: httpx.AsyncClient, spelling: str
) -> None:
    """aiohttp refuses these spellings of 127.0.0.1 outright, even where 127.0.0.1 itself is allowed (0x7f.1,
    which it hands to the resolver, is judged as 127.0.0.1: see the connect-time test)."""
    feeds.add("/feed.xml", "<rss/>")
    feeds.redirect("/moved", f"http://{spelling}:{feeds.port}/feed.xml")
    with pytest.raises(SourceError, match=spelling):
        await fetch(guarded_local, feeds.url("/moved"))
    assert feeds.requests("/feed.xml") == []


class ConnectionCounter:
    """A bare TCP listener on 127.0.0.1 that counts the connections it accepts (and answers nothing useful)."""

    def __init__(self) -> None:
        self.accepted = 0
        self.port = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> ConnectionCounter:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "0x7f.1", "[::ffff:127.0.0.1]"])
async def test_a_forbidden_address_is_refused_at_connect_time_without_check_url(host: str) -> None:
    """No check_url here: the client alone stops a host that resolves (or rebinds) to a forbidden address,
    before any connection is opened."""
    async with ConnectionCounter() as listener, new_guarded_http_client(UrlPolicy()) as http:
        url = f"http://{host}:{listener.port}/feed"
        with pytest.raises(SourceError) as raised:
            await fetch(http, url)
        with pytest.raises(SourceError) as raised_json:
            await fetch_json(WatcherContext(http=http), url)
    for message in (str(raised.value), str(raised_json.value)):
        assert "127.0.0.1" in message and "ALLOW_PRIVATE_URLS" in message
    assert listener.accepted == 0


async def test_allow_private_true_lets_the_guarded_client_reach_localhost() -> None:
    async with ConnectionCounter() as listener, new_guarded_http_client(UrlPolicy(allow_private=True)) as http:
        response, _ = await fetch(http, f"http://localhost:{listener.port}/feed")
    assert response.status_code == 204 and listener.accepted == 1


async def test_the_guarded_client_ignores_proxies_from_the_environment(
    feeds: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through a proxy only the proxy's address would be checked, and the proxy would fetch 10.0.0.1 for us: the
    guarded client must not take HTTP_PROXY from the environment."""
    monkeypatch.setenv("HTTP_PROXY", feeds.base_url)
    monkeypatch.setenv("ALL_PROXY", feeds.base_url)
    async with new_guarded_http_client(ONLY_LOCAL_SERVER) as http:
        with pytest.raises(SourceError, match=r"10\.0\.0\.1"):
            await fetch(http, "http://10.0.0.1/feed")
    assert feeds.log == []
