"""Proxies and TLS on the default transport (aiohttp under asyncio, httpx's own under trio).

Every scenario runs on both backends, against real local servers: the emulator over HTTPS with a
certificate from a throwaway ``trustme`` CA, and a CONNECT proxy (``tests/netfixtures.py``).
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trustme

from dify_mgmt_async import APIConnectionError, ConfigurationError, DifyManagementClient
from dify_mgmt_async._netconfig import bypassed
from dify_mgmt_async.emulator import EmulatorServer

from .netfixtures import ConnectProxy, TLSEmulator

pytestmark = pytest.mark.anyio

PROXY_VARIABLES = [f"{name}{suffix}" for name in ("http", "https", "all", "no") for suffix in ("_proxy", "_PROXY")]
PROXY_VARIABLES += ["SSL_CERT_FILE", "SSL_CERT_DIR"]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy or CA variable from the machine running the tests leaks into them."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> str:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def tls_emulator(ca: trustme.CA, tmp_path: Path) -> Iterator[TLSEmulator]:
    with TLSEmulator(ca, tmp_path) as server:
        yield server


@pytest.fixture
def plain_emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer() as server:
        yield server


@pytest.fixture
def proxy() -> Iterator[ConnectProxy]:
    with ConnectProxy() as server:
        yield server


def _target(server: EmulatorServer) -> str:
    return f"127.0.0.1:{server.port}"


def _chain(exc: BaseException | None) -> str:
    """The messages of an exception and of everything it was raised from."""
    seen: list[str] = []
    while exc is not None and len(seen) < 10:
        seen.append(f"{type(exc).__name__}: {exc}")
        exc = exc.__cause__ or exc.__context__
    return " <- ".join(seen)


async def _create_and_list(dify: DifyManagementClient) -> list[str]:
    app = await dify.apps.create(name="through", mode="chat")
    page = await dify.apps.list()
    return [app.name, *(a.name for a in page.data)]


# --- TLS ------------------------------------------------------------------------------------


async def test_verify_with_a_ca_bundle_path(tls_emulator: TLSEmulator, ca_file: str) -> None:
    """verify="ca.pem" trusts the throwaway CA: a create and a list go through over HTTPS."""
    async with DifyManagementClient(tls_emulator.base_url, tls_emulator.token, verify=ca_file) as dify:
        assert await _create_and_list(dify) == ["through", "through"]


async def test_verify_with_an_ssl_context(tls_emulator: TLSEmulator, ca: trustme.CA) -> None:
    """verify=ssl.SSLContext is used as given."""
    context = ssl.create_default_context()
    ca.configure_trust(context)
    async with DifyManagementClient(tls_emulator.base_url, tls_emulator.token, verify=context) as dify:
        assert (await dify.apps.create(name="ctx", mode="chat")).name == "ctx"


async def test_an_unknown_ca_is_refused_by_default(tls_emulator: TLSEmulator) -> None:
    """The default (certifi) does not trust the throwaway CA: a connection error naming the verification failure."""
    async with DifyManagementClient(tls_emulator.base_url, tls_emulator.token, max_retries=0) as dify:
        with pytest.raises(APIConnectionError) as info:
            await dify.apps.list()
    assert "CERTIFICATE_VERIFY_FAILED" in _chain(info.value)
    assert tls_emulator.stats()["requests_total"] == 0


async def test_verify_false_accepts_any_certificate(tls_emulator: TLSEmulator) -> None:
    """verify=False skips verification, as in httpx."""
    async with DifyManagementClient(tls_emulator.base_url, tls_emulator.token, verify=False) as dify:
        assert (await dify.apps.list()).total == 0


async def test_ssl_cert_file_is_trusted_unless_trust_env_is_false(
    tls_emulator: TLSEmulator, ca_file: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SSL_CERT_FILE replaces certifi's bundle; with trust_env=False it is ignored."""
    monkeypatch.setenv("SSL_CERT_FILE", ca_file)
    async with DifyManagementClient(tls_emulator.base_url, tls_emulator.token) as dify:
        assert (await dify.apps.list()).total == 0
    async with DifyManagementClient(tls_emulator.base_url, tls_emulator.token, trust_env=False, max_retries=0) as dify:
        with pytest.raises(APIConnectionError) as info:
            await dify.apps.list()
    assert "CERTIFICATE_VERIFY_FAILED" in _chain(info.value)


@pytest.fixture
def hashed_ca_dir(ca_file: str, tmp_path: Path) -> str:
    """A directory holding the CA under its subject hash, as `openssl rehash` lays out SSL_CERT_DIR."""
    digest = subprocess.run(
        ["openssl", "x509", "-hash", "-noout", "-in", ca_file], capture_output=True, text=True, check=True
    ).stdout.strip()
    certs = tmp_path / "certs"
    certs.mkdir()
    shutil.copy(ca_file, certs / f"{digest}.0")
    return str(certs)


async def test_ssl_cert_dir_is_trusted(
    tls_emulator: TLSEmulator, hashed_ca_dir: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SSL_CERT_DIR (a directory of hashed CA files) is trusted."""
    monkeypatch.setenv("SSL_CERT_DIR", hashed_ca_dir)
    async with DifyManagementClient(tls_emulator.base_url, tls_emulator.token) as dify:
        assert (await dify.apps.list()).total == 0


# --- proxies --------------------------------------------------------------------------------


async def test_https_through_an_explicit_connect_proxy(
    tls_emulator: TLSEmulator, ca_file: str, proxy: ConnectProxy
) -> None:
    """proxy= tunnels HTTPS with CONNECT; the pool keeps the tunnel for the next call."""
    async with DifyManagementClient(tls_emulator.base_url, tls_emulator.token, proxy=proxy.url, verify=ca_file) as dify:
        assert await _create_and_list(dify) == ["through", "through"]
    assert proxy.seen == [("CONNECT", _target(tls_emulator), None)]


async def test_https_proxy_from_the_environment(
    tls_emulator: TLSEmulator, ca_file: str, proxy: ConnectProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HTTPS_PROXY is honoured (written without a scheme, as people do); trust_env=False ignores it."""
    monkeypatch.setenv("HTTPS_PROXY", f"127.0.0.1:{proxy.port}")
    async with DifyManagementClient(tls_emulator.base_url, tls_emulator.token, verify=ca_file) as dify:
        await dify.apps.list()
    assert proxy.seen == [("CONNECT", _target(tls_emulator), None)]
    async with DifyManagementClient(tls_emulator.base_url, tls_emulator.token, verify=ca_file, trust_env=False) as dify:
        await dify.apps.list()
    assert len(proxy.seen) == 1


async def test_no_proxy_bypasses_the_proxy(
    tls_emulator: TLSEmulator, ca_file: str, proxy: ConnectProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """NO_PROXY naming the host sends directly."""
    monkeypatch.setenv("https_proxy", proxy.url)
    monkeypatch.setenv("NO_PROXY", "example.com, 127.0.0.1")
    async with DifyManagementClient(tls_emulator.base_url, tls_emulator.token, verify=ca_file) as dify:
        assert (await dify.apps.list()).total == 0
    assert proxy.seen == []


async def test_all_proxy_relays_plain_http(
    plain_emulator: EmulatorServer, proxy: ConnectProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ALL_PROXY covers http:// too: the request goes to the proxy in absolute form."""
    monkeypatch.setenv("ALL_PROXY", proxy.url)
    async with DifyManagementClient(plain_emulator.base_url, plain_emulator.token) as dify:
        assert (await dify.apps.list(limit=5)).limit == 5
    assert proxy.seen == [("GET", f"{plain_emulator.base_url}/api/management/apps?limit=5", None)]


async def test_proxy_credentials_are_sent_as_proxy_authorization(
    tls_emulator: TLSEmulator, ca_file: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """user:password in the proxy URL becomes Proxy-Authorization on the CONNECT, not a header to the API."""
    with ConnectProxy(credentials=("alice", "s3cret")) as proxy:
        url = f"http://alice:s3cret@127.0.0.1:{proxy.port}"
        async with DifyManagementClient(tls_emulator.base_url, tls_emulator.token, proxy=url, verify=ca_file) as dify:
            assert (await dify.apps.list()).total == 0
        assert proxy.seen == [("CONNECT", _target(tls_emulator), "Basic YWxpY2U6czNjcmV0")]


@pytest.mark.parametrize(("user", "basic"), [("alice", "Basic YWxpY2U6czNjcmV0"), ("", "Basic OnMzY3JldA==")])
async def test_proxy_credentials_reach_the_proxy_for_plain_http_too(
    plain_emulator: EmulatorServer, user: str, basic: str
) -> None:
    """An http:// API through the proxy (no CONNECT): the credentials go with the relayed request, also a password
    with an empty user name, as httpx.Proxy sends it (under asyncio neither was sent: aiohttp keeps
    ``proxy_headers`` for a CONNECT, and the proxy answered 407)."""
    with ConnectProxy(credentials=(user, "s3cret")) as proxy:
        url = f"http://{user}:s3cret@127.0.0.1:{proxy.port}"
        client = DifyManagementClient(plain_emulator.base_url, plain_emulator.token, proxy=url, max_retries=0)
        async with client as dify:
            assert (await dify.apps.list(limit=5)).limit == 5
        assert proxy.seen == [("GET", f"{plain_emulator.base_url}/api/management/apps?limit=5", basic)]


async def test_an_https_proxy_is_checked_with_verify(tls_emulator: TLSEmulator, ca: trustme.CA, ca_file: str) -> None:
    """An https:// proxy whose certificate the private CA in ``verify=`` signed: its TLS is checked as the API's is,
    on both backends (under trio httpx checked it against certifi only, and the call failed)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    with ConnectProxy(tls=context) as proxy:
        assert proxy.url.startswith("https://")
        async with DifyManagementClient(
            tls_emulator.base_url, tls_emulator.token, proxy=proxy.url, verify=ca_file, max_retries=0
        ) as dify:
            assert (await dify.apps.list()).total == 0
        assert proxy.seen == [("CONNECT", _target(tls_emulator), None)]


async def test_a_no_proxy_entry_with_a_scheme_bypasses_for_that_scheme(
    plain_emulator: EmulatorServer, proxy: ConnectProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``NO_PROXY=http://127.0.0.1``, as httpx's docs write it, sends http://127.0.0.1 directly (the entry was
    read as the host ``http``, and the request went through the proxy)."""
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "http://127.0.0.1,python-httpx.org")
    async with DifyManagementClient(plain_emulator.base_url, plain_emulator.token, max_retries=0) as dify:
        assert (await dify.apps.list()).total == 0
    assert proxy.seen == []


async def test_a_proxy_refusing_credentials_is_a_connection_error(tls_emulator: TLSEmulator, ca_file: str) -> None:
    """A 407 from the proxy is an APIConnectionError (the API was never reached)."""
    with ConnectProxy(credentials=("alice", "s3cret")) as proxy:
        async with DifyManagementClient(
            tls_emulator.base_url, tls_emulator.token, proxy=proxy.url, verify=ca_file, max_retries=0
        ) as dify:
            with pytest.raises(APIConnectionError):
                await dify.apps.list()
    assert tls_emulator.stats()["requests_total"] == 0


# --- configuration errors and NO_PROXY matching (no network) -----------------------------


def test_a_socks_proxy_is_refused_with_a_clear_error() -> None:
    """socks5:// is not supported by the default transport; the error says what to do, without the password."""
    with pytest.raises(ConfigurationError) as info:
        DifyManagementClient("https://dify.example.com", "t", proxy="socks5://bob:pw@proxy:1080")
    message = str(info.value)
    assert message.startswith("proxy: the default transport supports http:// and https:// proxies")
    assert "socks5://proxy:1080" in message and "pw" not in message


def test_a_missing_ca_bundle_is_refused() -> None:
    with pytest.raises(ConfigurationError, match=r"^verify: no CA bundle file or directory at '/no/such/ca.pem'$"):
        DifyManagementClient("https://dify.example.com", "t", verify="/no/such/ca.pem")


def test_verify_of_the_wrong_type_is_refused() -> None:
    with pytest.raises(ConfigurationError, match=r"^verify: must be True, False, a CA bundle path or an ssl"):
        DifyManagementClient("https://dify.example.com", "t", verify=1)  # type: ignore[arg-type]


def test_network_settings_with_your_own_transport_are_refused() -> None:
    """proxy/verify/trust_env configure the default transport only; with transport= they would be ignored."""
    with pytest.raises(ConfigurationError, match=r"^proxy, verify, trust_env: they configure the default transport"):
        DifyManagementClient("https://dify.example.com", "t", transport=httpx.AsyncHTTPTransport(), verify=False)


@pytest.mark.parametrize(
    ("url", "no_proxy", "expected"),
    [
        ("https://api.example.com", "*", True),
        ("https://api.example.com", "example.com", True),
        ("https://api.example.com", ".example.com", True),
        ("https://api.example.com", "*.example.com", True),
        ("https://example.com", "example.com", True),
        ("https://badexample.com", "example.com", False),
        ("https://api.example.com", "other.org, api.example.com:443", True),
        ("https://api.example.com", "api.example.com:8443", False),
        ("http://10.1.2.3:8080", "10.0.0.0/8", True),
        ("http://11.1.2.3", "10.0.0.0/8", False),
        ("http://[::1]:5001", "::1", True),
        ("http://[::1]:5001", "[::1]:5001", True),
        ("https://api.example.com", "", False),
        ("http://127.0.0.1:8080", "http://127.0.0.1", True),  # scheme://host, for that scheme only (httpx's docs)
        ("https://127.0.0.1", "http://127.0.0.1", False),
        ("https://api.example.com", "https://example.com/", True),
        ("https://api.example.com", "https://api.example.com:8443", False),
        ("http://api.example.com", "all://api.example.com", True),
        ("https://http", "http://other.org", False),  # the scheme is not a host
        ("http://anything.example", "http://*", True),  # every host, for that scheme (httpx reads it so)
        ("https://anything.example", "http://*", False),
        ("https://anything.example", "all://*", True),
    ],
)
def test_no_proxy_matching(url: str, no_proxy: str, expected: bool) -> None:
    assert bypassed(httpx.URL(url), no_proxy) is expected
