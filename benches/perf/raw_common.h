/* raw_common.h: what raw_thr.c and raw_lat.c share. Plain blocking
 * sockets, no ZeroMQ: the physical limit the perf table compares both
 * libraries with.
 *
 * Endpoints are spelled as for ZeroMQ, so the runner hands the same string
 * to every tool: "tcp://127.0.0.1:<port>" (IPv4 address and port only) and
 * "ipc://<path>" (a unix stream socket).
 *
 * Records are framed as ZMTP 3.x frames are: a flags byte, then the body
 * size in one byte (bodies below 256 bytes, ZMTP's short frame) or in eight
 * bytes, big-endian (flag 0x02, ZMTP's long frame), then the body. So the
 * raw tools do the framing work of a ZeroMQ stream without anything else.
 */
#ifndef ZMQRS_RAW_COMMON_H
#define ZMQRS_RAW_COMMON_H

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* libzmq's in_batch_size and out_batch_size. */
#define RAW_BATCH 8192
#define RAW_LONG 0x02

static int raw_fail (const char *what)
{
    printf ("error in %s: %s\n", what, strerror (errno));
    exit (1);
}

static double raw_now_us (void)
{
    struct timespec t;
    clock_gettime (CLOCK_MONOTONIC, &t);
    return (double) t.tv_sec * 1e6 + (double) t.tv_nsec / 1e3;
}

/* Parses an endpoint into a socket address; returns its length. */
static socklen_t raw_address (const char *endpoint,
                              struct sockaddr_storage *ss)
{
    memset (ss, 0, sizeof *ss);
    if (strncmp (endpoint, "tcp://", 6) == 0) {
        char host[64];
        const char *colon = strrchr (endpoint + 6, ':');
        size_t n = colon ? (size_t) (colon - (endpoint + 6)) : 0;
        if (!colon || n == 0 || n >= sizeof host) {
            printf ("bad tcp endpoint: %s\n", endpoint);
            exit (1);
        }
        memcpy (host, endpoint + 6, n);
        host[n] = '\0';
        struct sockaddr_in *sin = (struct sockaddr_in *) ss;
        sin->sin_family = AF_INET;
        sin->sin_port = htons ((uint16_t) atoi (colon + 1));
        if (inet_pton (AF_INET, host, &sin->sin_addr) != 1) {
            printf ("bad tcp address (IPv4 only): %s\n", endpoint);
            exit (1);
        }
        return sizeof *sin;
    }
    if (strncmp (endpoint, "ipc://", 6) == 0) {
        struct sockaddr_un *sun = (struct sockaddr_un *) ss;
        const char *path = endpoint + 6;
        if (strlen (path) >= sizeof sun->sun_path) {
            printf ("ipc path too long: %s\n", endpoint);
            exit (1);
        }
        sun->sun_family = AF_UNIX;
        strcpy (sun->sun_path, path);
        return sizeof *sun;
    }
    printf ("unsupported endpoint (tcp:// or ipc:// only): %s\n", endpoint);
    exit (1);
}

/* As libzmq does on every tcp connection. */
static void raw_tune (int fd, int family)
{
    if (family == AF_INET) {
        int one = 1;
        if (setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
            raw_fail ("setsockopt TCP_NODELAY");
    }
}

/* Listens on the endpoint and accepts one connection. */
static int raw_accept (const char *endpoint)
{
    struct sockaddr_storage ss;
    socklen_t len = raw_address (endpoint, &ss);
    int lfd = socket (ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0)
        raw_fail ("socket");
    if (ss.ss_family == AF_INET) {
        int one = 1;
        setsockopt (lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    } else {
        unlink (((struct sockaddr_un *) &ss)->sun_path);
    }
    if (bind (lfd, (struct sockaddr *) &ss, len) != 0)
        raw_fail ("bind");
    if (listen (lfd, 8) != 0)
        raw_fail ("listen");
    int fd = accept4 (lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        raw_fail ("accept");
    close (lfd);
    if (ss.ss_family == AF_UNIX)
        unlink (((struct sockaddr_un *) &ss)->sun_path);
    raw_tune (fd, ss.ss_family);
    return fd;
}

/* Connects, retrying for a while as ZeroMQ's background connect would. */
static int raw_connect (const char *endpoint)
{
    struct sockaddr_storage ss;
    socklen_t len = raw_address (endpoint, &ss);
    for (int attempt = 0;; attempt++) {
        int fd = socket (ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            raw_fail ("socket");
        if (connect (fd, (struct sockaddr *) &ss, len) == 0) {
            raw_tune (fd, ss.ss_family);
            return fd;
        }
        if ((errno != ECONNREFUSED && errno != ENOENT) || attempt == 500)
            raw_fail ("connect");
        close (fd);
        usleep (10000);
    }
}

static void raw_write_all (int fd, const struct iovec *iov, int n)
{
    struct iovec v[3];
    memcpy (v, iov, (size_t) n * sizeof *v);
    struct iovec *p = v;
    while (n > 0) {
        ssize_t w = writev (fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            raw_fail ("write");
        }
        while (n > 0 && (size_t) w >= p->iov_len) {
            w -= (ssize_t) p->iov_len;
            p++;
            n--;
        }
        if (n > 0) {
            p->iov_base = (char *) p->iov_base + w;
            p->iov_len -= (size_t) w;
        }
    }
}

/* Writes a record's header into out (at least 9 bytes); returns its size. */
static size_t raw_header (unsigned char *out, size_t size)
{
    if (size < 256) {
        out[0] = 0;
        out[1] = (unsigned char) size;
        return 2;
    }
    out[0] = RAW_LONG;
    for (int i = 0; i < 8; i++)
        out[1 + i] = (unsigned char) ((uint64_t) size >> (56 - 8 * i));
    return 9;
}

/* A buffered reader of records: reads in RAW_BATCH chunks, and reads a
 * body larger than what is buffered straight into `body` (as ZeroMQ's
 * decoders read a large body straight into the message). */
struct raw_reader
{
    int fd;
    unsigned char buf[RAW_BATCH];
    size_t pos, end;
    unsigned char *body; /* room for the largest body expected */
    size_t body_cap;
};

static void raw_reader_init (struct raw_reader *r, int fd, size_t max_body)
{
    r->fd = fd;
    r->pos = r->end = 0;
    r->body_cap = max_body > 0 ? max_body : 1;
    r->body = malloc (r->body_cap);
    if (!r->body)
        raw_fail ("malloc");
}

/* Makes at least `want` bytes available in buf (want <= RAW_BATCH);
 * returns 0 at the end of the stream. */
static int raw_fill (struct raw_reader *r, size_t want)
{
    if (r->end - r->pos >= want)
        return 1;
    if (r->pos > 0) {
        memmove (r->buf, r->buf + r->pos, r->end - r->pos);
        r->end -= r->pos;
        r->pos = 0;
    }
    while (r->end < want) {
        ssize_t n = read (r->fd, r->buf + r->end, RAW_BATCH - r->end);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            raw_fail ("read");
        }
        if (n == 0)
            return 0;
        r->end += (size_t) n;
    }
    return 1;
}

/* Reads one record; returns its body size, or -1 at the end of the stream.
 * With `keep`, the body is copied into r->body (the latency echo needs it);
 * otherwise a buffered body is only skipped. */
static long raw_read_record (struct raw_reader *r, int keep)
{
    if (!raw_fill (r, 2))
        return -1;
    size_t size;
    if (r->buf[r->pos] & RAW_LONG) {
        if (!raw_fill (r, 9))
            return -1;
        uint64_t s = 0;
        for (int i = 0; i < 8; i++)
            s = (s << 8) | r->buf[r->pos + 1 + i];
        size = (size_t) s;
        r->pos += 9;
    } else {
        size = r->buf[r->pos + 1];
        r->pos += 2;
    }
    if (size > r->body_cap) {
        printf ("record of %zu bytes, more than expected\n", size);
        exit (1);
    }
    size_t buffered = r->end - r->pos;
    if (buffered >= size) {
        if (keep)
            memcpy (r->body, r->buf + r->pos, size);
        r->pos += size;
        return (long) size;
    }
    /* The rest of a large body goes straight into the body buffer. */
    memcpy (r->body, r->buf + r->pos, buffered);
    r->pos = r->end = 0;
    size_t got = buffered;
    while (got < size) {
        ssize_t n = read (r->fd, r->body + got, size - got);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            raw_fail ("read");
        }
        if (n == 0)
            return -1;
        got += (size_t) n;
    }
    return (long) size;
}

#endif
