/* inproc_lat: in-process REQ/REP latency benchmark for zmqrs.
 *
 * Same command line and output as libzmq's perf/inproc_lat:
 *     inproc_lat <message-size> <roundtrip-count>
 * The main thread's REQ socket bounces one message off a REP socket in a
 * worker thread; the reported latency is half a roundtrip.
 */
#define _POSIX_C_SOURCE 200809L
#include <zmq.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENDPOINT "inproc://lat_test"

static size_t msg_size;
static int roundtrips;

static void die (const char *what)
{
    printf ("error in %s: %s\n", what, zmq_strerror (zmq_errno ()));
    exit (1);
}

static void *echo (void *ctx)
{
    void *sock = zmq_socket (ctx, ZMQ_REP);
    if (sock == NULL)
        die ("zmq_socket");
    if (zmq_connect (sock, ENDPOINT) != 0)
        die ("zmq_connect");

    zmq_msg_t msg;
    if (zmq_msg_init (&msg) != 0)
        die ("zmq_msg_init");
    for (int n = 0; n < roundtrips; n++) {
        if (zmq_recvmsg (sock, &msg, 0) < 0)
            die ("zmq_recvmsg");
        if (zmq_sendmsg (sock, &msg, 0) < 0)
            die ("zmq_sendmsg");
    }
    if (zmq_msg_close (&msg) != 0)
        die ("zmq_msg_close");
    if (zmq_close (sock) != 0)
        die ("zmq_close");
    return NULL;
}

int main (int argc, char *argv[])
{
    if (argc != 3) {
        printf ("usage: inproc_lat <message-size> <roundtrip-count>\n");
        return 1;
    }
    msg_size = (size_t) atoi (argv[1]);
    roundtrips = atoi (argv[2]);

    void *ctx = zmq_init (1);
    if (ctx == NULL)
        die ("zmq_init");
    void *sock = zmq_socket (ctx, ZMQ_REQ);
    if (sock == NULL)
        die ("zmq_socket");
    if (zmq_bind (sock, ENDPOINT) != 0)
        die ("zmq_bind");

    pthread_t thread;
    int err = pthread_create (&thread, NULL, echo, ctx);
    if (err != 0) {
        printf ("error in pthread_create: %s\n", strerror (err));
        return 1;
    }

    zmq_msg_t msg;
    if (zmq_msg_init_size (&msg, msg_size) != 0)
        die ("zmq_msg_init_size");
    memset (zmq_msg_data (&msg), 0, msg_size);

    printf ("message size: %d [B]\n", (int) msg_size);
    printf ("roundtrip count: %d\n", roundtrips);

    void *watch = zmq_stopwatch_start ();
    for (int n = 0; n < roundtrips; n++) {
        if (zmq_sendmsg (sock, &msg, 0) < 0)
            die ("zmq_sendmsg");
        if (zmq_recvmsg (sock, &msg, 0) < 0)
            die ("zmq_recvmsg");
        if (zmq_msg_size (&msg) != msg_size) {
            printf ("message of incorrect size received\n");
            return 1;
        }
    }
    const unsigned long usec = zmq_stopwatch_stop (watch);

    if (zmq_msg_close (&msg) != 0)
        die ("zmq_msg_close");
    err = pthread_join (thread, NULL);
    if (err != 0) {
        printf ("error in pthread_join: %s\n", strerror (err));
        return 1;
    }

    printf ("average latency: %.3f [us]\n",
            (double) usec / (roundtrips * 2.0));

    if (zmq_close (sock) != 0)
        die ("zmq_close");
    if (zmq_ctx_term (ctx) != 0)
        die ("zmq_ctx_term");
    return 0;
}
