"""The moderators' domain for the demonstration: a DKIM key and a DNS server publishing it.

Two moderators' mail servers sign with this key, as their organisation's
would; the service finds the public key through ``inbound.dkim_resolver``,
which the demonstration points at :class:`KeyServer` on loopback. Nothing
here is used by ``serve`` itself.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass

import dkim
import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT
import dns.rrset

from mailer.outbound.dkim import make_key_pair

SELECTOR = "demo2027"
SIGNED_HEADERS = (b"from", b"to", b"subject", b"date", b"message-id")


@dataclass(frozen=True)
class DemoKey:
    """An RSA key pair: the private key in PEM, the public key as its DNS TXT value."""

    domain: str
    private_pem: bytes
    txt: bytes
    selector: str = SELECTOR

    @property
    def record_name(self) -> str:
        """The DNS name the public key is published under."""
        return f"{self.selector}._domainkey.{self.domain}"

    def sign(self, raw: bytes) -> bytes:
        """*raw* with a DKIM-Signature in front, as the domain's outgoing server adds it."""
        signature = dkim.sign(
            raw,
            self.selector.encode(),
            self.domain.encode(),
            self.private_pem,
            include_headers=list(SIGNED_HEADERS),
        )
        return bytes(signature) + raw


def make_key(domain: str) -> DemoKey:
    """A fresh 2048-bit key for *domain*."""
    pair = make_key_pair()
    return DemoKey(domain, pair.private_pem, pair.record_value.encode("ascii"))


class KeyServer:
    """A DNS server on 127.0.0.1 answering TXT queries for published keys, else NXDOMAIN."""

    def __init__(self) -> None:
        self.records: dict[str, bytes] = {}
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._serve, name="demo-dns", daemon=True
        )
        self._thread.start()

    def publish(self, key: DemoKey) -> None:
        """Answer for *key*'s record from now on."""
        self.records[key.record_name.lower()] = key.txt

    def _answer(self, data: bytes) -> bytes | None:
        try:
            query = dns.message.from_wire(data)
        except dns.exception.DNSException:
            return None
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if not query.question:
            response.set_rcode(dns.rcode.FORMERR)
            return bytes(response.to_wire())
        question = query.question[0]
        value = self.records.get(question.name.to_text().rstrip(".").lower())
        if value is not None and question.rdtype == dns.rdatatype.TXT:
            chunks = [value[i : i + 255] for i in range(0, len(value), 255)]
            rdata = dns.rdtypes.ANY.TXT.TXT(
                dns.rdataclass.IN, dns.rdatatype.TXT, chunks
            )
            response.answer.append(dns.rrset.from_rdata(question.name, 60, rdata))
        else:
            response.set_rcode(dns.rcode.NXDOMAIN)
        return bytes(response.to_wire())

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            answer = self._answer(data)
            if answer is not None:
                self.sock.sendto(answer, peer)

    def close(self) -> None:
        """Stop answering and free the port."""
        self._stop.set()
        self._thread.join(5)
        self.sock.close()
