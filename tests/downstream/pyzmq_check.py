"""REQ/REP and PUB/SUB through pyzmq, then which libzmq the process has
mapped: tests/downstream/run checks that it is the installed one. Run by
pyzmq built from its source distribution against the installed tree, and
by Debian's python3-zmq (built against libzmq5) on it."""

import time

import zmq

print("zmq_version", zmq.zmq_version())
print("has draft", zmq.has("draft"))

ctx = zmq.Context()
rep = ctx.socket(zmq.REP)
port = rep.bind_to_random_port("tcp://127.0.0.1")
req = ctx.socket(zmq.REQ)
req.connect("tcp://127.0.0.1:%d" % port)
req.send(b"ping")
rep.send(rep.recv() + b" pong")
print("reqrep", req.recv().decode())

pub = ctx.socket(zmq.PUB)
pub.bind("inproc://news")
sub = ctx.socket(zmq.SUB)
sub.connect("inproc://news")
sub.setsockopt(zmq.SUBSCRIBE, b"weather")
got = b""
# A subscription reaches the publisher asynchronously: publish until the
# subscriber hears something.
for _ in range(100):
    pub.send(b"sport ignored")
    pub.send(b"weather sunny")
    if sub.poll(50):
        got = sub.recv()
        break
    time.sleep(0.01)
print("pubsub", got.decode())
ctx.destroy(linger=0)

seen = []
with open("/proc/self/maps") as maps:
    for line in maps:
        fields = line.split()
        if len(fields) >= 6 and "libzmq" in fields[5] and fields[5] not in seen:
            seen.append(fields[5])
for path in seen:
    print("mapped", path)
