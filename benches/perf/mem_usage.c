/* mem_usage: peak memory of a zmqrs / libzmq process under two workloads.
 *
 *   mem_usage pairs <tcp|ipc|inproc> <pair-count> [<ipc-dir>]
 *       Opens <pair-count> connected PAIR socket pairs (each with its own
 *       endpoint), bounces one message over every pair so that all
 *       connections are fully up, then measures.
 *
 *   mem_usage queue <tcp|ipc|inproc> <message-count> <message-size> [<ipc-dir>]
 *       A PUSH socket with SNDHWM above <message-count> connects to a PULL
 *       socket that never reads, and queues <message-count> messages
 *       without blocking; after a short pause to let the I/O thread settle,
 *       measures.
 *
 * Output (one "key: value" per line):
 *   test, transport, count, message size, baseline rss (after zmq_ctx_new,
 *   before any socket), peak rss (VmHWM, the process's high-water mark),
 *   all in KiB. Run one measurement per process: VmHWM never goes down.
 */
#define _POSIX_C_SOURCE 200809L
#include <zmq.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static void die (const char *what)
{
    printf ("error in %s: %s\n", what, zmq_strerror (zmq_errno ()));
    exit (1);
}

/* Value in KiB of a "Name:   1234 kB" line of /proc/self/status, or -1. */
static long status_kib (const char *name)
{
    char line[256];
    const size_t len = strlen (name);
    long value = -1;
    FILE *f = fopen ("/proc/self/status", "r");
    if (f == NULL)
        return -1;
    while (fgets (line, sizeof line, f) != NULL) {
        if (strncmp (line, name, len) == 0 && line[len] == ':') {
            value = strtol (line + len + 1, NULL, 10);
            break;
        }
    }
    fclose (f);
    return value;
}

static long peak_rss_kib (void)
{
    long hwm = status_kib ("VmHWM");
    if (hwm < 0) {
        struct rusage ru;
        if (getrusage (RUSAGE_SELF, &ru) == 0)
            hwm = ru.ru_maxrss; /* KiB on Linux */
    }
    return hwm;
}

static void raise_fd_limit (void)
{
    struct rlimit lim;
    if (getrlimit (RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        setrlimit (RLIMIT_NOFILE, &lim);
    }
}

static void set_int (void *sock, int option, int value)
{
    if (zmq_setsockopt (sock, option, &value, sizeof value) != 0)
        die ("zmq_setsockopt");
}

/* Binds sock to a fresh endpoint of the transport, returns it in ep. */
static void bind_fresh (void *sock, const char *transport, const char *dir,
                        int index, char *ep, size_t ep_len)
{
    if (strcmp (transport, "tcp") == 0)
        snprintf (ep, ep_len, "tcp://127.0.0.1:*");
    else if (strcmp (transport, "ipc") == 0)
        snprintf (ep, ep_len, "ipc://%s/mem-%d.ipc", dir, index);
    else
        snprintf (ep, ep_len, "inproc://mem-%d", index);
    if (zmq_bind (sock, ep) != 0)
        die ("zmq_bind");
    size_t len = ep_len;
    if (zmq_getsockopt (sock, ZMQ_LAST_ENDPOINT, ep, &len) != 0)
        die ("zmq_getsockopt(ZMQ_LAST_ENDPOINT)");
}

static void run_pairs (void *ctx, const char *transport, int count,
                       const char *dir)
{
    void **socks = calloc ((size_t) count * 2, sizeof (void *));
    if (socks == NULL) {
        printf ("out of memory\n");
        exit (1);
    }
    char ep[256];
    for (int i = 0; i < count; i++) {
        void *server = zmq_socket (ctx, ZMQ_PAIR);
        void *client = zmq_socket (ctx, ZMQ_PAIR);
        if (server == NULL || client == NULL)
            die ("zmq_socket");
        set_int (server, ZMQ_LINGER, 0);
        set_int (client, ZMQ_LINGER, 0);
        bind_fresh (server, transport, dir, i, ep, sizeof ep);
        if (zmq_connect (client, ep) != 0)
            die ("zmq_connect");
        socks[2 * i] = server;
        socks[2 * i + 1] = client;
    }
    /* One message each way proves every connection is established. */
    for (int i = 0; i < count; i++) {
        char byte = 'x';
        if (zmq_send (socks[2 * i + 1], &byte, 1, 0) != 1)
            die ("zmq_send");
        if (zmq_recv (socks[2 * i], &byte, 1, 0) != 1)
            die ("zmq_recv");
        if (zmq_send (socks[2 * i], &byte, 1, 0) != 1)
            die ("zmq_send");
        if (zmq_recv (socks[2 * i + 1], &byte, 1, 0) != 1)
            die ("zmq_recv");
    }
    /* Let the I/O threads go idle before the reading. */
    struct timespec pause = {0, 200 * 1000 * 1000};
    nanosleep (&pause, NULL);
    long peak = peak_rss_kib ();
    printf ("peak rss: %ld [KiB]\n", peak);
    for (int i = 0; i < 2 * count; i++)
        if (zmq_close (socks[i]) != 0)
            die ("zmq_close");
    free (socks);
}

static void run_queue (void *ctx, const char *transport, int count,
                       size_t size, const char *dir)
{
    char ep[256];
    void *pull = zmq_socket (ctx, ZMQ_PULL);
    void *push = zmq_socket (ctx, ZMQ_PUSH);
    if (pull == NULL || push == NULL)
        die ("zmq_socket");
    set_int (pull, ZMQ_LINGER, 0);
    set_int (push, ZMQ_LINGER, 0);
    set_int (push, ZMQ_SNDHWM, count + 1000);
    bind_fresh (pull, transport, dir, 0, ep, sizeof ep);
    if (zmq_connect (push, ep) != 0)
        die ("zmq_connect");

    for (int i = 0; i < count; i++) {
        zmq_msg_t msg;
        if (zmq_msg_init_size (&msg, size) != 0)
            die ("zmq_msg_init_size");
        memset (zmq_msg_data (&msg), 'q', size);
        if (zmq_msg_send (&msg, push, ZMQ_DONTWAIT) < 0) {
            printf ("error in zmq_msg_send (message %d of %d): %s\n", i + 1,
                    count, zmq_strerror (zmq_errno ()));
            exit (1);
        }
    }
    struct timespec pause = {0, 300 * 1000 * 1000};
    nanosleep (&pause, NULL);
    long peak = peak_rss_kib ();
    printf ("peak rss: %ld [KiB]\n", peak);
    if (zmq_close (push) != 0 || zmq_close (pull) != 0)
        die ("zmq_close");
}

static int usage (void)
{
    printf ("usage: mem_usage pairs <tcp|ipc|inproc> <pair-count> "
            "[<ipc-dir>]\n"
            "       mem_usage queue <tcp|ipc|inproc> <message-count> "
            "<message-size> [<ipc-dir>]\n");
    return 1;
}

int main (int argc, char *argv[])
{
    if (argc < 4)
        return usage ();
    const char *test = argv[1];
    const char *transport = argv[2];
    const int count = atoi (argv[3]);
    const int is_queue = strcmp (test, "queue") == 0;
    if ((!is_queue && strcmp (test, "pairs") != 0) || count <= 0)
        return usage ();
    if (strcmp (transport, "tcp") != 0 && strcmp (transport, "ipc") != 0
        && strcmp (transport, "inproc") != 0)
        return usage ();
    size_t size = 0;
    int dir_arg = 4;
    if (is_queue) {
        if (argc < 5)
            return usage ();
        size = (size_t) atoi (argv[4]);
        dir_arg = 5;
    }
    const char *dir = argc > dir_arg ? argv[dir_arg] : "/tmp";

    raise_fd_limit ();
    void *ctx = zmq_ctx_new ();
    if (ctx == NULL)
        die ("zmq_ctx_new");
    /* Two sockets per pair plus slack; libzmq's default cap is 1023. */
    if (!is_queue && zmq_ctx_set (ctx, ZMQ_MAX_SOCKETS, 2 * count + 64) != 0)
        die ("zmq_ctx_set(ZMQ_MAX_SOCKETS)");

    printf ("test: %s\n", test);
    printf ("transport: %s\n", transport);
    printf ("count: %d\n", count);
    printf ("message size: %d [B]\n", (int) size);
    printf ("baseline rss: %ld [KiB]\n", status_kib ("VmRSS"));
    fflush (stdout);

    if (is_queue)
        run_queue (ctx, transport, count, size, dir);
    else
        run_pairs (ctx, transport, count, dir);

    if (zmq_ctx_term (ctx) != 0)
        die ("zmq_ctx_term");
    return 0;
}
