/* inproc_thr: in-process PUSH/PULL throughput benchmark for zmqrs.
 *
 * Same command line and output as libzmq's perf/inproc_thr:
 *     inproc_thr <message-size> <message-count>
 * A worker thread PUSHes <message-count> messages over inproc:// to a PULL
 * socket in the main thread, which times everything after the first one.
 */
#define _POSIX_C_SOURCE 200809L
#include <zmq.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENDPOINT "inproc://thr_test"

static size_t msg_size;
static int msg_count;

static void die (const char *what)
{
    printf ("error in %s: %s\n", what, zmq_strerror (zmq_errno ()));
    exit (1);
}

static void *sender (void *ctx)
{
    void *sock = zmq_socket (ctx, ZMQ_PUSH);
    if (sock == NULL)
        die ("zmq_socket");
    if (zmq_connect (sock, ENDPOINT) != 0)
        die ("zmq_connect");

    for (int n = 0; n < msg_count; n++) {
        zmq_msg_t msg;
        if (zmq_msg_init_size (&msg, msg_size) != 0)
            die ("zmq_msg_init_size");
        if (zmq_sendmsg (sock, &msg, 0) < 0)
            die ("zmq_sendmsg");
        if (zmq_msg_close (&msg) != 0)
            die ("zmq_msg_close");
    }

    if (zmq_close (sock) != 0)
        die ("zmq_close");
    return NULL;
}

int main (int argc, char *argv[])
{
    if (argc != 3) {
        printf ("usage: inproc_thr <message-size> <message-count>\n");
        return 1;
    }
    msg_size = (size_t) atoi (argv[1]);
    msg_count = atoi (argv[2]);

    void *ctx = zmq_init (1);
    if (ctx == NULL)
        die ("zmq_init");
    void *sock = zmq_socket (ctx, ZMQ_PULL);
    if (sock == NULL)
        die ("zmq_socket");
    if (zmq_bind (sock, ENDPOINT) != 0)
        die ("zmq_bind");

    pthread_t thread;
    int err = pthread_create (&thread, NULL, sender, ctx);
    if (err != 0) {
        printf ("error in pthread_create: %s\n", strerror (err));
        return 1;
    }

    zmq_msg_t msg;
    if (zmq_msg_init (&msg) != 0)
        die ("zmq_msg_init");

    printf ("message size: %d [B]\n", (int) msg_size);
    printf ("message count: %d\n", msg_count);

    if (zmq_recvmsg (sock, &msg, 0) < 0)
        die ("zmq_recvmsg");
    if (zmq_msg_size (&msg) != msg_size) {
        printf ("message of incorrect size received\n");
        return 1;
    }

    void *watch = zmq_stopwatch_start ();
    for (int n = 1; n < msg_count; n++) {
        if (zmq_recvmsg (sock, &msg, 0) < 0)
            die ("zmq_recvmsg");
        if (zmq_msg_size (&msg) != msg_size) {
            printf ("message of incorrect size received\n");
            return 1;
        }
    }
    unsigned long usec = zmq_stopwatch_stop (watch);
    if (usec == 0)
        usec = 1;

    if (zmq_msg_close (&msg) != 0)
        die ("zmq_msg_close");

    err = pthread_join (thread, NULL);
    if (err != 0) {
        printf ("error in pthread_join: %s\n", strerror (err));
        return 1;
    }
    if (zmq_close (sock) != 0)
        die ("zmq_close");
    if (zmq_ctx_term (ctx) != 0)
        die ("zmq_ctx_term");

    /* libzmq's tool truncates msg/s to an integer before deriving Mb/s. */
    const unsigned long msg_per_sec =
      (unsigned long) ((double) msg_count * 1000000.0 / (double) usec);
    const double mbit_per_sec =
      (double) (msg_per_sec * msg_size * 8) / 1000000.0;

    printf ("mean throughput: %d [msg/s]\n", (int) msg_per_sec);
    printf ("mean throughput: %.3f [Mb/s]\n", mbit_per_sec);
    return 0;
}
