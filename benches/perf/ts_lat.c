/* ts_lat: latency of the thread-safe socket types (draft API): a CLIENT
 * bounces messages off a SERVER on which <threads> threads are blocked in
 * zmq_msg_recv at once, each answering what it receives.
 *
 *     ts_lat local  <bind-to>    <size> <roundtrip-count> [<threads> [<mode>]]
 *     ts_lat remote <connect-to> <size> <roundtrip-count> [<threads> [<mode>]]
 *
 * "local" binds the SERVER and runs <threads> (default 1) receiving
 * threads, each answering what it gets. "remote" connects the CLIENT and,
 * by <mode> (the same on both sides; only the CLIENT side uses it):
 *
 *   pingpong       (default) sends one message at a time and waits for its
 *                  answer;
 *   observed:<us>  the same, while a second thread looks at the CLIENT's
 *                  ZMQ_EVENTS every <us> microseconds, as an application's
 *                  status or poller thread would;
 *   stream:<us>    one thread sends a message every <us> microseconds
 *                  without waiting, another receives the answers (both on
 *                  the one CLIENT).
 *
 * Then it sends one "stop" message (another size) per server thread. With
 * an inproc:// endpoint "local" runs the CLIENT side too, in a thread of
 * its own.
 *
 * The CLIENT side prints remote_lat's lines (one-way latency = half a round
 * trip; in stream mode the mean of the single messages) plus the median,
 * 99th percentile and largest one-way latency of single messages. They
 * show how promptly a thread blocked on a thread-safe socket wakes up when
 * another thread processed the socket's commands and so consumed the
 * wake-up meant for it (the observer, the streaming sender): before the
 * fix such a thread slept on for up to 10 ms.
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
static int roundtrips;
static int nthreads = 1;
static long interval_us;
static long observe_us;
static volatile int observing;

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

static size_t stop_size (void)
{
    return msg_size == 0 ? 1 : 0;
}

static void *serve (void *server)
{
    zmq_msg_t msg;
    zmq_msg_init (&msg);
    for (;;) {
        if (zmq_msg_recv (&msg, server, 0) < 0)
            die ("zmq_msg_recv");
        int stop = zmq_msg_size (&msg) != msg_size;
        if (stop && zmq_msg_size (&msg) != stop_size ()) {
            printf ("message of incorrect size received\n");
            exit (1);
        }
        /* The message keeps its routing id: it goes back to its sender. */
        if (zmq_msg_send (&msg, server, 0) < 0)
            die ("zmq_msg_send");
        if (stop)
            break;
    }
    zmq_msg_close (&msg);
    return NULL;
}

static int cmp_double (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

/* The streaming mode's sender: message n leaves at start + n * interval
 * and carries n; send times go to sent[n]. */
struct streamer
{
    void *client;
    double *sent;
};

static void *stream_send (void *arg)
{
    struct streamer *st = arg;
    double next = now_us ();
    for (int n = 0; n < roundtrips; n++) {
        double wait = next - now_us ();
        if (wait > 0) {
            struct timespec ts = {(time_t) (wait / 1e6),
                                  (long) (wait * 1000.0) % 1000000000L};
            nanosleep (&ts, NULL);
        }
        zmq_msg_t msg;
        if (zmq_msg_init_size (&msg, msg_size) != 0)
            die ("zmq_msg_init_size");
        memset (zmq_msg_data (&msg), 0, msg_size);
        memcpy (zmq_msg_data (&msg), &n, sizeof n);
        st->sent[n] = now_us ();
        if (zmq_msg_send (&msg, st->client, 0) < 0)
            die ("zmq_msg_send");
        next += (double) interval_us;
    }
    return NULL;
}

/* Streams `roundtrips` messages from one thread and receives the answers
 * in this one; returns the time from the first send to the last answer. */
static double stream (void *client, double *one_way)
{
    struct streamer st = {client, calloc ((size_t) roundtrips, sizeof (double))};
    if (!st.sent) {
        printf ("out of memory\n");
        exit (1);
    }
    pthread_t sender;
    double start = now_us ();
    if (pthread_create (&sender, NULL, stream_send, &st) != 0) {
        printf ("pthread_create failed\n");
        exit (1);
    }
    zmq_msg_t msg;
    zmq_msg_init (&msg);
    for (int got = 0; got < roundtrips; got++) {
        if (zmq_msg_recv (&msg, client, 0) < 0)
            die ("zmq_msg_recv");
        int n;
        if (zmq_msg_size (&msg) != msg_size) {
            printf ("message of incorrect size received\n");
            exit (1);
        }
        memcpy (&n, zmq_msg_data (&msg), sizeof n);
        if (n < 0 || n >= roundtrips) {
            printf ("unexpected message number %d\n", n);
            exit (1);
        }
        one_way[got] = (now_us () - st.sent[n]) / 2.0;
    }
    double usec = now_us () - start;
    zmq_msg_close (&msg);
    pthread_join (sender, NULL);
    free (st.sent);
    return usec;
}

/* The observed mode's second thread: looks at ZMQ_EVENTS every
 * observe_us microseconds, as an application's status or polling thread
 * would. Each look processes the socket's commands. */
static void *observe (void *client)
{
    while (observing) {
        int events;
        size_t len = sizeof events;
        if (zmq_getsockopt (client, ZMQ_EVENTS, &events, &len) != 0)
            die ("zmq_getsockopt(ZMQ_EVENTS)");
        struct timespec ts = {0, observe_us * 1000L};
        nanosleep (&ts, NULL);
    }
    return NULL;
}

static void client_side (void *ctx, const char *endpoint)
{
    void *client = zmq_socket (ctx, ZMQ_CLIENT);
    if (!client)
        die ("zmq_socket");
    if (zmq_connect (client, endpoint) != 0)
        die ("zmq_connect");
    double *one_way = malloc (sizeof (double) * (size_t) roundtrips);
    if (!one_way) {
        printf ("out of memory\n");
        exit (1);
    }
    zmq_msg_t msg;
    if (zmq_msg_init_size (&msg, msg_size) != 0)
        die ("zmq_msg_init_size");
    memset (zmq_msg_data (&msg), 0, msg_size);

    pthread_t observer;
    if (observe_us > 0) {
        observing = 1;
        if (pthread_create (&observer, NULL, observe, client) != 0) {
            printf ("pthread_create failed\n");
            exit (1);
        }
    }
    double start = now_us (), usec;
    if (interval_us > 0) {
        /* The average of the single messages: the run's length is the
           pace, not the latency. */
        stream (client, one_way);
        usec = 0;
        for (int n = 0; n < roundtrips; n++)
            usec += 2.0 * one_way[n];
    } else {
        for (int n = 0; n < roundtrips; n++) {
            double t0 = now_us ();
            if (zmq_msg_send (&msg, client, 0) < 0)
                die ("zmq_msg_send");
            if (zmq_msg_recv (&msg, client, 0) < 0)
                die ("zmq_msg_recv");
            one_way[n] = (now_us () - t0) / 2.0;
            if (zmq_msg_size (&msg) != msg_size) {
                printf ("message of incorrect size received\n");
                exit (1);
            }
        }
        usec = now_us () - start;
    }
    if (observe_us > 0) {
        observing = 0;
        pthread_join (observer, NULL);
    }
    /* One stop per server thread, each answered, so every thread ends. */
    for (int i = 0; i < nthreads; i++) {
        zmq_msg_close (&msg);
        zmq_msg_init_size (&msg, stop_size ());
        memset (zmq_msg_data (&msg), 0, stop_size ());
        if (zmq_msg_send (&msg, client, 0) < 0)
            die ("zmq_msg_send");
        if (zmq_msg_recv (&msg, client, 0) < 0)
            die ("zmq_msg_recv");
    }
    zmq_msg_close (&msg);

    qsort (one_way, (size_t) roundtrips, sizeof (double), cmp_double);
    printf ("message size: %d [B]\n", (int) msg_size);
    printf ("roundtrip count: %d\n", roundtrips);
    printf ("server threads: %d\n", nthreads);
    if (interval_us > 0)
        printf ("mode: stream, one message every %ld [us]\n", interval_us);
    else if (observe_us > 0)
        printf ("mode: ping-pong, ZMQ_EVENTS looked at every %ld [us]\n",
                observe_us);
    else
        printf ("mode: ping-pong\n");
    printf ("average latency: %.3f [us]\n", usec / (roundtrips * 2.0));
    printf ("median latency: %.3f [us]\n", one_way[roundtrips / 2]);
    printf ("p99 latency: %.3f [us]\n",
            one_way[(size_t) ((roundtrips - 1) * 0.99)]);
    printf ("max latency: %.3f [us]\n", one_way[roundtrips - 1]);
    int slow = 0;
    for (int n = 0; n < roundtrips; n++)
        slow += one_way[n] > 1000.0;
    printf ("over 1 ms: %d of %d\n", slow, roundtrips);
    free (one_way);
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
    client_side (a->ctx, a->endpoint);
    return NULL;
}

int main (int argc, char *argv[])
{
    if ((argc < 5 || argc > 7)
        || (strcmp (argv[1], "local") != 0 && strcmp (argv[1], "remote") != 0)) {
        printf ("usage: ts_lat local|remote <endpoint> <message-size> "
                "<roundtrip-count> [<threads> [<mode>]]\n");
        return 1;
    }
    const int local = strcmp (argv[1], "local") == 0;
    const char *endpoint = argv[2];
    msg_size = (size_t) atoi (argv[3]);
    roundtrips = atoi (argv[4]);
    if (argc >= 6)
        nthreads = atoi (argv[5]);
    if (argc == 7) {
        const char *mode = argv[6];
        if (strncmp (mode, "stream:", 7) == 0)
            interval_us = atol (mode + 7);
        else if (strncmp (mode, "observed:", 9) == 0)
            observe_us = atol (mode + 9);
        if ((strcmp (mode, "pingpong") != 0 && interval_us <= 0
             && observe_us <= 0)
            || observe_us >= 1000000) {
            printf ("mode: pingpong, stream:<us> or observed:<us>\n");
            return 1;
        }
    }
    if (interval_us > 0 && msg_size < sizeof (int))
        msg_size = sizeof (int); /* room for the message number */
    if (roundtrips < 1 || nthreads < 1 || interval_us < 0) {
        printf ("roundtrip count and threads must be at least 1\n");
        return 1;
    }

    void *ctx = zmq_ctx_new ();
    if (!ctx)
        die ("zmq_ctx_new");
    if (!local) {
        client_side (ctx, endpoint);
    } else {
        void *server = zmq_socket (ctx, ZMQ_SERVER);
        if (!server)
            die ("zmq_socket(ZMQ_SERVER)");
        if (zmq_bind (server, endpoint) != 0)
            die ("zmq_bind");
        pthread_t *t = malloc (sizeof (pthread_t) * (size_t) nthreads);
        if (!t) {
            printf ("out of memory\n");
            return 1;
        }
        for (int i = 0; i < nthreads; i++)
            if (pthread_create (&t[i], NULL, serve, server) != 0) {
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
        for (int i = 0; i < nthreads; i++)
            pthread_join (t[i], NULL);
        if (in_process)
            pthread_join (client, NULL);
        free (t);
        if (zmq_close (server) != 0)
            die ("zmq_close");
    }
    if (zmq_ctx_term (ctx) != 0)
        die ("zmq_ctx_term");
    return 0;
}
