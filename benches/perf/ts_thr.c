/* ts_thr: throughput of the thread-safe socket types (draft API): a
 * CLIENT streams messages to a SERVER shared by <threads> receiving
 * threads.
 *
 *     ts_thr local  <bind-to>    <message-size> <message-count> [<threads>]
 *     ts_thr remote <connect-to> <message-size> <message-count> [<threads>]
 *
 * "local" binds the SERVER and runs <threads> (default 4) threads blocked
 * in zmq_msg_recv on it; the clock starts at the first message and stops
 * at the last (whichever thread gets them), and local_thr's lines are
 * printed; then zmq_ctx_shutdown releases the threads still waiting.
 * "remote" connects a CLIENT and sends <message-count> messages from
 * <threads> (default 1) threads sharing it. With an inproc:// endpoint
 * "local" runs one sending thread itself.
 *
 * Needs a libzmq with the draft API (our library, or a reference libzmq
 * 4.3.5 built with drafts: tests/libzmq/build-reference).
 */
#define _GNU_SOURCE
#define ZMQ_BUILD_DRAFT_API
#include <zmq.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static size_t msg_size;
static long msg_count;
static long received;
static double started, stopped;
static pthread_mutex_t done_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cond = PTHREAD_COND_INITIALIZER;
static int done;

static void die (const char *what)
{
    printf ("error in %s: %s\n", what, zmq_strerror (zmq_errno ()));
    exit (1);
}

static double now_us (void)
{
    struct timespec t;
    clock_gettime (CLOCK_MONOTONIC, &t);
    return (double) t.tv_sec * 1e6 + (double) t.tv_nsec / 1e3;
}

static void *receive (void *server)
{
    zmq_msg_t msg;
    zmq_msg_init (&msg);
    for (;;) {
        if (zmq_msg_recv (&msg, server, 0) < 0) {
            if (zmq_errno () == ETERM)
                break; /* released by zmq_ctx_shutdown after the last */
            die ("zmq_msg_recv");
        }
        if (zmq_msg_size (&msg) != msg_size) {
            printf ("message of incorrect size received\n");
            exit (1);
        }
        long n = __atomic_add_fetch (&received, 1, __ATOMIC_SEQ_CST);
        if (n == 1)
            started = now_us ();
        if (n == msg_count) {
            stopped = now_us ();
            pthread_mutex_lock (&done_lock);
            done = 1;
            pthread_cond_signal (&done_cond);
            pthread_mutex_unlock (&done_lock);
        }
    }
    zmq_msg_close (&msg);
    return NULL;
}

struct sender
{
    void *client;
    long count;
};

static void *send_some (void *arg)
{
    struct sender *s = arg;
    zmq_msg_t msg;
    for (long n = 0; n < s->count; n++) {
        if (zmq_msg_init_size (&msg, msg_size) != 0)
            die ("zmq_msg_init_size");
        memset (zmq_msg_data (&msg), 0, msg_size);
        if (zmq_msg_send (&msg, s->client, 0) < 0)
            die ("zmq_msg_send");
    }
    return NULL;
}

/* Sends msg_count messages from `threads` threads sharing one CLIENT. */
static void client_side (void *ctx, const char *endpoint, int threads)
{
    void *client = zmq_socket (ctx, ZMQ_CLIENT);
    if (!client)
        die ("zmq_socket(ZMQ_CLIENT)");
    if (zmq_connect (client, endpoint) != 0)
        die ("zmq_connect");
    pthread_t t[64];
    struct sender s[64];
    for (int i = 0; i < threads; i++) {
        s[i].client = client;
        s[i].count = msg_count / threads + (i == 0 ? msg_count % threads : 0);
        if (pthread_create (&t[i], NULL, send_some, &s[i]) != 0) {
            printf ("pthread_create failed\n");
            exit (1);
        }
    }
    for (int i = 0; i < threads; i++)
        pthread_join (t[i], NULL);
    /* The default linger delivers what is queued before the context ends. */
    if (zmq_close (client) != 0)
        die ("zmq_close");
}

struct client_args
{
    void *ctx;
    const char *endpoint;
};

static void *client_thread (void *arg)
{
    struct client_args *a = arg;
    client_side (a->ctx, a->endpoint, 1);
    return NULL;
}

int main (int argc, char *argv[])
{
    if ((argc != 5 && argc != 6)
        || (strcmp (argv[1], "local") != 0 && strcmp (argv[1], "remote") != 0)) {
        printf ("usage: ts_thr local|remote <endpoint> <message-size> "
                "<message-count> [<threads>]\n");
        return 1;
    }
    const int local = strcmp (argv[1], "local") == 0;
    const char *endpoint = argv[2];
    msg_size = (size_t) atoi (argv[3]);
    msg_count = atol (argv[4]);
    int threads = argc == 6 ? atoi (argv[5]) : (local ? 4 : 1);
    if (msg_count < 1 || threads < 1 || threads > 64) {
        printf ("message count must be at least 1, threads 1 to 64\n");
        return 1;
    }

    void *ctx = zmq_ctx_new ();
    if (!ctx)
        die ("zmq_ctx_new");
    if (!local) {
        client_side (ctx, endpoint, threads);
        if (zmq_ctx_term (ctx) != 0)
            die ("zmq_ctx_term");
        return 0;
    }

    void *server = zmq_socket (ctx, ZMQ_SERVER);
    if (!server)
        die ("zmq_socket(ZMQ_SERVER)");
    if (zmq_bind (server, endpoint) != 0)
        die ("zmq_bind");
    pthread_t t[64];
    for (int i = 0; i < threads; i++)
        if (pthread_create (&t[i], NULL, receive, server) != 0) {
            printf ("pthread_create failed\n");
            return 1;
        }
    pthread_t client;
    struct client_args args = {ctx, endpoint};
    const int in_process = strncmp (endpoint, "inproc://", 9) == 0;
    if (in_process
        && pthread_create (&client, NULL, client_thread, &args) != 0) {
        printf ("pthread_create failed\n");
        return 1;
    }
    pthread_mutex_lock (&done_lock);
    while (!done)
        pthread_cond_wait (&done_cond, &done_lock);
    pthread_mutex_unlock (&done_lock);
    if (in_process)
        pthread_join (client, NULL);
    zmq_ctx_shutdown (ctx);
    for (int i = 0; i < threads; i++)
        pthread_join (t[i], NULL);

    double usec = stopped - started;
    if (usec <= 0)
        usec = 1;
    const double msg_per_sec = (double) msg_count * 1000000.0 / usec;
    const double mbit_per_sec =
      msg_per_sec * (double) msg_size * 8.0 / 1000000.0;
    printf ("message size: %d [B]\n", (int) msg_size);
    printf ("message count: %ld\n", msg_count);
    printf ("receiving threads: %d\n", threads);
    printf ("mean throughput: %d [msg/s]\n", (int) msg_per_sec);
    printf ("mean throughput: %.3f [Mb/s]\n", mbit_per_sec);

    if (zmq_close (server) != 0)
        die ("zmq_close");
    if (zmq_ctx_term (ctx) != 0)
        die ("zmq_ctx_term");
    return 0;
}
