/* remote_lat: measuring half of the zmqrs tcp/ipc latency benchmark.
 *
 * Same command line and output as libzmq's perf/remote_lat:
 *     remote_lat <connect-to> <message-size> <roundtrip-count>
 * A REQ socket connects and bounces one message off local_lat
 * <roundtrip-count> times; the reported latency is half a roundtrip.
 */
#include <zmq.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail (const char *what)
{
    printf ("error in %s: %s\n", what, zmq_strerror (zmq_errno ()));
    return 1;
}

int main (int argc, char *argv[])
{
    if (argc != 4) {
        printf ("usage: remote_lat <connect-to> <message-size> "
                "<roundtrip-count>\n");
        return 1;
    }
    const char *endpoint = argv[1];
    const size_t size = (size_t) atoi (argv[2]);
    const int roundtrips = atoi (argv[3]);

    void *ctx = zmq_init (1);
    if (ctx == NULL)
        return fail ("zmq_init");
    void *sock = zmq_socket (ctx, ZMQ_REQ);
    if (sock == NULL)
        return fail ("zmq_socket");
    if (zmq_connect (sock, endpoint) != 0)
        return fail ("zmq_connect");

    zmq_msg_t msg;
    if (zmq_msg_init_size (&msg, size) != 0)
        return fail ("zmq_msg_init_size");
    memset (zmq_msg_data (&msg), 0, size);

    void *watch = zmq_stopwatch_start ();
    for (int n = 0; n < roundtrips; n++) {
        /* Sending empties msg; the reply is received back into it. */
        if (zmq_sendmsg (sock, &msg, 0) < 0)
            return fail ("zmq_sendmsg");
        if (zmq_recvmsg (sock, &msg, 0) < 0)
            return fail ("zmq_recvmsg");
        if (zmq_msg_size (&msg) != size) {
            printf ("message of incorrect size received\n");
            return 1;
        }
    }
    const unsigned long usec = zmq_stopwatch_stop (watch);

    if (zmq_msg_close (&msg) != 0)
        return fail ("zmq_msg_close");

    const double one_way_usec = (double) usec / (roundtrips * 2.0);

    printf ("message size: %d [B]\n", (int) size);
    printf ("roundtrip count: %d\n", roundtrips);
    printf ("average latency: %.3f [us]\n", one_way_usec);

    if (zmq_close (sock) != 0)
        return fail ("zmq_close");
    if (zmq_ctx_term (ctx) != 0)
        return fail ("zmq_ctx_term");
    return 0;
}
