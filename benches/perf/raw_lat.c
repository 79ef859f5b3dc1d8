/* raw_lat: the physical limit for local_lat/remote_lat: one record
 * bounced back and forth over a plain blocking tcp or unix socket, no
 * ZeroMQ.
 *
 *     raw_lat local  <bind-to>    <message-size> <roundtrip-count>
 *     raw_lat remote <connect-to> <message-size> <roundtrip-count>
 *
 * "remote" writes a record of <message-size> bytes with a ZMTP-like frame
 * header (raw_common.h; header and body in one writev), "local" reads it
 * whole and writes it back the same way, <roundtrip-count> times. "remote"
 * prints remote_lat's lines; the latency is half a round trip, as libzmq's
 * remote_lat reports it.
 */
#include "raw_common.h"

static void send_record (int fd, const unsigned char *body, size_t size)
{
    unsigned char head[9];
    size_t hlen = raw_header (head, size);
    struct iovec v[2] = {{head, hlen}, {(void *) body, size}};
    raw_write_all (fd, v, size > 0 ? 2 : 1);
}

static int local_side (const char *endpoint, size_t size, int roundtrips)
{
    int fd = raw_accept (endpoint);
    struct raw_reader *r = malloc (sizeof *r);
    if (!r)
        raw_fail ("malloc");
    raw_reader_init (r, fd, size);
    for (int n = 0; n < roundtrips; n++) {
        if (raw_read_record (r, 1) != (long) size) {
            printf ("message of incorrect size received\n");
            return 1;
        }
        send_record (fd, r->body, size);
    }
    close (fd);
    return 0;
}

static int remote_side (const char *endpoint, size_t size, int roundtrips)
{
    int fd = raw_connect (endpoint);
    struct raw_reader *r = malloc (sizeof *r);
    if (!r)
        raw_fail ("malloc");
    raw_reader_init (r, fd, size);
    memset (r->body, 0, r->body_cap);

    double start = raw_now_us ();
    for (int n = 0; n < roundtrips; n++) {
        send_record (fd, r->body, size);
        if (raw_read_record (r, 1) != (long) size) {
            printf ("message of incorrect size received\n");
            return 1;
        }
    }
    double usec = raw_now_us () - start;
    close (fd);

    printf ("message size: %d [B]\n", (int) size);
    printf ("roundtrip count: %d\n", roundtrips);
    printf ("average latency: %.3f [us]\n", usec / (roundtrips * 2.0));
    return 0;
}

int main (int argc, char *argv[])
{
    if (argc != 5
        || (strcmp (argv[1], "local") != 0 && strcmp (argv[1], "remote") != 0)) {
        printf ("usage: raw_lat local|remote <endpoint> <message-size> "
                "<roundtrip-count>\n");
        return 1;
    }
    const size_t size = (size_t) atoi (argv[3]);
    const int roundtrips = atoi (argv[4]);
    if (roundtrips < 1) {
        printf ("roundtrip count must be at least 1\n");
        return 1;
    }
    return strcmp (argv[1], "local") == 0
             ? local_side (argv[2], size, roundtrips)
             : remote_side (argv[2], size, roundtrips);
}
