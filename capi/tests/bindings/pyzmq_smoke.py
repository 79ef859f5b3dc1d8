"""pyzmq (Debian's python3-zmq, built against libzmq5) on the library under test.

Run by capi/tests/abi.rs with LD_LIBRARY_PATH pointing at our libzmq.so.5.
Prints one line per check; any failure raises and exits non-zero.
"""
import os
import sys
import tempfile

import zmq
from zmq.utils.monitor import recv_monitor_message

print("zmq_version", zmq.zmq_version())
ctx = zmq.Context()

# REQ/REP over tcp, with message properties.
rep = ctx.socket(zmq.REP)
port = rep.bind_to_random_port("tcp://127.0.0.1")
req = ctx.socket(zmq.REQ)
mon = req.get_monitor_socket()
req.connect("tcp://127.0.0.1:%d" % port)
req.send(b"hello")
frame = rep.recv(copy=False)
assert frame.bytes == b"hello"
assert frame.get("Socket-Type") == "REQ", frame.get("Socket-Type")
assert frame.get("Peer-Address") == "127.0.0.1"
rep.send(b"world")
assert req.recv() == b"world"
print("reqrep ok")

# Socket monitor events arrive in pyzmq's format.
events = set()
while mon.poll(1000):
    events.add(recv_monitor_message(mon)["event"])
    if zmq.EVENT_HANDSHAKE_SUCCEEDED in events:
        break
assert zmq.EVENT_CONNECTED in events and zmq.EVENT_HANDSHAKE_SUCCEEDED in events, events
req.disable_monitor()
print("monitor ok")

# PUB/SUB over inproc with a Poller.
pub = ctx.socket(zmq.PUB)
pub.bind("inproc://smoke")
sub = ctx.socket(zmq.SUB)
sub.connect("inproc://smoke")
sub.setsockopt(zmq.SUBSCRIBE, b"t")
poller = zmq.Poller()
poller.register(sub, zmq.POLLIN)
got = None
for i in range(100):
    pub.send(b"x not for us")
    pub.send(b"topic %d" % i)
    if dict(poller.poll(10)).get(sub):
        got = sub.recv()
        break
assert got is not None and got.startswith(b"topic"), got
print("pubsub ok")

# A 1 MiB zero-copy send over ipc; the tracker sees libzmq free the buffer.
d = tempfile.mkdtemp()
a = ctx.socket(zmq.PAIR)
a.bind("ipc://%s/s" % d)
b = ctx.socket(zmq.PAIR)
b.connect("ipc://%s/s" % d)
big = os.urandom(1 << 20)
tracker = a.send(big, copy=False, track=True)
assert b.recv() == big
tracker.wait(5)
assert tracker.done
print("zerocopy ok")

# CURVE between two sockets, keys from zmq_curve_keypair.
server_pub, server_sec = zmq.curve_keypair()
client_pub, client_sec = zmq.curve_keypair()
srv = ctx.socket(zmq.DEALER)
srv.curve_server = True
srv.curve_secretkey = server_sec
cport = srv.bind_to_random_port("tcp://127.0.0.1")
cli = ctx.socket(zmq.DEALER)
cli.curve_serverkey = server_pub
cli.curve_publickey = client_pub
cli.curve_secretkey = client_sec
cli.connect("tcp://127.0.0.1:%d" % cport)
cli.send(b"secret")
assert srv.poll(5000), "no CURVE message"
assert srv.recv() == b"secret"
print("curve ok", zmq.has("curve"))

# Options and errors come back as pyzmq expects.
assert a.getsockopt(zmq.TYPE) == zmq.PAIR
try:
    a.setsockopt(zmq.SNDHWM, -5)
    raise AssertionError("EINVAL expected")
except zmq.ZMQError as e:
    assert e.errno == zmq.EINVAL
try:
    b.recv(zmq.NOBLOCK)
    raise AssertionError("EAGAIN expected")
except zmq.Again:
    pass
print("errors ok")

ctx.destroy(linger=0)
print("done")
sys.exit(0)
