"""Go-style ``host:port`` handling: parse, resolve (IPv4 first), bind, format (spec §1.4).

Error messages copy Go's ``net`` wording, since the API returns them verbatim (500).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

from wsquake.faults.proxy.exceptions import ServerError

LISTEN_BACKLOG = 4096


class AddressError(ValueError):
    """A ``host:port`` string is malformed."""


def split_host_port(address: str) -> tuple[str, str]:
    """Go's ``net.SplitHostPort``: ``[v6]:port``, ``host:port``, ``:port``."""
    if address.startswith("["):
        end = address.find("]")
        if end < 0:
            raise AddressError(f"address {address}: missing ']' in address")
        host, rest = address[1:end], address[end + 1 :]
        if not rest.startswith(":"):
            raise AddressError(f"address {address}: missing port in address")
        return host, rest[1:]
    colon = address.rfind(":")
    if colon < 0:
        raise AddressError(f"address {address}: missing port in address")
    host, port = address[:colon], address[colon + 1 :]
    if ":" in host:
        raise AddressError(f"address {address}: too many colons in address")
    return host, port


def parse_port(port: str) -> int:
    if not port.isdigit():
        raise AddressError(f"lookup tcp/{port}: unknown port")
    value = int(port)
    if value > 65535:
        raise AddressError(f"address {port}: invalid port")
    return value


def format_address(host: str, port: int) -> str:
    """``1.2.3.4:5``, ``[::1]:5``, or ``:5`` for the empty host (Go's ``TCPAddr.String``)."""
    if ":" in host:
        return f"[{host}]:{port}"
    return f"{host}:{port}"


async def resolve(address: str) -> tuple[str, int]:
    """Resolve ``address`` to ``(ip, port)``, preferring IPv4 as Go does; ``ip`` may be ``""``.

    An empty address means every interface and a random port, as in Go's ``net.Listen``.
    """
    if address == "":
        return "", 0
    try:
        host, port_text = split_host_port(address)
        port = parse_port(port_text)
    except AddressError as exc:
        raise ServerError(f"listen tcp: {exc}") from None
    if not host:
        return "", port
    try:
        return str(ipaddress.ip_address(host)), port
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        raise ServerError(f"listen tcp: lookup {host}: no such host") from None
    for family in (socket.AF_INET, socket.AF_INET6):
        for info in infos:
            if info[0] == family:
                return str(info[4][0]), port
    raise ServerError(f"listen tcp: lookup {host}: no such host")


async def resolve_string(address: str) -> str:
    """The normalised form used to decide whether a new ``listen`` differs."""
    host, port = await resolve(address)
    return format_address(host, port)


def _listen_socket(family: int, host: str, port: int, dual_stack: bool) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if dual_stack:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind((host, port))
        sock.listen(LISTEN_BACKLOG)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


async def bind(address: str) -> tuple[socket.socket, str]:
    """Bind a listening socket for ``address``; return it and the normalised ``listen``."""
    host, port = await resolve(address)
    shown = format_address(host, port)
    try:
        if not host:
            try:
                sock = _listen_socket(socket.AF_INET6, "::", port, dual_stack=True)
            except OSError:
                sock = _listen_socket(socket.AF_INET, "0.0.0.0", port, dual_stack=False)
        else:
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            sock = _listen_socket(family, host, port, dual_stack=False)
    except OSError as exc:
        reason = (exc.strerror or str(exc)).lower()
        raise ServerError(f"listen tcp {shown}: bind: {reason}") from None
    bound_host, bound_port = sock.getsockname()[:2]
    return sock, format_address(str(bound_host), int(bound_port))


def upstream_target(upstream: str) -> tuple[str, int]:
    """``(host, port)`` to dial for a proxy's ``upstream``; :class:`AddressError` if malformed."""
    host, port = split_host_port(upstream)
    return host or "localhost", parse_port(port)
