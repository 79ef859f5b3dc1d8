/* Multicast (epgm://, pgm://) throughput and latency, for benches/perf/mcast-compare.
 * Uses only the public libzmq C API, so one binary runs against any libzmq.so.5 picked by
 * LD_LIBRARY_PATH (ours or Debian's libzmq5).
 *
 *   mcast_perf thr-sub ENDPOINT SIZE COUNT          prints "thr SIZE COUNT msg/s Mbit/s"
 *   mcast_perf thr-pub ENDPOINT SIZE COUNT RATE
 *   mcast_perf pong    EP_IN EP_OUT RATE            echoes every message
 *   mcast_perf ping    EP_OUT EP_IN SIZE ROUNDTRIPS RATE   prints "lat SIZE N mean_us p50_us p99_us"
 *
 * Throughput is timed at the subscriber from the first message to the last; the publisher waits
 * 1 s after connecting so that the subscriber has joined. Latency is half the round trip through
 * two groups (ping's PUB to pong's SUB, pong's PUB to ping's SUB); each message carries its
 * sequence number so a late echo of a warm-up message is not taken for the answer.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static void *socks[2];
static int nsocks;

static void *sock(void *ctx, int type, const char *ep, int rate)
{
    void *s = zmq_socket(ctx, type);
    socks[nsocks++] = s;
    int buf = 8 * 1024 * 1024, hwm = 0;
    zmq_setsockopt(s, ZMQ_RATE, &rate, sizeof rate);
    zmq_setsockopt(s, ZMQ_SNDBUF, &buf, sizeof buf);
    zmq_setsockopt(s, ZMQ_RCVBUF, &buf, sizeof buf);
    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm);
    if (type == ZMQ_SUB)
        zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0);
    if (zmq_connect(s, ep) != 0) {
        fprintf(stderr, "connect %s: %s\n", ep, zmq_strerror(zmq_errno()));
        exit(1);
    }
    return s;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: see the comment at the top of mcast_perf.c\n");
        return 2;
    }
    alarm(120);
    void *ctx = zmq_ctx_new();
    const char *mode = argv[1];
    if (strcmp(mode, "thr-sub") == 0 && argc >= 5) {
        size_t size = strtoul(argv[3], NULL, 10);
        long count = atol(argv[4]);
        void *s = sock(ctx, ZMQ_SUB, argv[2], 1000000);
        int tmo = 20000;
        zmq_setsockopt(s, ZMQ_RCVTIMEO, &tmo, sizeof tmo);
        zmq_msg_t m;
        zmq_msg_init(&m);
        double t0 = 0;
        long got = 0;
        while (got < count) {
            if (zmq_msg_recv(&m, s, 0) < 0)
                break;
            if (got == 0)
                t0 = now_us();
            if (zmq_msg_size(&m) != size)
                continue;
            got++;
            if (got == 1) {
                tmo = 3000;
                zmq_setsockopt(s, ZMQ_RCVTIMEO, &tmo, sizeof tmo);
            }
        }
        double dt = (now_us() - t0) / 1e6;
        if (got < count)
            printf("thr %zu %ld lost %ld\n", size, count, count - got);
        else
            printf("thr %zu %ld %.0f %.1f\n", size, count, (count - 1) / dt,
                   (count - 1) * size * 8 / dt / 1e6);
    } else if (strcmp(mode, "thr-pub") == 0 && argc >= 6) {
        size_t size = strtoul(argv[3], NULL, 10);
        long count = atol(argv[4]);
        void *s = sock(ctx, ZMQ_PUB, argv[2], atoi(argv[5]));
        sleep(1);
        char *buf = calloc(1, size);
        for (long i = 0; i < count; i++)
            zmq_send(s, buf, size, 0);
        /* Repairs need the window: stay a while. */
        sleep(3);
        int linger = 0;
        zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    } else if (strcmp(mode, "pong") == 0 && argc >= 5) {
        int rate = atoi(argv[4]);
        void *in = sock(ctx, ZMQ_SUB, argv[2], rate);
        void *out = sock(ctx, ZMQ_PUB, argv[3], rate);
        int tmo = 10000;
        zmq_setsockopt(in, ZMQ_RCVTIMEO, &tmo, sizeof tmo);
        zmq_msg_t m;
        zmq_msg_init(&m);
        while (zmq_msg_recv(&m, in, 0) >= 0)
            zmq_msg_send(&m, out, 0);
        int linger = 0;
        zmq_setsockopt(out, ZMQ_LINGER, &linger, sizeof linger);
    } else if (strcmp(mode, "ping") == 0 && argc >= 7) {
        size_t size = strtoul(argv[4], NULL, 10);
        long n = atol(argv[5]);
        int rate = atoi(argv[6]);
        if (size < 4)
            size = 4;
        void *out = sock(ctx, ZMQ_PUB, argv[2], rate);
        void *in = sock(ctx, ZMQ_SUB, argv[3], rate);
        char *buf = calloc(1, size), *rbuf = calloc(1, size);
        double *rtt = calloc(n, sizeof *rtt);
        /* Warm-up: until one echo comes back, then 100 more round trips untimed. */
        int tmo = 50;
        zmq_setsockopt(in, ZMQ_RCVTIMEO, &tmo, sizeof tmo);
        uint32_t seq = 0;
        long timed = -100;
        int waited = 0;
        while (timed < n) {
            seq++;
            memcpy(buf, &seq, 4);
            double t0 = now_us();
            zmq_send(out, buf, size, 0);
            for (;;) {
                int r = zmq_recv(in, rbuf, size, 0);
                if (r < 0) {
                    if (timed > -100 || ++waited > 400) {
                        fprintf(stderr, "no echo (seq %u)\n", seq);
                        return 1;
                    }
                    break;
                }
                uint32_t got;
                memcpy(&got, rbuf, 4);
                if (got != seq)
                    continue;
                if (timed == -100) {
                    tmo = 2000;
                    zmq_setsockopt(in, ZMQ_RCVTIMEO, &tmo, sizeof tmo);
                }
                if (timed >= 0)
                    rtt[timed] = (now_us() - t0) / 2;
                timed++;
                break;
            }
        }
        double sum = 0;
        for (long i = 0; i < n; i++)
            sum += rtt[i];
        qsort(rtt, n, sizeof *rtt, cmp);
        printf("lat %zu %ld %.1f %.1f %.1f\n", size, n, sum / n, rtt[n / 2], rtt[n * 99 / 100]);
        int linger = 0;
        zmq_setsockopt(out, ZMQ_LINGER, &linger, sizeof linger);
    } else {
        fprintf(stderr, "bad arguments\n");
        return 2;
    }
    fflush(stdout);
    int linger = 0;
    for (int i = 0; i < nsocks; i++) {
        zmq_setsockopt(socks[i], ZMQ_LINGER, &linger, sizeof linger);
        zmq_close(socks[i]);
    }
    zmq_ctx_term(ctx);
    return 0;
}
