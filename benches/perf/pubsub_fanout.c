/* pubsub_fanout: one PUB to N SUB sockets with S subscriptions each, for
 * zmqrs. Measures how fast messages reach every subscriber, and how the
 * cost of matching grows with the number of subscriptions that do not
 * match.
 *
 *     pubsub_fanout <bind-to> <subscribers> <subscriptions> <message-size>
 *                   <message-count> [<io-threads>]
 *
 * e.g. pubsub_fanout tcp://127.0.0.1:* 10 10000 32 100000
 *
 * One process, one context (<io-threads>, default 1). The PUB binds to
 * <bind-to> (a tcp port of * is resolved through ZMQ_LAST_ENDPOINT) and is
 * driven by a publisher thread; the main thread owns the N SUB sockets. Each
 * SUB subscribes to the S distinct topics "topic-00000" ... (11 bytes each,
 * none a prefix of another), all but one before connecting and the one the
 * publisher uses after, so that it is the last subscription to reach the PUB.
 * Every HWM is 0 (unlimited): PUB never drops, so every SUB must get every
 * message.
 *
 * Sync: the publisher sends a sync message ('S' after the topic) every
 * millisecond until the main thread has seen one on every SUB; by then the
 * PUB has processed every subscription. The main thread then starts the clock
 * and tells the publisher (inproc PAIR) to send <message-count> data messages
 * ('D' after the topic, padded to <message-size> bytes) on the matching topic.
 * The clock stops when every SUB has received all of them.
 *
 * Prints (the last line as local_thr does, for the comparison runner):
 *     setup time: subscribing, connecting and syncing, in ms
 *     publish time / publish rate: the publisher's zmq_send loop alone
 *     mean throughput: deliveries (subscribers x messages) per second
 * Exits 1 on an API error and 2 if messages stop arriving for 10 s (lost).
 * Uses only <zmq.h>.
 */
#include <zmq.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOPIC_LEN 11 /* "topic-%05d" */
#define MAX_TOPICS 100000
#define CTL_ENDPOINT "inproc://pubsub_fanout_ctl"
#define SYNC_LIMIT_MS 60000
#define IDLE_LIMIT_MS 10000
#define DRAIN_BATCH 1000

struct publisher_args
{
    void *pub;
    void *ctl;
    const char *match;
    size_t size;
    unsigned long count;
    unsigned long publish_us; /* out */
};

static void die (const char *what)
{
    printf ("error in %s: %s\n", what, zmq_strerror (zmq_errno ()));
    fflush (stdout);
    exit (1);
}

static void check (int rc, const char *what)
{
    if (rc == -1)
        die (what);
}

static void set_int (void *sock, int option, int value, const char *what)
{
    check (zmq_setsockopt (sock, option, &value, sizeof value), what);
}

static void *make_socket (void *ctx, int type)
{
    void *sock = zmq_socket (ctx, type);
    if (sock == NULL)
        die ("zmq_socket");
    set_int (sock, ZMQ_LINGER, 0, "zmq_setsockopt(ZMQ_LINGER)");
    return sock;
}

static void topic_name (char *out, int i)
{
    char tmp[32];
    snprintf (tmp, sizeof tmp, "topic-%05d", i);
    memcpy (out, tmp, TOPIC_LEN);
}

static void fill (char *buf, size_t size, const char *topic, char marker)
{
    memset (buf, 'x', size);
    memcpy (buf, topic, TOPIC_LEN);
    buf[TOPIC_LEN] = marker;
}

static void publisher (void *arg)
{
    struct publisher_args *a = (struct publisher_args *) arg;
    char *sync = (char *) malloc (a->size);
    char *data = (char *) malloc (a->size);
    if (sync == NULL || data == NULL) {
        printf ("error: out of memory\n");
        exit (1);
    }
    fill (sync, a->size, a->match, 'S');
    fill (data, a->size, a->match, 'D');

    /* Sync: publish until the main thread says every SUB has seen one. */
    for (;;) {
        check (zmq_send (a->pub, sync, a->size, 0), "zmq_send(sync)");
        zmq_pollitem_t item = {a->ctl, 0, ZMQ_POLLIN, 0};
        int rc = zmq_poll (&item, 1, 1);
        check (rc, "zmq_poll(ctl)");
        if (rc > 0) {
            char go[8];
            check (zmq_recv (a->ctl, go, sizeof go, 0), "zmq_recv(ctl)");
            break;
        }
    }

    void *watch = zmq_stopwatch_start ();
    for (unsigned long i = 0; i < a->count; i++)
        check (zmq_send (a->pub, data, a->size, 0), "zmq_send(data)");
    a->publish_us = zmq_stopwatch_stop (watch);
    free (sync);
    free (data);
}

int main (int argc, char *argv[])
{
    if (argc != 6 && argc != 7) {
        printf ("usage: pubsub_fanout <bind-to> <subscribers> <subscriptions> "
                "<message-size> <message-count> [<io-threads>]\n");
        return 1;
    }
    const char *bind_to = argv[1];
    int nsubs = atoi (argv[2]);
    int ntopics = atoi (argv[3]);
    size_t size = (size_t) atol (argv[4]);
    unsigned long count = strtoul (argv[5], NULL, 10);
    int io_threads = argc == 7 ? atoi (argv[6]) : 1;
    if (nsubs < 1 || ntopics < 1 || ntopics > MAX_TOPICS || count < 1
        || size < TOPIC_LEN + 1 || io_threads < 1) {
        printf ("error: need subscribers >= 1, 1 <= subscriptions <= %d, "
                "message-size >= %d, message-count >= 1, io-threads >= 1\n",
                MAX_TOPICS, TOPIC_LEN + 1);
        return 1;
    }
    printf ("subscribers: %d\n", nsubs);
    printf ("subscriptions: %d\n", ntopics);
    printf ("message size: %d [B]\n", (int) size);
    printf ("message count: %lu\n", count);
    fflush (stdout);

    void *ctx = zmq_ctx_new ();
    if (ctx == NULL)
        die ("zmq_ctx_new");
    check (zmq_ctx_set (ctx, ZMQ_IO_THREADS, io_threads), "zmq_ctx_set");

    void *pub = make_socket (ctx, ZMQ_PUB);
    set_int (pub, ZMQ_SNDHWM, 0, "zmq_setsockopt(ZMQ_SNDHWM)");
    set_int (pub, ZMQ_RCVHWM, 0, "zmq_setsockopt(ZMQ_RCVHWM)");
    check (zmq_bind (pub, bind_to), "zmq_bind");
    char endpoint[256];
    size_t endpoint_len = sizeof endpoint;
    check (zmq_getsockopt (pub, ZMQ_LAST_ENDPOINT, endpoint, &endpoint_len),
           "zmq_getsockopt(ZMQ_LAST_ENDPOINT)");

    void *ctl_main = make_socket (ctx, ZMQ_PAIR);
    check (zmq_bind (ctl_main, CTL_ENDPOINT), "zmq_bind(ctl)");
    void *ctl_pub = make_socket (ctx, ZMQ_PAIR);
    check (zmq_connect (ctl_pub, CTL_ENDPOINT), "zmq_connect(ctl)");

    const int match = ntopics / 2;
    char match_topic[TOPIC_LEN + 1];
    topic_name (match_topic, match);
    match_topic[TOPIC_LEN] = '\0';

    void **subs = (void **) calloc ((size_t) nsubs, sizeof (void *));
    unsigned long *got = (unsigned long *) calloc ((size_t) nsubs,
                                                   sizeof (unsigned long));
    zmq_pollitem_t *items =
      (zmq_pollitem_t *) calloc ((size_t) nsubs, sizeof (zmq_pollitem_t));
    int *synced = (int *) calloc ((size_t) nsubs, sizeof (int));
    if (subs == NULL || got == NULL || items == NULL || synced == NULL) {
        printf ("error: out of memory\n");
        return 1;
    }

    void *setup_watch = zmq_stopwatch_start ();
    for (int i = 0; i < nsubs; i++) {
        void *sub = make_socket (ctx, ZMQ_SUB);
        /* Unlimited: libzmq drops subscriptions beyond SNDHWM. */
        set_int (sub, ZMQ_SNDHWM, 0, "zmq_setsockopt(ZMQ_SNDHWM)");
        set_int (sub, ZMQ_RCVHWM, 0, "zmq_setsockopt(ZMQ_RCVHWM)");
        char topic[TOPIC_LEN];
        for (int t = 0; t < ntopics; t++) {
            if (t == match)
                continue;
            topic_name (topic, t);
            check (zmq_setsockopt (sub, ZMQ_SUBSCRIBE, topic, TOPIC_LEN),
                   "zmq_setsockopt(ZMQ_SUBSCRIBE)");
        }
        check (zmq_connect (sub, endpoint), "zmq_connect");
        check (zmq_setsockopt (sub, ZMQ_SUBSCRIBE, match_topic, TOPIC_LEN),
               "zmq_setsockopt(ZMQ_SUBSCRIBE)");
        subs[i] = sub;
    }

    struct publisher_args pa = {pub, ctl_pub, match_topic, size, count, 0};
    void *pub_thread = zmq_threadstart (publisher, &pa);

    zmq_msg_t msg;
    check (zmq_msg_init (&msg), "zmq_msg_init");

    /* Sync phase: wait until every SUB has received something (a sync
       message: nothing else is published yet). */
    int nsynced = 0;
    while (nsynced < nsubs) {
        int progress = 0;
        int nitems = 0;
        for (int i = 0; i < nsubs; i++) {
            if (synced[i])
                continue;
            if (zmq_msg_recv (&msg, subs[i], ZMQ_DONTWAIT) >= 0) {
                synced[i] = 1;
                nsynced++;
                progress = 1;
            } else if (zmq_errno () != EAGAIN) {
                die ("zmq_msg_recv(sync)");
            } else {
                zmq_pollitem_t item = {subs[i], 0, ZMQ_POLLIN, 0};
                items[nitems++] = item;
            }
        }
        if (!progress && nitems > 0) {
            check (zmq_poll (items, nitems, 10), "zmq_poll(sync)");
            if (zmq_stopwatch_intermediate (setup_watch)
                > SYNC_LIMIT_MS * 1000UL) {
                printf ("error: only %d of %d subscribers synced after %d ms\n",
                        nsynced, nsubs, SYNC_LIMIT_MS);
                fflush (stdout);
                exit (2);
            }
        }
    }
    unsigned long setup_us = zmq_stopwatch_stop (setup_watch);

    /* Data phase. */
    void *watch = zmq_stopwatch_start ();
    check (zmq_send (ctl_main, "go", 2, 0), "zmq_send(ctl)");
    int done = 0;
    unsigned long idle_ms = 0;
    while (done < nsubs) {
        int progress = 0;
        int nitems = 0;
        for (int i = 0; i < nsubs; i++) {
            if (got[i] == count)
                continue;
            int n;
            for (n = 0; n < DRAIN_BATCH && got[i] < count; n++) {
                if (zmq_msg_recv (&msg, subs[i], ZMQ_DONTWAIT) < 0) {
                    if (zmq_errno () != EAGAIN)
                        die ("zmq_msg_recv");
                    break;
                }
                const char *body = (const char *) zmq_msg_data (&msg);
                if (zmq_msg_size (&msg) != size
                    || memcmp (body, match_topic, TOPIC_LEN) != 0) {
                    printf ("error: subscriber %d got a wrong message (%d B)\n",
                            i, (int) zmq_msg_size (&msg));
                    exit (1);
                }
                if (body[TOPIC_LEN] == 'D' && ++got[i] == count)
                    done++;
            }
            if (n > 0)
                progress = 1;
            if (got[i] < count) {
                zmq_pollitem_t item = {subs[i], 0, ZMQ_POLLIN, 0};
                items[nitems++] = item;
            }
        }
        if (progress || nitems == 0) {
            idle_ms = 0;
            continue;
        }
        int rc = zmq_poll (items, nitems, 1000);
        check (rc, "zmq_poll");
        if (rc > 0) {
            idle_ms = 0;
        } else if ((idle_ms += 1000) >= IDLE_LIMIT_MS) {
            unsigned long total = 0;
            for (int i = 0; i < nsubs; i++)
                total += got[i];
            printf ("error: lost messages: %lu of %lu delivered, %d of %d "
                    "subscribers complete, nothing for %d ms\n",
                    total, count * (unsigned long) nsubs, done, nsubs,
                    IDLE_LIMIT_MS);
            fflush (stdout);
            exit (2);
        }
    }
    unsigned long usec = zmq_stopwatch_stop (watch);
    zmq_threadclose (pub_thread);
    if (usec == 0)
        usec = 1;
    unsigned long publish_us = pa.publish_us ? pa.publish_us : 1;

    const double deliveries = (double) count * (double) nsubs;
    printf ("setup time: %.3f [ms]\n", (double) setup_us / 1000.0);
    printf ("publish time: %.3f [ms]\n", (double) publish_us / 1000.0);
    printf ("publish rate: %lu [msg/s]\n",
            (unsigned long) ((double) count * 1000000.0 / (double) publish_us));
    printf ("deliveries: %.0f\n", deliveries);
    printf ("elapsed: %.3f [ms]\n", (double) usec / 1000.0);
    printf ("mean throughput: %lu [msg/s]\n",
            (unsigned long) (deliveries * 1000000.0 / (double) usec));
    fflush (stdout);

    check (zmq_msg_close (&msg), "zmq_msg_close");
    for (int i = 0; i < nsubs; i++)
        check (zmq_close (subs[i]), "zmq_close(sub)");
    check (zmq_close (pub), "zmq_close(pub)");
    check (zmq_close (ctl_main), "zmq_close(ctl)");
    check (zmq_close (ctl_pub), "zmq_close(ctl)");
    check (zmq_ctx_term (ctx), "zmq_ctx_term");
    free (subs);
    free (got);
    free (items);
    free (synced);
    return 0;
}
