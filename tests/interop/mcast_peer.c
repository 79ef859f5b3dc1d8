/* A libzmq multicast peer for tests/multicast.rs: one PUB or SUB over
 * pgm://, epgm:// or norm://, linked to the system's libzmq (Debian's
 * libzmq5, built with OpenPGM and NORM), never ours.
 *
 *   mcast_peer pub|sub ENDPOINT COUNT SEED RATE_KBPS [MAX_FRAME]
 *
 * Both sides generate the same COUNT messages from SEED (see message_part;
 * tests/multicast.rs has the same generator): 1 to 3 frames of 1 byte to
 * 64 KiB (or MAX_FRAME). Lines on stdout tell the test where we are; lines on stdin drive
 * the publisher:
 *
 *   sub: prints "ready", then "warm" at the first warm-up message, then
 *        checks that the data messages arrive whole and in order and prints
 *        "ok N" (or "fail ..."), then exits.
 *   pub: prints "ready", sends a warm-up message ("W") every 20 ms until
 *        it reads "go", then "START" and the COUNT messages, prints "sent",
 *        and keeps its socket open (repairs need it) until it reads "done".
 *
 * Every wait is bounded: an alarm ends the process after 300 s.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <poll.h>
#include <zmq.h>

static uint64_t rng_state;
static size_t max_frame = 65536;

/* The lines for the test go to the original stdout; OpenPGM logs its
 * warnings to stdout without care for lines ("Warn: ...ready"), so fd 1
 * becomes stderr before libzmq starts. */
static FILE *proto;

static uint32_t rng(void)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t) (rng_state >> 33);
}

/* Frames of message i: count, and each one's size and contents. */
static int message_parts(uint64_t i)
{
    return i % 7 == 3 ? 3 : 1;
}

static size_t part_size(uint64_t i)
{
    uint32_t bits = rng() % 17;
    size_t size = ((size_t) 1 << bits) + rng() % ((uint32_t) 1 << bits);
    if (size > 65536)
        size = 65536;
    if (i == 0)
        size = 1;
    if (i == 1)
        size = 65536;
    if (size > max_frame)
        size = max_frame;
    return size;
}

static void fill(unsigned char *buf, size_t size, uint64_t i, int part)
{
    for (size_t j = 0; j < size; j++)
        buf[j] = (unsigned char) (i * 31 + part * 7 + j * 13);
}

static int wait_line(const char *want, int timeout_ms)
{
    char line[64];
    struct pollfd p = {0, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0)
        return 0;
    if (!fgets(line, sizeof line, stdin))
        return -1;
    return strncmp(line, want, strlen(want)) == 0 ? 1 : -1;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: mcast_peer pub|sub ENDPOINT COUNT SEED RATE\n");
        return 2;
    }
    alarm(300);
    proto = fdopen(dup(1), "w");
    if (!proto || dup2(2, 1) < 0)
        return 2;
    setvbuf(proto, NULL, _IOLBF, 0);
    int pub = strcmp(argv[1], "pub") == 0;
    const char *ep = argv[2];
    uint64_t count = strtoull(argv[3], NULL, 10);
    uint64_t seed = strtoull(argv[4], NULL, 10);
    int rate = atoi(argv[5]);
    if (argc > 6)
        max_frame = strtoull(argv[6], NULL, 10);

    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, pub ? ZMQ_PUB : ZMQ_SUB);
    int buf = 4 * 1024 * 1024, hwm = 0;
    zmq_setsockopt(s, ZMQ_RATE, &rate, sizeof rate);
    zmq_setsockopt(s, ZMQ_SNDBUF, &buf, sizeof buf);
    zmq_setsockopt(s, ZMQ_RCVBUF, &buf, sizeof buf);
    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm);
    if (!pub)
        zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0);
    if (zmq_connect(s, ep) != 0) {
        fprintf(proto, "fail connect %s\n", zmq_strerror(zmq_errno()));
        return 1;
    }
    fprintf(proto, "ready\n");
    unsigned char *data = malloc(65536 + 1);
    rng_state = seed;

    if (pub) {
        for (;;) {
            zmq_send(s, "W", 1, 0);
            int r = wait_line("go", 20);
            if (r == 1)
                break;
            if (r < 0)
                return 1;
        }
        zmq_send(s, "START", 5, 0);
        for (uint64_t i = 0; i < count; i++) {
            int parts = message_parts(i);
            for (int p = 0; p < parts; p++) {
                size_t size = part_size(i);
                fill(data, size, i, p);
                if (zmq_send(s, data, size, p + 1 < parts ? ZMQ_SNDMORE : 0) < 0) {
                    fprintf(proto, "fail send %s\n", zmq_strerror(zmq_errno()));
                    return 1;
                }
            }
        }
        fprintf(proto, "sent\n");
        while (wait_line("done", 1000) == 0)
            ;
    } else {
        int warm = 0, started = 0;
        int timeout = 30000;
        zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
        unsigned char *want = malloc(65536);
        uint64_t i = 0;
        while (i < count) {
            zmq_msg_t m;
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, s, 0) < 0) {
                fprintf(proto, "fail recv %s after %llu\n", zmq_strerror(zmq_errno()),
                       (unsigned long long) i);
                return 1;
            }
            size_t len = zmq_msg_size(&m);
            if (!started) {
                if (len == 1 && !warm) {
                    warm = 1;
                    fprintf(proto, "warm\n");
                }
                if (len == 5 && memcmp(zmq_msg_data(&m), "START", 5) == 0)
                    started = 1;
                zmq_msg_close(&m);
                continue;
            }
            int parts = message_parts(i);
            for (int p = 0; p < parts; p++) {
                if (p > 0) {
                    zmq_msg_init(&m);
                    if (zmq_msg_recv(&m, s, 0) < 0) {
                        fprintf(proto, "fail recv part %d of %llu\n", p, (unsigned long long) i);
                        return 1;
                    }
                    len = zmq_msg_size(&m);
                }
                size_t size = part_size(i);
                fill(want, size, i, p);
                int more = zmq_msg_more(&m);
                if (len != size || memcmp(zmq_msg_data(&m), want, size) != 0
                    || more != (p + 1 < parts)) {
                    fprintf(proto, "fail message %llu part %d: %zu bytes (want %zu) more %d\n",
                           (unsigned long long) i, p, len, size, more);
                    return 1;
                }
                zmq_msg_close(&m);
            }
            i++;
        }
        fprintf(proto, "ok %llu\n", (unsigned long long) i);
    }
    int linger = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    zmq_close(s);
    zmq_ctx_term(ctx);
    return 0;
}
