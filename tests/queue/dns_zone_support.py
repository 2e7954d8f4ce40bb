"""A small authoritative DNS server on loopback (dnspython over UDP, in a thread), so MX
routing is tested through real DNS queries without touching the network."""

from __future__ import annotations

import socket
import threading

import dns.message
import dns.rcode
import dns.resolver
import dns.rrset


class Zone:
    """``records``: (name, type) -> list of rdata texts, e.g. ("d.test.", "MX"): ["10 mx."].
    Names not present answer NXDOMAIN; present names with another type answer NOERROR/empty."""

    def __init__(self, records: dict[tuple[str, str], list[str]]) -> None:
        self.records = records
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._stopped = False

    def _serve(self) -> None:
        while not self._stopped:
            try:
                wire, peer = self.sock.recvfrom(4096)
            except OSError:
                return
            query = dns.message.from_wire(wire)
            response = dns.message.make_response(query)
            question = query.question[0]
            name = question.name.to_text().lower()
            rtype = dns.rdatatype.to_text(question.rdtype)
            if not any(n == name for n, _ in self.records):
                response.set_rcode(dns.rcode.NXDOMAIN)
            elif (name, rtype) in self.records:
                response.answer.append(
                    dns.rrset.from_text_list(name, 60, "IN", rtype, self.records[(name, rtype)])
                )
            self.sock.sendto(response.to_wire(), peer)

    def resolver(self) -> dns.resolver.Resolver:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = ["127.0.0.1"]
        resolver.port = self.port
        resolver.lifetime = 5
        return resolver

    def __enter__(self) -> Zone:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopped = True
        self.sock.close()
