"""Refuse outbound requests to private, loopback, link-local and metadata addresses (SSRF).

Two layers, both on by default (``EGRESS_ENABLED``); ``EGRESS_ALLOW`` lists networks that
may be reached all the same (tests and ``newsarchive demo`` allow their loopback server):

- ``GuardedResolver`` (``TWISTED_DNS_RESOLVER``) wraps the reactor's name resolver and
  drops every refused address from each answer, so the address a connection is made to is
  the one that was checked: a name that re-resolves to 10.x between two lookups (DNS
  rebinding) is refused the second time too. IP literals go through it as well.
- ``EgressGuardMiddleware`` refuses IP-literal URLs before the download (every redirect hop
  passes through it again), turns the resolver's empty answer into ``EgressRefused`` naming
  the address, and drops any response whose peer address is refused.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import urlsplit

from scrapy.exceptions import CannotResolveHostError, IgnoreRequest, NotConfigured
from scrapy.resolver import CachingThreadedResolver
from twisted.internet.error import DNSLookupError
from twisted.internet.interfaces import (
    IAddress,
    IHostnameResolver,
    IHostResolution,
    IResolutionReceiver,
)
from zope.interface import implementer

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.settings import BaseSettings
    from twisted.internet.base import ReactorBase

__all__ = ["EgressGuardMiddleware", "EgressPolicy", "EgressRefused", "GuardedResolver",
           "refusal"]

logger = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

_METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254"),
             ipaddress.ip_address("100.100.100.200")}
_SHARED = ipaddress.ip_network("100.64.0.0/10")
_SCHEMES = frozenset({"http", "https", "data"})

# host name -> why its addresses were refused (the resolver writes, the middleware reads)
_REFUSED_NAMES: dict[str, str] = {}
_LOCK = threading.Lock()


class EgressRefused(IgnoreRequest):
    """A request to an address the crawler must not reach."""


def refusal(address: str | Address) -> str | None:
    """Why ``address`` is not public (``"loopback"``, ``"private"``, …), or None."""
    try:
        ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif ip.sixtofour is not None:
            ip = ip.sixtofour
    if ip in _METADATA:
        return "cloud metadata"
    for kind, flag in (("loopback", ip.is_loopback), ("link-local", ip.is_link_local),
                       ("unspecified", ip.is_unspecified), ("multicast", ip.is_multicast),
                       ("private", ip.is_private)):
        if flag:
            return kind
    if isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED:
        return "shared (carrier-grade NAT)"
    if ip.is_reserved or not ip.is_global:
        return "reserved"
    return None


class EgressPolicy:
    """Which addresses may be reached: public ones, and those in ``allow``."""

    def __init__(self, allow: Iterable[Network] = ()) -> None:
        self.allow = tuple(allow)

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> Self:
        return cls.from_settings_list(settings.getlist("EGRESS_ALLOW"))

    @classmethod
    def from_settings_list(cls, allow: Iterable[str]) -> Self:
        networks = []
        for text in allow:
            try:
                networks.append(ipaddress.ip_network(text.strip(), strict=False))
            except ValueError as exc:
                raise ValueError(f"EGRESS_ALLOW: {text!r} is not a network: {exc}") from None
        return cls(networks)

    def refused(self, address: str) -> str | None:
        """Why ``address`` may not be reached, or None when it may."""
        reason = refusal(address.split("%", 1)[0])  # drop an IPv6 zone id
        if reason is None:
            return None
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if any(ip.version == net.version and ip in net for net in self.allow):
            return None
        return f"{ip} is {reason}"


class _FilteringReceiver:
    def __init__(self, receiver: Any, name: str, policy: EgressPolicy) -> None:
        self.receiver = receiver
        self.name = name
        self.policy = policy
        self.reasons: list[str] = []
        self.passed = 0

    def resolutionBegan(self, resolution: IHostResolution) -> None:
        self.receiver.resolutionBegan(resolution)

    def addressResolved(self, address: IAddress) -> None:
        host = getattr(address, "host", None)
        reason = self.policy.refused(host) if isinstance(host, str) else "no IP address"
        if reason is None:
            self.passed += 1
            self.receiver.addressResolved(address)
        else:
            self.reasons.append(reason)

    def resolutionComplete(self) -> None:
        key = self.name.lower()
        with _LOCK:
            if self.reasons and not self.passed:
                _REFUSED_NAMES[key] = "; ".join(dict.fromkeys(self.reasons))
            else:
                _REFUSED_NAMES.pop(key, None)
        self.receiver.resolutionComplete()


@implementer(IHostnameResolver)
class _FilteringNameResolver:
    def __init__(self, inner: Any, policy: EgressPolicy) -> None:
        self.inner = inner
        self.policy = policy

    def resolveHostName(
            self, resolutionReceiver: IResolutionReceiver, hostName: str,
            portNumber: int = 0,
            addressTypes: Sequence[type[IAddress]] | None = None,
            transportSemantics: str = "TCP",
    ) -> IHostResolution:
        receiver = _FilteringReceiver(resolutionReceiver, hostName, self.policy)
        resolution: IHostResolution = self.inner.resolveHostName(
            receiver, hostName, portNumber, addressTypes, transportSemantics)
        return resolution


class GuardedResolver(CachingThreadedResolver):
    """Scrapy's caching resolver, with refused addresses removed from every answer."""

    policy: EgressPolicy | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler, reactor: ReactorBase) -> Self:
        resolver = super().from_crawler(crawler, reactor)
        if crawler.settings.getbool("EGRESS_ENABLED"):
            resolver.policy = EgressPolicy.from_settings(crawler.settings)
        return resolver

    def install_on_reactor(self) -> None:
        super().install_on_reactor()  # also resets reactor.nameResolver to wrap this one
        if self.policy is not None:
            reactor: Any = self.reactor
            reactor.installNameResolver(_FilteringNameResolver(reactor.nameResolver,
                                                               self.policy))


def _ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class EgressGuardMiddleware:
    """Downloader middleware: refuses requests and responses of refused addresses."""

    def __init__(self, crawler: Crawler, policy: EgressPolicy) -> None:
        self.crawler = crawler
        self.policy = policy

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not crawler.settings.getbool("EGRESS_ENABLED"):
            raise NotConfigured
        return cls(crawler, EgressPolicy.from_settings(crawler.settings))

    def _refuse(self, request: Request, why: str, hint: str = " (not in EGRESS_ALLOW)",
                ) -> EgressRefused:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("egress/refused")
        logger.warning("refused %s: %s%s", request.url[:300], why, hint)
        return EgressRefused(f"refused: {why}")

    def process_request(self, request: Request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme not in _SCHEMES:
            raise self._refuse(request, f"scheme {parts.scheme!r} is not fetched", "")
        # through a proxy too: the proxy would connect to an IP literal as asked (a host
        # name is resolved by the proxy, out of our reach; the proxy's own address goes
        # through the resolver)
        host = (parts.hostname or "").strip("[]")
        if _ip_literal(host) and (why := self.policy.refused(host)):
            raise self._refuse(request, why)

    def process_exception(self, request: Request, exception: Exception) -> None:
        if isinstance(exception, DNSLookupError | CannotResolveHostError):
            host = (urlsplit(request.url).hostname or "").lower()
            with _LOCK:
                why = _REFUSED_NAMES.get(host)
            if why:
                raise self._refuse(request, f"{host} resolves to {why}")

    def process_response(self, request: Request, response: Response) -> Response:
        address = response.ip_address
        if address is not None and not request.meta.get("proxy") and \
                (why := self.policy.refused(str(address))):
            raise self._refuse(request, why)
        return response
