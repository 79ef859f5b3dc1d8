/* Identities and envelopes (ZeroMQ Guide, chapter 3, "identity"), in C:
 * what a ROUTER socket sees of the messages its peers send, and what it
 * must send back. The same walk-through as examples/identity.rs.
 *
 * A ROUTER puts the sender's routing id in front of every message it
 * receives and takes the first frame of every message it sends as the
 * routing id of the peer to send it to. REQ adds an empty delimiter frame;
 * DEALER adds nothing. A peer without a routing id gets one made up by the
 * ROUTER: five bytes, a zero and a 32-bit counter. */
#include <zmq.h>
#include <assert.h>
#include <stdio.h>
#include <string.h>

#define MAX_PARTS 8

typedef struct {
    int count;
    size_t size[MAX_PARTS];
    char data[MAX_PARTS][256];
} parts_t;

/* Prints every frame of the next message as the Guide's s_dump does: text
 * as text, anything else in hex. Keeps the frames in *out. */
static void dump(void *socket, parts_t *out)
{
    puts("----------------------------------------");
    out->count = 0;
    int more = 1;
    while (more) {
        assert(out->count < MAX_PARTS);
        int n = zmq_recv(socket, out->data[out->count], 255, 0);
        assert(n >= 0 && n <= 255);
        size_t size = (size_t) n;
        const unsigned char *p = (const unsigned char *) out->data[out->count];
        int text = 1;
        for (size_t i = 0; i < size; i++)
            if (p[i] < 32 || p[i] > 126)
                text = 0;
        printf("[%03d] ", (int) size);
        for (size_t i = 0; i < size; i++)
            printf(text ? "%c" : "%02X", p[i]);
        printf("\n");
        out->size[out->count++] = size;
        size_t more_size = sizeof more;
        assert(zmq_getsockopt(socket, ZMQ_RCVMORE, &more, &more_size) == 0);
    }
}

static void recv_text(void *socket, const char *who)
{
    char buf[256];
    int n = zmq_recv(socket, buf, sizeof buf - 1, 0);
    assert(n >= 0);
    buf[n] = '\0';
    printf("%s got: %s\n", who, buf);
}

int main(void)
{
    void *ctx = zmq_ctx_new();
    void *sink = zmq_socket(ctx, ZMQ_ROUTER);
    assert(zmq_bind(sink, "inproc://example") == 0);
    parts_t parts;

    /* 1. A REQ with no routing id: the ROUTER makes one up. */
    void *anonymous = zmq_socket(ctx, ZMQ_REQ);
    assert(zmq_connect(anonymous, "inproc://example") == 0);
    const char *text = "ROUTER uses a generated 5 byte identity";
    assert(zmq_send(anonymous, text, strlen(text), 0) >= 0);
    dump(sink, &parts);

    /* Replying: the envelope goes back in front, the REQ strips it. */
    assert(parts.count == 3);
    assert(zmq_send(sink, parts.data[0], parts.size[0], ZMQ_SNDMORE) >= 0);
    assert(zmq_send(sink, "", 0, ZMQ_SNDMORE) == 0);
    text = "the reply reaches the anonymous REQ";
    assert(zmq_send(sink, text, strlen(text), 0) >= 0);
    recv_text(anonymous, "anonymous REQ");

    /* 2. A REQ that sets its routing id: the ROUTER uses it. */
    void *identified = zmq_socket(ctx, ZMQ_REQ);
    assert(zmq_setsockopt(identified, ZMQ_ROUTING_ID, "PEER2", 5) == 0);
    assert(zmq_connect(identified, "inproc://example") == 0);
    text = "ROUTER socket uses REQ's socket identity";
    assert(zmq_send(identified, text, strlen(text), 0) >= 0);
    dump(sink, &parts);

    /* 3. A DEALER: no empty delimiter, and it may send several frames. */
    void *dealer = zmq_socket(ctx, ZMQ_DEALER);
    assert(zmq_setsockopt(dealer, ZMQ_ROUTING_ID, "DEALER3", 7) == 0);
    assert(zmq_connect(dealer, "inproc://example") == 0);
    text = "DEALER sends no delimiter";
    assert(zmq_send(dealer, text, strlen(text), ZMQ_SNDMORE) >= 0);
    text = "and any number of frames";
    assert(zmq_send(dealer, text, strlen(text), 0) >= 0);
    dump(sink, &parts);

    /* The routing id is all a ROUTER needs to address a peer. */
    assert(zmq_send(sink, "DEALER3", 7, ZMQ_SNDMORE) == 7);
    assert(zmq_send(sink, "hello by name", 13, 0) == 13);
    recv_text(dealer, "DEALER");

    zmq_close(anonymous);
    zmq_close(identified);
    zmq_close(dealer);
    zmq_close(sink);
    assert(zmq_ctx_term(ctx) == 0);
    return 0;
}
