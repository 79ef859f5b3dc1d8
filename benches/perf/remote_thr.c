/* remote_thr: sending half of the zmqrs tcp/ipc throughput benchmark.
 *
 * Same command line as libzmq's perf/remote_thr:
 *     remote_thr <connect-to> <message-size> <message-count> [<enable_curve>]
 * A PUSH socket connects and sends <message-count> freshly allocated
 * messages; zmq_ctx_term then waits (default linger) until all are gone.
 */
#include <zmq.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* CURVE keys shared with local_thr.c (generated with zmq_curve_keypair). */
static const char srv_public[] = "4e5{Bo+B]6+[e!n9Y9TDgqp=q+-6>u!oRh0EKoN:";
static const char cli_public[] = ".jnU?f8[![M!nU-IS]Xm-QOe%E.5AcU9u(TxU{nM";
static const char cli_secret[] = "NM8[6S7PvzyZbs4ocPP}hM^N]f]&imS?s3pkxr?R";

static int fail (const char *what)
{
    printf ("error in %s: %s\n", what, zmq_strerror (zmq_errno ()));
    return 1;
}

int main (int argc, char *argv[])
{
    if (argc < 4 || argc > 5) {
        printf ("usage: remote_thr <connect-to> <message-size> "
                "<message-count> [<enable_curve>]\n");
        return 1;
    }
    const char *endpoint = argv[1];
    const size_t size = (size_t) atoi (argv[2]);
    const int count = atoi (argv[3]);
    const int use_curve = argc == 5 && atoi (argv[4]) != 0;

    void *ctx = zmq_init (1);
    if (ctx == NULL)
        return fail ("zmq_init");
    void *sock = zmq_socket (ctx, ZMQ_PUSH);
    if (sock == NULL)
        return fail ("zmq_socket");

    if (use_curve) {
        if (zmq_setsockopt (sock, ZMQ_CURVE_SECRETKEY, cli_secret,
                            strlen (cli_secret))
              != 0
            || zmq_setsockopt (sock, ZMQ_CURVE_PUBLICKEY, cli_public,
                               strlen (cli_public))
                 != 0
            || zmq_setsockopt (sock, ZMQ_CURVE_SERVERKEY, srv_public,
                               strlen (srv_public))
                 != 0)
            return fail ("zmq_setsockopt");
    }

    if (zmq_connect (sock, endpoint) != 0)
        return fail ("zmq_connect");

    for (int n = 0; n < count; n++) {
        zmq_msg_t msg;
        if (zmq_msg_init_size (&msg, size) != 0)
            return fail ("zmq_msg_init_size");
        if (zmq_sendmsg (sock, &msg, 0) < 0)
            return fail ("zmq_sendmsg");
        if (zmq_msg_close (&msg) != 0)
            return fail ("zmq_msg_close");
    }

    if (zmq_close (sock) != 0)
        return fail ("zmq_close");
    if (zmq_ctx_term (ctx) != 0)
        return fail ("zmq_ctx_term");
    return 0;
}
