#!/usr/bin/env python3
"""A UDP forwarder that holds every query for a fixed delay before passing it
upstream, and passes answers back at once: an upstream DNS server that is
DELAY milliseconds away.

    delay_proxy.py LISTEN_PORT UPSTREAM_PORT DELAY_MS

Both on 127.0.0.1. Each client address (Unbound sends each query from its
own random port) gets its own upstream socket, so answers find their way
back without parsing DNS. UDP only: the bench zone's answers fit in 512
octets, so Unbound never falls back to TCP.
"""
import asyncio
import sys


class Upstream(asyncio.DatagramProtocol):
    def __init__(self, front, client):
        self.front = front
        self.client = client

    def datagram_received(self, data, addr):
        self.front.transport.sendto(data, self.client)


class Front(asyncio.DatagramProtocol):
    def __init__(self, upstream_port, delay):
        self.upstream = ("127.0.0.1", upstream_port)
        self.delay = delay
        self.sockets = {}

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, client):
        loop = asyncio.get_running_loop()
        loop.call_later(self.delay, lambda: loop.create_task(self.forward(data, client)))

    async def forward(self, data, client):
        loop = asyncio.get_running_loop()
        entry = self.sockets.get(client)
        if entry is None:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: Upstream(self, client), remote_addr=self.upstream
            )
            entry = self.sockets[client] = transport
            # Unbound never reuses a source port for long: forget it later.
            loop.call_later(30, self.forget, client)
        entry.sendto(data)

    def forget(self, client):
        transport = self.sockets.pop(client, None)
        if transport:
            transport.close()


async def main():
    listen, upstream, delay_ms = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    loop = asyncio.get_running_loop()
    await loop.create_datagram_endpoint(
        lambda: Front(upstream, delay_ms / 1000), local_addr=("127.0.0.1", listen)
    )
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
