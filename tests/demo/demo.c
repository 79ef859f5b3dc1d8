/* A small tour of the C ABI: REQ/REP and PUSH/PULL over inproc, tcp and
   ipc, through zmq.h exactly as a libzmq program uses it. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#define CHECK(x)                                                               \
    do {                                                                       \
        if ((x) < 0) {                                                         \
            fprintf (stderr, "%s failed: %s\n", #x, zmq_strerror (zmq_errno ())); \
            return 1;                                                          \
        }                                                                      \
    } while (0)

static int round_trip (void *ctx, const char *endpoint)
{
    char bound[256], buf[64];
    size_t len = sizeof bound;
    void *rep = zmq_socket (ctx, ZMQ_REP);
    void *req = zmq_socket (ctx, ZMQ_REQ);
    CHECK (zmq_bind (rep, endpoint));
    CHECK (zmq_getsockopt (rep, ZMQ_LAST_ENDPOINT, bound, &len));
    CHECK (zmq_connect (req, bound));
    CHECK (zmq_send (req, "ping", 4, 0));
    int n = zmq_recv (rep, buf, sizeof buf, 0);
    CHECK (n);
    CHECK (zmq_send (rep, "pong", 4, 0));
    int m = zmq_recv (req, buf + 8, sizeof buf - 8, 0);
    CHECK (m);
    printf ("C     REQ/REP   over %-28s %.*s -> %.*s\n", bound, n, buf, m, buf + 8);
    zmq_close (req);
    zmq_close (rep);

    void *pull = zmq_socket (ctx, ZMQ_PULL);
    void *push = zmq_socket (ctx, ZMQ_PUSH);
    const char *ep2 = strncmp (endpoint, "inproc", 6) == 0 ? "inproc://c-pipe" : endpoint;
    len = sizeof bound;
    CHECK (zmq_bind (pull, ep2));
    CHECK (zmq_getsockopt (pull, ZMQ_LAST_ENDPOINT, bound, &len));
    CHECK (zmq_connect (push, bound));
    printf ("C     PUSH/PULL over %-28s", bound);
    for (int i = 0; i < 3; i++) {
        char task[16];
        int tl = snprintf (task, sizeof task, "task %d", i);
        CHECK (zmq_send (push, task, tl, 0));
    }
    for (int i = 0; i < 3; i++) {
        zmq_msg_t msg;
        zmq_msg_init (&msg);
        CHECK (zmq_msg_recv (&msg, pull, 0));
        printf (" %.*s%s", (int) zmq_msg_size (&msg), (char *) zmq_msg_data (&msg), i < 2 ? "," : "\n");
        zmq_msg_close (&msg);
    }
    zmq_close (push);
    zmq_close (pull);
    return 0;
}

int main (void)
{
    int major, minor, patch;
    zmq_version (&major, &minor, &patch);
    printf ("C     linked against libzmq %d.%d.%d (zmqrs)\n", major, minor, patch);
    void *ctx = zmq_ctx_new ();
    char ipc[64];
    snprintf (ipc, sizeof ipc, "ipc:///tmp/zmqrs-cdemo-%d", (int) getpid ());
    if (round_trip (ctx, "inproc://c-demo") || round_trip (ctx, "tcp://127.0.0.1:*")
        || round_trip (ctx, ipc))
        return 1;
    return zmq_ctx_term (ctx);
}
