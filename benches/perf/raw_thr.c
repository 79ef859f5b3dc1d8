/* raw_thr: the physical limit for local_thr/remote_thr: the same stream of
 * records over a plain blocking tcp or unix socket, no ZeroMQ.
 *
 *     raw_thr local  <bind-to>    <message-size> <message-count>
 *     raw_thr remote <connect-to> <message-size> <message-count>
 *
 * "remote" writes <message-count> records of <message-size> bytes, each
 * with a ZMTP-like frame header (raw_common.h), gathered into 8 KiB batches
 * as ZeroMQ's encoder does (a record that does not fit goes out on its own,
 * header and body in one writev). "local" reads them in 8 KiB reads and
 * parses every header; its clock starts at the first record, as local_thr's
 * does, and it prints local_thr's lines.
 */
#include "raw_common.h"

static int local_side (const char *endpoint, size_t size, int count)
{
    int fd = raw_accept (endpoint);
    struct raw_reader *r = malloc (sizeof *r);
    if (!r)
        raw_fail ("malloc");
    raw_reader_init (r, fd, size);

    if (raw_read_record (r, 0) != (long) size) {
        printf ("message of incorrect size received\n");
        return 1;
    }
    double start = raw_now_us ();
    for (int n = 1; n < count; n++) {
        if (raw_read_record (r, 0) != (long) size) {
            printf ("message of incorrect size received (%d of %d)\n", n,
                    count);
            return 1;
        }
    }
    double usec = raw_now_us () - start;
    if (usec <= 0)
        usec = 1;
    close (fd);

    const double msg_per_sec = (double) count * 1000000.0 / usec;
    const double mbit_per_sec = msg_per_sec * (double) size * 8.0 / 1000000.0;
    printf ("message size: %d [B]\n", (int) size);
    printf ("message count: %d\n", count);
    printf ("mean throughput: %d [msg/s]\n", (int) msg_per_sec);
    printf ("mean throughput: %.3f [Mb/s]\n", mbit_per_sec);
    return 0;
}

static int remote_side (const char *endpoint, size_t size, int count)
{
    int fd = raw_connect (endpoint);
    unsigned char *body = calloc (1, size > 0 ? size : 1);
    unsigned char *batch = malloc (RAW_BATCH);
    if (!body || !batch)
        raw_fail ("malloc");
    size_t used = 0;
    for (int n = 0; n < count; n++) {
        unsigned char head[9];
        size_t hlen = raw_header (head, size);
        if (used + hlen + size > RAW_BATCH && used > 0) {
            struct iovec v = {batch, used};
            raw_write_all (fd, &v, 1);
            used = 0;
        }
        if (hlen + size <= RAW_BATCH) {
            memcpy (batch + used, head, hlen);
            memcpy (batch + used + hlen, body, size);
            used += hlen + size;
        } else {
            struct iovec v[2] = {{head, hlen}, {body, size}};
            raw_write_all (fd, v, 2);
        }
    }
    if (used > 0) {
        struct iovec v = {batch, used};
        raw_write_all (fd, &v, 1);
    }
    close (fd);
    return 0;
}

int main (int argc, char *argv[])
{
    if (argc != 5
        || (strcmp (argv[1], "local") != 0 && strcmp (argv[1], "remote") != 0)) {
        printf ("usage: raw_thr local|remote <endpoint> <message-size> "
                "<message-count>\n");
        return 1;
    }
    const size_t size = (size_t) atoi (argv[3]);
    const int count = atoi (argv[4]);
    if (count < 1) {
        printf ("message count must be at least 1\n");
        return 1;
    }
    return strcmp (argv[1], "local") == 0
             ? local_side (argv[2], size, count)
             : remote_side (argv[2], size, count);
}
