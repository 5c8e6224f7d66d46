"""Proxy and TLS settings of the default transport, read the way httpx reads them.

Both inner transports (aiohttp under asyncio, httpx's own under trio) get their proxy per request
URL from ``ProxyChooser`` and their TLS context from ``ssl_context``, so the client behaves the
same on either: an explicit ``proxy=`` wins; otherwise, with ``trust_env``, ``HTTPS_PROXY``,
``HTTP_PROXY``, ``ALL_PROXY`` and ``NO_PROXY`` (any case, as ``urllib`` reads them) choose one;
``verify=True`` trusts ``SSL_CERT_FILE``, else ``SSL_CERT_DIR``, else certifi's bundle.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import ssl
import urllib.request

import certifi
import httpx

from ._errors import ConfigurationError

__all__ = ["ProxyChooser", "VerifyTypes", "bypassed", "check_verify", "proxy_url", "ssl_context"]

VerifyTypes = bool | str | os.PathLike[str] | ssl.SSLContext
"""``True`` (certifi, or ``SSL_CERT_FILE``/``SSL_CERT_DIR`` with ``trust_env``), ``False``, a CA bundle
file or directory, or your own ``ssl.SSLContext``."""

_PROXY_SCHEMES = ("http", "https")


def proxy_url(value: str | httpx.URL, name: str = "proxy") -> httpx.URL:
    """A proxy URL checked for what the default transport can use; ``name`` says where it came from."""
    text = str(value).strip()
    if "://" not in text:
        text = "http://" + text  # HTTP_PROXY=proxy.corp:3128, as httpx and curl read it
    try:
        url = httpx.URL(text)
    except httpx.InvalidURL as exc:
        raise ConfigurationError(f"{name}: not a URL ({value!r}): {exc}") from None
    if url.scheme not in _PROXY_SCHEMES or not url.host:
        shown = url.copy_with(username=None, password=None)
        raise ConfigurationError(
            f"{name}: the default transport supports http:// and https:// proxies (got {shown}); for another "
            "kind pass transport= (such as httpx.AsyncHTTPTransport(proxy=...) with httpx[socks] for SOCKS)"
        )
    return url


def check_verify(verify: object) -> VerifyTypes:
    """``verify`` as given, or a clear error naming it: a bool, an ``ssl.SSLContext`` or an existing path."""
    if isinstance(verify, bool | ssl.SSLContext):
        return verify
    if isinstance(verify, str | os.PathLike):
        path = os.fspath(verify)
        if not isinstance(path, str) or not os.path.exists(path):
            raise ConfigurationError(f"verify: no CA bundle file or directory at {path!r}")
        return path
    raise ConfigurationError(
        f"verify: must be True, False, a CA bundle path or an ssl.SSLContext (got {type(verify).__name__})"
    )


def ssl_context(verify: VerifyTypes, trust_env: bool) -> ssl.SSLContext:
    """The TLS context for ``verify``; the environment is read now (at the transport's first use)."""
    if isinstance(verify, ssl.SSLContext):
        return verify
    if verify is False:
        return _unverified()
    if verify is True:
        cafile = os.environ.get("SSL_CERT_FILE") if trust_env else None
        capath = os.environ.get("SSL_CERT_DIR") if trust_env else None
        if cafile:
            return _trusting(_existing(cafile, "SSL_CERT_FILE"), None)
        if capath:
            return _trusting(None, _existing(capath, "SSL_CERT_DIR"))
        return _trusting(certifi.where(), None)
    path = os.fspath(verify)
    return _trusting(None, path) if os.path.isdir(path) else _trusting(path, None)


def _existing(path: str, variable: str) -> str:
    if not os.path.exists(path):
        raise ConfigurationError(f"{variable}: no CA bundle at {path!r} (unset it, or pass verify=)")
    return path


@functools.lru_cache(maxsize=16)
def _trusting(cafile: str | None, capath: str | None) -> ssl.SSLContext:
    """A verifying context, shared by clients with the same trust store (loading certifi costs ~10 ms)."""
    try:
        return ssl.create_default_context(cafile=cafile, capath=capath)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(f"verify: cannot load CA certificates from {cafile or capath!r}: {exc}") from None


@functools.lru_cache(maxsize=1)
def _unverified() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class ProxyChooser:
    """The proxy for a request URL (or None for a direct connection), decided once per origin."""

    def __init__(self, proxy: str | httpx.URL | None, trust_env: bool) -> None:
        self._fixed = proxy_url(proxy) if proxy is not None else None
        # Read when the client is made, as httpx does: {"https": "...", "all": "...", "no": "..."}.
        self._env = urllib.request.getproxies_environment() if proxy is None and trust_env else {}
        self._chosen: dict[tuple[str, str, int | None], httpx.URL | None] = {}

    @property
    def active(self) -> bool:
        """Whether any request may go through a proxy."""
        return self._fixed is not None or any(key != "no" for key in self._env)

    def __call__(self, url: httpx.URL) -> httpx.URL | None:
        key = (url.scheme, url.host, url.port)
        if key not in self._chosen:
            self._chosen[key] = self._choose(url)
        return self._chosen[key]

    def _choose(self, url: httpx.URL) -> httpx.URL | None:
        if self._fixed is not None:
            return self._fixed
        raw = self._env.get(url.scheme) or self._env.get("all")
        if not raw:
            return None
        if bypassed(url, self._env.get("no", "")):
            return None
        variable = f"{'ALL' if not self._env.get(url.scheme) else url.scheme.upper()}_PROXY"
        return proxy_url(raw, variable)


def bypassed(url: httpx.URL, no_proxy: str) -> bool:
    """Whether ``NO_PROXY`` exempts ``url``, read as curl and httpx do.

    Entries are comma-separated: ``*``; a host or domain (``example.com`` also covers its
    subdomains, a leading ``.`` or ``*.`` is ignored); an optional ``:port``; an IP or a CIDR range;
    any of these after ``scheme://`` (as httpx's docs show: ``http://127.0.0.1``) for that scheme only.
    """
    host = url.host.lower()
    port = url.port or (443 if url.scheme == "https" else 80)
    for entry in (e.strip().lower() for e in no_proxy.split(",")):
        scheme, separator, rest = entry.partition("://")
        if separator:
            if scheme not in (url.scheme, "all"):
                continue
            entry = rest.rstrip("/")
        if entry == "*":
            return True
        if not entry:
            continue
        name, want_port = entry, None
        if entry.count(":") == 1 or entry.startswith("["):  # host:port or [v6]:port, not a bare IPv6
            name, _, tail = entry.rpartition(":")
            if not tail.isdigit():
                name = entry
            else:
                want_port = int(tail)
        name = name.strip("[]").removeprefix("*").lstrip(".")
        if want_port is not None and want_port != port:
            continue
        if "/" in name:
            try:
                if ipaddress.ip_address(host) in ipaddress.ip_network(name, strict=False):
                    return True
            except ValueError:
                pass
            continue
        if host == name or host.endswith("." + name):
            return True
    return False
