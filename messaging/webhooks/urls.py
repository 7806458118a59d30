"""Which URLs a webhook may post to: https only, and never to this network's own hosts.

A URL naming a loopback, private, link-local (cloud metadata lives there) or otherwise
non-public address would let whoever registers an endpoint make the server post into its own
network; the name is resolved and every address it gives is checked, at registration and again
before each post (a name can change what it points to). ``WEBHOOK_ALLOW_PRIVATE`` lifts both rules
(tests and closed networks post to http on loopback).
"""
from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from flask import current_app

from messaging.errors import ValidationFailed

MAX_URL_LENGTH = 2000


def _refuse(message: str) -> ValidationFailed:
    return ValidationFailed(f"The URL is refused: {message}.", {"url": message})


def _not_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for name, flag in (("unspecified", address.is_unspecified), ("loopback", address.is_loopback),
                       ("link-local", address.is_link_local), ("multicast", address.is_multicast),
                       ("private", address.is_private), ("reserved", address.is_reserved),
                       ("non-public", not address.is_global)):
        if flag:
            return name
    return None


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (an IP literal is itself)."""
    try:
        return [ipaddress.ip_address(host).compressed]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise _refuse(f"the host {host} cannot be resolved ({exc})") from None
    return sorted({info[4][0].split("%")[0] for info in infos})


def check_url(url: str, allow_private: bool | None = None) -> str:
    """``url`` if the server may post to it; otherwise ValidationFailed on ``url`` saying why."""
    if allow_private is None:
        allow_private = bool(current_app.config["WEBHOOK_ALLOW_PRIVATE"])
    url = (url or "").strip()
    if not url:
        raise _refuse("a URL is required")
    if len(url) > MAX_URL_LENGTH:
        raise _refuse(f"it must be at most {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise _refuse(f"it is not a valid URL ({exc})") from None
    allowed_schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme.lower() not in allowed_schemes:
        raise _refuse("it must start with https://")
    if not parts.hostname:
        raise _refuse("it names no host")
    if parts.username or parts.password:
        raise _refuse("it must not carry a user name or password")
    if parts.fragment:
        raise _refuse("it must not have a #fragment")
    if allow_private:
        return url
    port = port or (443 if parts.scheme.lower() == "https" else 80)
    for address in resolve(parts.hostname, port):
        why = _not_public(ipaddress.ip_address(address))
        if why:
            named = address if address == parts.hostname else f"{parts.hostname} resolves to {address}, which"
            raise _refuse(f"{named} is a {why} address; webhooks go to public hosts only")
    return url
