#!/usr/bin/env python3
"""A WebSocket client that is not ZeroMQ at all: Python's `websockets`
library speaking ZWS 2.0 (RFC 45) to a ZeroMQ ROUTER, as a browser would.

Usage: zws_client.py ws://127.0.0.1:PORT/path

It asks for the plain "ZWS2.0" subprotocol (no security mechanism: each
side's first message is its routing id), sends its routing id "browser",
then a one-part and a two-part message, and expects the ROUTER's replies.
Every ZMTP frame is one binary WebSocket frame whose first byte carries the
flags (0x01: more frames follow). Prints "ok" and exits 0 on success.
"""

import asyncio
import sys

import websockets

MORE = b"\x01"
LAST = b"\x00"


async def main(uri):
    async with websockets.connect(uri, subprotocols=["ZWS2.0"]) as ws:
        assert ws.subprotocol == "ZWS2.0", ws.subprotocol
        await ws.send(LAST + b"browser")          # our routing id
        peer_id = await ws.recv()                 # the ROUTER's (empty)
        assert isinstance(peer_id, bytes) and peer_id[:1] == LAST, peer_id
        await ws.send(LAST + b"hello")
        await ws.send(MORE + b"part1")
        await ws.send(LAST + b"part2")
        got = [await ws.recv() for _ in range(3)]
        assert got == [LAST + b"world", MORE + b"p1", LAST + b"p2"], got
    print("ok")


if __name__ == "__main__":
    asyncio.run(asyncio.wait_for(main(sys.argv[1]), 20))
