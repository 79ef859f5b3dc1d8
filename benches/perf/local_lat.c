/* local_lat: echo half of the zmqrs tcp/ipc latency benchmark.
 *
 * Same command line as libzmq's perf/local_lat:
 *     local_lat <bind-to> <message-size> <roundtrip-count>
 * A REP socket is bound and sends every request straight back. It prints
 * nothing on success; remote_lat reports the latency.
 *
 * Unlike libzmq's tool this one does not sleep one second before closing:
 * the default ZMQ_LINGER (-1) already makes zmq_ctx_term deliver the last
 * reply, and a library that fails to do so shows up as a remote_lat hang.
 */
#include <zmq.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

static int fail (const char *what)
{
    printf ("error in %s: %s\n", what, zmq_strerror (zmq_errno ()));
    return 1;
}

int main (int argc, char *argv[])
{
    if (argc != 4) {
        printf ("usage: local_lat <bind-to> <message-size> "
                "<roundtrip-count>\n");
        return 1;
    }
    const char *endpoint = argv[1];
    const size_t size = (size_t) atoi (argv[2]);
    const int roundtrips = atoi (argv[3]);

    void *ctx = zmq_init (1);
    if (ctx == NULL)
        return fail ("zmq_init");
    void *sock = zmq_socket (ctx, ZMQ_REP);
    if (sock == NULL)
        return fail ("zmq_socket");
    if (zmq_bind (sock, endpoint) != 0)
        return fail ("zmq_bind");

    zmq_msg_t msg;
    if (zmq_msg_init (&msg) != 0)
        return fail ("zmq_msg_init");

    for (int n = 0; n < roundtrips; n++) {
        if (zmq_recvmsg (sock, &msg, 0) < 0)
            return fail ("zmq_recvmsg");
        if (zmq_msg_size (&msg) != size) {
            printf ("message of incorrect size received\n");
            return 1;
        }
        if (zmq_sendmsg (sock, &msg, 0) < 0)
            return fail ("zmq_sendmsg");
    }

    if (zmq_msg_close (&msg) != 0)
        return fail ("zmq_msg_close");
    if (zmq_close (sock) != 0)
        return fail ("zmq_close");
    if (zmq_ctx_term (ctx) != 0)
        return fail ("zmq_ctx_term");
    return 0;
}
