/* local_thr: receiving half of the zmqrs tcp/ipc throughput benchmark.
 *
 * Usage and output follow libzmq's perf/local_thr so that scripts written
 * for libzmq parse this tool unchanged:
 *     local_thr <bind-to> <message-size> <message-count> [<enable_curve>]
 * A PULL socket is bound; the clock starts at the first message and stops
 * after <message-count> messages. Only the public libzmq C API is used, so
 * the same binary runs against any libzmq.so.5 chosen by LD_LIBRARY_PATH.
 */
#include <zmq.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* CURVE keys shared with remote_thr.c (generated with zmq_curve_keypair). */
static const char srv_secret[] = "?)XqY%ij3V/nSaE&5=4NJ2&ph5t78(Ho2CVqv+De";

static int fail (const char *what)
{
    printf ("error in %s: %s\n", what, zmq_strerror (zmq_errno ()));
    return 1;
}

int main (int argc, char *argv[])
{
    if (argc < 4 || argc > 5) {
        printf ("usage: local_thr <bind-to> <message-size> <message-count> "
                "[<enable_curve>]\n");
        return 1;
    }
    const char *endpoint = argv[1];
    const size_t size = (size_t) atoi (argv[2]);
    const int count = atoi (argv[3]);
    const int use_curve = argc == 5 && atoi (argv[4]) != 0;

    void *ctx = zmq_init (1);
    if (ctx == NULL)
        return fail ("zmq_init");
    void *sock = zmq_socket (ctx, ZMQ_PULL);
    if (sock == NULL)
        return fail ("zmq_socket");

    if (use_curve) {
        int as_server = 1;
        if (zmq_setsockopt (sock, ZMQ_CURVE_SECRETKEY, srv_secret,
                            strlen (srv_secret))
            != 0)
            return fail ("zmq_setsockopt");
        if (zmq_setsockopt (sock, ZMQ_CURVE_SERVER, &as_server,
                            sizeof as_server)
            != 0)
            return fail ("zmq_setsockopt");
    }

    if (zmq_bind (sock, endpoint) != 0)
        return fail ("zmq_bind");

    zmq_msg_t msg;
    if (zmq_msg_init (&msg) != 0)
        return fail ("zmq_msg_init");

    /* The first message only tells us the sender is connected. */
    if (zmq_recvmsg (sock, &msg, 0) < 0)
        return fail ("zmq_recvmsg");
    if (zmq_msg_size (&msg) != size) {
        printf ("message of incorrect size received\n");
        return 1;
    }

    void *watch = zmq_stopwatch_start ();
    for (int n = 1; n < count; n++) {
        if (zmq_recvmsg (sock, &msg, 0) < 0)
            return fail ("zmq_recvmsg");
        if (zmq_msg_size (&msg) != size) {
            printf ("message of incorrect size received\n");
            return 1;
        }
    }
    unsigned long usec = zmq_stopwatch_stop (watch);
    if (usec == 0)
        usec = 1;

    if (zmq_msg_close (&msg) != 0)
        return fail ("zmq_msg_close");

    const double msg_per_sec = (double) count * 1000000.0 / (double) usec;
    const double mbit_per_sec = msg_per_sec * (double) size * 8.0 / 1000000.0;

    printf ("message size: %d [B]\n", (int) size);
    printf ("message count: %d\n", count);
    printf ("mean throughput: %d [msg/s]\n", (int) msg_per_sec);
    printf ("mean throughput: %.3f [Mb/s]\n", mbit_per_sec);

    if (zmq_close (sock) != 0)
        return fail ("zmq_close");
    if (zmq_ctx_term (ctx) != 0)
        return fail ("zmq_ctx_term");
    return 0;
}
