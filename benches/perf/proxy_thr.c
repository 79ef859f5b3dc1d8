/* proxy_thr: PUB/SUB throughput through zmq_proxy_steerable, for zmqrs.
 *
 * Same command line and output as libzmq's perf/proxy_thr:
 *     proxy_thr <message-size> <message-count>
 *
 * Layout (all inproc, context with 4 I/O threads, every HWM 10000):
 *
 *     publisher 0 (XPUB, NODROP) --\
 *                                   > XSUB ==proxy== XPUB (NODROP) --> SUB
 *     publisher 1 (XPUB, NODROP) --/        REP control socket
 *
 * Each publisher waits for the subscription to reach it, then sends
 * <message-count> copies of one message (retrying on EAGAIN, SNDTIMEO 1 ms).
 * The clock runs from before the publishers start until the subscriber
 * has received <message-count> messages. The proxy is then stopped with a
 * TERMINATE command on its control socket.
 */
#include <zmq.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUEUE_HWM 10000
#define EP_PUB0 "inproc://perf_pub1"
#define EP_PUB1 "inproc://perf_pub2"
#define EP_BACKEND "inproc://perf_backend"
#define EP_CONTROL "inproc://ctrl"

static size_t msg_size;
static uint64_t msg_count;

struct role
{
    void *ctx;
    const char *endpoint; /* publisher: which frontend endpoint to use */
};

static void check (int rc, const char *what)
{
    if (rc == -1) {
        printf ("error in %s: %s\n", what, zmq_strerror (zmq_errno ()));
        exit (1);
    }
}

static void *make_socket (void *ctx, int type)
{
    void *sock = zmq_socket (ctx, type);
    if (sock == NULL)
        check (-1, "zmq_socket");
    return sock;
}

static void set_int (void *sock, int option, int value, const char *what)
{
    check (zmq_setsockopt (sock, option, &value, sizeof value), what);
}

static void set_queue_limits (void *sock)
{
    set_int (sock, ZMQ_SNDHWM, QUEUE_HWM, "zmq_setsockopt(ZMQ_SNDHWM)");
    set_int (sock, ZMQ_RCVHWM, QUEUE_HWM, "zmq_setsockopt(ZMQ_RCVHWM)");
}

static void publisher (void *arg)
{
    const struct role *me = (const struct role *) arg;
    void *pub = make_socket (me->ctx, ZMQ_XPUB);
    set_queue_limits (pub);
    set_int (pub, ZMQ_XPUB_NODROP, 1, "zmq_setsockopt(ZMQ_XPUB_NODROP)");
    set_int (pub, ZMQ_SNDTIMEO, 1, "zmq_setsockopt(ZMQ_SNDTIMEO)");
    check (zmq_connect (pub, me->endpoint), "zmq_connect");

    /* Block until the subscriber's "subscribe to everything" arrives. */
    unsigned char sub[32];
    int got = zmq_recv (pub, sub, sizeof sub, 0);
    check (got, "zmq_recv");
    if (got != 1 || sub[0] != 1) {
        printf ("unexpected subscription message (%d bytes)\n", got);
        exit (1);
    }

    zmq_msg_t proto;
    check (zmq_msg_init_size (&proto, msg_size), "zmq_msg_init_size");
    memset (zmq_msg_data (&proto), 'A', msg_size);

    uint64_t sent = 0;
    while (sent < msg_count) {
        zmq_msg_t msg;
        check (zmq_msg_init (&msg), "zmq_msg_init");
        check (zmq_msg_copy (&msg, &proto), "zmq_msg_copy");
        if (zmq_msg_send (&msg, pub, 0) != -1)
            sent++;
        else
            check (zmq_msg_close (&msg), "zmq_msg_close");
    }
    check (zmq_msg_close (&proto), "zmq_msg_close");
    check (zmq_close (pub), "zmq_close");
}

static void subscriber (void *arg)
{
    const struct role *me = (const struct role *) arg;
    void *sub = make_socket (me->ctx, ZMQ_SUB);
    set_queue_limits (sub);
    check (zmq_setsockopt (sub, ZMQ_SUBSCRIBE, NULL, 0),
           "zmq_setsockopt(ZMQ_SUBSCRIBE)");
    check (zmq_connect (sub, EP_BACKEND), "zmq_connect");

    uint64_t received = 0;
    while (received < msg_count) {
        zmq_msg_t msg;
        check (zmq_msg_init (&msg), "zmq_msg_init");
        if (zmq_msg_recv (&msg, sub, 0) != -1)
            received++;
        check (zmq_msg_close (&msg), "zmq_msg_close");
    }
    check (zmq_close (sub), "zmq_close");
}

static void proxy (void *arg)
{
    const struct role *me = (const struct role *) arg;

    void *frontend = make_socket (me->ctx, ZMQ_XSUB);
    set_queue_limits (frontend);
    check (zmq_bind (frontend, EP_PUB0), "zmq_bind");
    check (zmq_bind (frontend, EP_PUB1), "zmq_bind");

    void *backend = make_socket (me->ctx, ZMQ_XPUB);
    set_int (backend, ZMQ_XPUB_NODROP, 1, "zmq_setsockopt(ZMQ_XPUB_NODROP)");
    set_queue_limits (backend);
    check (zmq_bind (backend, EP_BACKEND), "zmq_bind");

    void *control = make_socket (me->ctx, ZMQ_REP);
    check (zmq_bind (control, EP_CONTROL), "zmq_bind");

    zmq_proxy_steerable (frontend, backend, NULL, control);

    check (zmq_close (frontend), "zmq_close");
    check (zmq_close (backend), "zmq_close");
    check (zmq_close (control), "zmq_close");
}

static void stop_proxy (void *ctx)
{
    void *req = make_socket (ctx, ZMQ_REQ);
    check (zmq_connect (req, EP_CONTROL), "zmq_connect");
    check (zmq_send (req, "TERMINATE", 9, 0), "zmq_send");
    check (zmq_close (req), "zmq_close");
}

int main (int argc, char *argv[])
{
    if (argc != 3) {
        printf ("usage: proxy_thr <message-size> <message-count>\n");
        return 1;
    }
    msg_size = (size_t) atoi (argv[1]);
    msg_count = (uint64_t) atoi (argv[2]);
    printf ("message size: %d [B]\n", (int) msg_size);
    printf ("message count: %d\n", (int) msg_count);

    void *ctx = zmq_ctx_new ();
    if (ctx == NULL)
        check (-1, "zmq_ctx_new");
    check (zmq_ctx_set (ctx, ZMQ_IO_THREADS, 4), "zmq_ctx_set");

    struct role proxy_role = {ctx, NULL};
    struct role sub_role = {ctx, EP_BACKEND};
    struct role pub0_role = {ctx, EP_PUB0};
    struct role pub1_role = {ctx, EP_PUB1};

    void *proxy_thread = zmq_threadstart (proxy, &proxy_role);
    void *sub_thread = zmq_threadstart (subscriber, &sub_role);

    void *watch = zmq_stopwatch_start ();
    void *pub0_thread = zmq_threadstart (publisher, &pub0_role);
    void *pub1_thread = zmq_threadstart (publisher, &pub1_role);

    zmq_threadclose (sub_thread);
    unsigned long usec = zmq_stopwatch_stop (watch);
    if (usec == 0)
        usec = 1;

    /* Same arithmetic as libzmq's tool (integer msg/s first). */
    const unsigned long msg_per_sec =
      (unsigned long) ((double) msg_count * 1000000.0 / (double) usec);
    const double mbit_per_sec =
      (double) (msg_per_sec * msg_size * 8) / 1000000.0;
    printf ("mean throughput: %d [msg/s]\n", (int) msg_per_sec);
    printf ("mean throughput: %.3f [Mb/s]\n", mbit_per_sec);

    zmq_threadclose (pub0_thread);
    zmq_threadclose (pub1_thread);
    stop_proxy (ctx);
    zmq_threadclose (proxy_thread);

    check (zmq_ctx_term (ctx), "zmq_ctx_term");
    return 0;
}
