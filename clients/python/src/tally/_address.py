"""Where the daemon is and how to reach it: a Unix socket, TCP with TLS, or plaintext TCP on loopback.

The address comes from, in this order: an explicit argument (`url=`, or `socket=`, which may hold
a URL too), then `$TALLY_URL`, then the socket rules of docs/protocol.md 1.1 (`$TALLY_SOCKET`,
`$XDG_RUNTIME_DIR`, `$HOME`). A URL is one of

* `unix:///absolute/path/tally.sock`: the Unix socket;
* `tally+tls://HOST:PORT`: TCP with TLS (`tally serve --listen tcp://… --tls-cert … --tls-key …`);
  the certificate must be valid for HOST and signed by a CA the system trusts, or by the CA of
  `ca=` / `$TALLY_CA`;
* `tally+tcp://HOST:PORT`: plaintext TCP, for a daemon started with `--insecure-no-tls`, which
  only listens on loopback: the client refuses any other host (its token would cross the
  network in clear).

On TCP the daemon wants an access token (`token=`, else `$TALLY_TOKEN`; made by `tally tokens
create`); on the Unix socket the token is sent when set and ignored.
"""

import ipaddress
import os
import re
import ssl
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Tuple
from urllib.parse import urlsplit

from tally import _wire
from tally._protocol import ClientConnectionState, Condition
from tally.errors import RPCError
from tally.v1 import wire_pb2

__all__ = ["Address", "ConnectionInfo", "parse_url", "resolve", "resolve_token", "resolve_ca", "tls_context",
           "URL_VARIABLE", "TOKEN_VARIABLE", "CA_VARIABLE"]

URL_VARIABLE = "TALLY_URL"
TOKEN_VARIABLE = "TALLY_TOKEN"
CA_VARIABLE = "TALLY_CA"

UNIX, TLS, TCP = "unix", "tls", "tcp"
_SCHEMES = {"unix": UNIX, "tally+tls": TLS, "tally+tcp": TCP}
ACCEPTED = ("unix:///path/to/tally.sock, tally+tls://HOST:PORT, or tally+tcp://HOST:PORT "
            "(plaintext, for a daemon started with --insecure-no-tls on loopback)")
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "ip6-localhost", "ip6-loopback"})
_HAS_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


@dataclass(frozen=True)
class Address:
    """A daemon's address: `transport` "unix" (`path`) or "tls"/"tcp" (`host`, `port`)."""

    transport: str
    path: str = ""
    host: str = ""
    port: int = 0

    @property
    def remote(self) -> bool:
        """Whether it is reached over TCP (where a token is required)."""
        return self.transport != UNIX

    @property
    def url(self) -> str:
        """The address as a URL (a relative socket path stays a path: it has no URL form)."""
        if self.transport == UNIX:
            return "unix://" + self.path if self.path.startswith("/") else self.path
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"tally+{self.transport}://{host}:{self.port}"

    @property
    def display(self) -> str:
        """What messages name: the socket path, or the URL of a TCP address."""
        return self.path if self.transport == UNIX else self.url

    def __str__(self) -> str:
        return self.display


@dataclass(frozen=True)
class ConnectionInfo:
    """Who the daemon takes this client for, and over what (`Client.whoami()`).

    `user` and `role` ("viewer", "member" or "admin") are the daemon's answer to the handshake:
    the token's name on TCP, the login name of this process's user on the Unix socket (empty from
    a daemon that predates tokens). `transport` is "unix", "tls" or "tcp"; for TLS,
    `peer_subject` is the subject of the daemon's certificate as `tally status` shows it
    ("CN=tally.example,O=Team"), and
    `peer_certificate` the certificate as `ssl.SSLSocket.getpeercert()` returns it, and
    `tls_version` the protocol agreed ("TLSv1.3")."""

    url: str
    transport: str
    user: str
    role: str
    server_name: str
    connection_id: int
    peer_subject: str = ""
    peer_certificate: Optional[Dict[str, Any]] = None
    tls_version: str = ""


class ConnectionIdentity:
    """What a handshaken connection of either transport (threaded or asyncio) reports: the
    figures the handshake settled, and who the daemon takes the client for, over what. Its
    subclasses set `address`, `peer_certificate` and `_core`."""

    address: Address
    peer_certificate: Optional[Dict[str, Any]]
    _core: ClientConnectionState

    @property
    def reply(self) -> wire_pb2.HelloReply:
        return self._core.reply or wire_pb2.HelloReply()

    @property
    def max_frame_size(self) -> int:
        return self._core.max_frame_size

    @property
    def send_window_initial(self) -> int:
        return self._core.send_window_initial

    @property
    def recv_window(self) -> int:
        return self._core.recv_window

    @property
    def transport(self) -> str:
        """"unix", "tls" or "tcp"."""
        return self.address.transport

    @property
    def url(self) -> str:
        return self.address.url

    @property
    def user(self) -> str:
        """The user the daemon names in its HelloReply (the token's name on TCP)."""
        return self.reply.user

    @property
    def role(self) -> str:
        """"viewer", "member" or "admin", from the HelloReply."""
        return self.reply.role

    @property
    def peer_subject(self) -> str:
        """The subject of the daemon's TLS certificate ("CN=…, O=…"); empty off TLS."""
        return subject_text(self.peer_certificate)

    def _connection_info(self, tls_version: Optional[str]) -> ConnectionInfo:
        reply = self.reply
        return ConnectionInfo(url=self.address.url, transport=self.address.transport, user=reply.user,
                              role=reply.role, server_name=reply.server_name, connection_id=reply.connection_id,
                              peer_subject=self.peer_subject, peer_certificate=self.peer_certificate,
                              tls_version=tls_version or "")


_RDN_NAMES = {
    "commonName": "CN", "countryName": "C", "localityName": "L", "stateOrProvinceName": "ST",
    "organizationName": "O", "organizationalUnitName": "OU", "streetAddress": "STREET", "domainComponent": "DC",
    "emailAddress": "E",
}


def subject_text(certificate: Optional[Mapping[str, Any]]) -> str:
    """A certificate's subject as RFC 4514 writes it, the way `tally status` shows it: the last
    RDN first, "CN=tally.example.org,O=Example"; empty without a certificate."""
    if not certificate:
        return ""
    rdns = ["+".join(f"{_RDN_NAMES.get(name, name)}={value}" for name, value in rdn)
            for rdn in certificate.get("subject", ())]
    return ",".join(reversed(rdns))


def parse_url(url: str) -> Address:
    """The address a URL names; ValueError naming the accepted forms for anything else."""
    text = url.strip()
    scheme, sep, rest = text.partition("://")
    transport = _SCHEMES.get(scheme.lower()) if sep else None
    if transport is None:
        raise ValueError(f"unsupported Tally address {url!r}: use {ACCEPTED}")
    if transport == UNIX:
        if not rest.startswith("/"):
            raise ValueError(f"unsupported Tally address {url!r}: a unix URL names an absolute path, "
                             f"as in unix:///run/user/1000/tally/tally.sock")
        return Address(UNIX, path=rest)
    parts = urlsplit(text)
    problem = ""
    try:
        port = parts.port
    except ValueError:
        port = None
        problem = "the port is not a number from 1 to 65535"
    host = parts.hostname or ""
    if parts.username is not None or parts.password is not None:
        problem = "a URL carries no credentials (give the token with TALLY_TOKEN or token=)"
    elif not host:
        problem = "the host is missing"
    elif port is None or port == 0:
        problem = problem or "the port is missing"
    elif parts.path not in ("", "/") or parts.query or parts.fragment:
        problem = "a path, query or fragment is not allowed"
    if problem:
        raise ValueError(f"unsupported Tally address {url!r}: {problem}; use {ACCEPTED}")
    assert port is not None
    if transport == TCP and not is_loopback(host):
        raise ValueError(f"unsupported Tally address {url!r}: tally+tcp:// is plaintext and only reaches a daemon "
                         f"on this machine (127.0.0.1, ::1 or localhost); use tally+tls://{parts.netloc} "
                         "for another host")
    return Address(transport, host=host, port=port)


def is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve(url: Optional[str] = None, socket: Optional[str] = None,
            environ: Optional[Mapping[str, str]] = None) -> Address:
    """The address to connect to: `url`, else `socket` (a path, or a URL), else `$TALLY_URL`, else
    the socket rules (`$TALLY_SOCKET`, `$XDG_RUNTIME_DIR`, `$HOME`). ValueError for a URL of
    another form, or for both `url` and `socket`."""
    if url and socket:
        raise ValueError("give the daemon's address as url= or socket=, not both")
    if url:
        return parse_url(url)
    if socket:
        return parse_url(socket) if _HAS_SCHEME.match(socket) else Address(UNIX, path=socket)
    env = os.environ if environ is None else environ
    from_env = env.get(URL_VARIABLE, "").strip()
    if from_env:
        try:
            return parse_url(from_env)
        except ValueError as exc:
            raise ValueError(f"${URL_VARIABLE}: {exc}") from None
    return Address(UNIX, path=_wire.default_socket_path(environ))


def resolve_token(token: Optional[str] = None, environ: Optional[Mapping[str, str]] = None) -> str:
    """The access token to send: `token`, else `$TALLY_TOKEN`, else none (""); surrounding
    whitespace (a newline from a file) is dropped."""
    if token is None:
        token = (os.environ if environ is None else environ).get(TOKEN_VARIABLE, "")
    return token.strip()


def resolve_ca(ca: Optional[str] = None, environ: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """The CA file to trust instead of the system's roots: `ca`, else `$TALLY_CA`, else None."""
    if ca:
        return os.fspath(ca)
    value = (os.environ if environ is None else environ).get(CA_VARIABLE, "").strip()
    return value or None


def tls_context(ca: Optional[str] = None) -> ssl.SSLContext:
    """The client's TLS settings: the default context (certificate and host name checked, TLS 1.2
    at least) trusting the CA file `ca` if given, else the system's roots. ValueError naming the
    file when it cannot be read as PEM certificates."""
    try:
        context = ssl.create_default_context(cafile=ca) if ca else ssl.create_default_context()
    except (OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ValueError(f"cannot use the CA file {ca} (ca= or ${CA_VARIABLE}): {reason}") from None
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


# -- errors ----------------------------------------------------------------------------------------

def connect_error(address: Address, reason: str) -> RPCError:
    """UNAVAILABLE naming the address: nothing answers there."""
    if address.transport == UNIX:
        return _wire.connect_error(address.path, reason)
    return RPCError.from_status(
        _wire.UNAVAILABLE,
        f"cannot connect to the Tally daemon at {address.url}: {reason}; "
        f"is `tally serve --listen tcp://HOST:{address.port}` running there?")


def verification_error(address: Address, reason: str, ca: Optional[str]) -> RPCError:
    """UNAVAILABLE (as the other clients say it), with the condition TLS_CERTIFICATE_REFUSED: the
    daemon's certificate was refused, before anything was sent. A run does not go offline for it
    (a configuration to fix, not an outage)."""
    trust = (f"a CA of the file {ca}" if ca else
             f"a CA the system trusts (for a private CA, set ${CA_VARIABLE} or ca= to its certificate file)")
    return Condition.TLS_CERTIFICATE_REFUSED.error(path=address.url, reason=reason, host=address.host, trust=trust)


def tls_error(address: Address, reason: str) -> RPCError:
    """UNAVAILABLE: the TLS handshake failed for another reason than the certificate."""
    hint = ""
    if any(sign in reason for sign in ("WRONG_VERSION_NUMBER", "RECORD_LAYER", "PACKET_LENGTH", "closed the connection")):
        hint = " (does the daemon listen without TLS? tally+tcp:// is for a daemon started with --insecure-no-tls)"
    return RPCError.from_status(
        _wire.UNAVAILABLE, f"cannot connect to the Tally daemon at {address.url}: the TLS handshake failed: {reason}{hint}")


def tls_timeout_error(address: Address, timeout: float) -> RPCError:
    return RPCError.from_status(
        _wire.DEADLINE_EXCEEDED, f"the daemon at {address.url} did not complete the TLS handshake within {timeout}s")


def ssl_reason(exc: BaseException) -> str:
    """A TLS error's own words: `verify_message` for a refused certificate, else its reason."""
    verify = getattr(exc, "verify_message", None)
    if verify:
        return str(verify)
    reason = getattr(exc, "reason", None)
    library = getattr(exc, "library", None)
    if reason:
        return f"[{library}] {reason}" if library else str(reason)
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def ssl_failure(address: Address, exc: BaseException, ca: Optional[str]) -> RPCError:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return verification_error(address, ssl_reason(exc), ca)
    return tls_error(address, ssl_reason(exc))


def endpoint(address: Address) -> Tuple[str, int]:
    return address.host, address.port
