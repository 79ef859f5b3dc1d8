/* A libzmq peer driven line by line over stdin/stdout, for the interop tests
 * (tests/interop.rs). It is compiled against and linked to the system's real
 * libzmq (Debian's libzmq5), never ours, so every conversation crosses the
 * wire between the two implementations.
 *
 * Commands (one per line; frames are hex, "-" for an empty frame):
 *   socket TYPE             create the socket (TYPE: PAIR, PUB, SUB, ...)
 *   set OPT VALUE           zmq_setsockopt with an int VALUE
 *   sets OPT HEX            zmq_setsockopt with a binary value
 *   bind EP / connect EP    replies "ok LAST_ENDPOINT" / "ok"
 *   send FRAME...           sends a multipart message
 *   recv [TIMEOUT_MS]       replies "msg FRAME..." or "err EAGAIN"
 *   echo N                  receives N messages, sends each back unchanged
 *   events                  reads ZMQ_EVENTS, which lets the socket take in
 *                           new connections (a socket not called into never
 *                           sees them, as libzmq is built)
 *   lib                     replies "ok VERSION PATH" of the libzmq in use
 *   quit
 * Every command replies with one line: "ok ...", "msg ..." or "err ...".
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

static void *ctx, *sock;

static const struct {
    const char *name;
    int type;
} types[] = {{"PAIR", ZMQ_PAIR},     {"PUB", ZMQ_PUB},       {"SUB", ZMQ_SUB},
             {"REQ", ZMQ_REQ},       {"REP", ZMQ_REP},       {"DEALER", ZMQ_DEALER},
             {"ROUTER", ZMQ_ROUTER}, {"PULL", ZMQ_PULL},     {"PUSH", ZMQ_PUSH},
             {"XPUB", ZMQ_XPUB},     {"XSUB", ZMQ_XSUB},     {"STREAM", ZMQ_STREAM}};

static int fail(const char *what)
{
    printf("err %s %s\n", what, zmq_strerror(zmq_errno()));
    return 0;
}

static int nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static int unhex(const char *s, unsigned char **out, size_t *len)
{
    if (strcmp(s, "-") == 0) {
        *out = NULL;
        *len = 0;
        return 0;
    }
    size_t n = strlen(s);
    if (n % 2)
        return -1;
    *out = malloc(n / 2 + 1);
    for (size_t i = 0; i < n / 2; i++) {
        int hi = nibble(s[2 * i]), lo = nibble(s[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            free(*out);
            return -1;
        }
        (*out)[i] = (unsigned char)(hi << 4 | lo);
    }
    *len = n / 2;
    return 0;
}

static void put_frame(zmq_msg_t *m)
{
    size_t n = zmq_msg_size(m);
    const unsigned char *d = zmq_msg_data(m);
    putchar(' ');
    if (n == 0)
        putchar('-');
    for (size_t i = 0; i < n; i++)
        printf("%02x", d[i]);
}

/* Receives one whole message; prints it when print != 0, else sends it back. */
static int recv_message(int print)
{
    zmq_msg_t parts[64];
    int count = 0, more = 1;
    while (more) {
        if (count == 64) {
            printf("err too many frames\n");
            return -1;
        }
        zmq_msg_init(&parts[count]);
        if (zmq_msg_recv(&parts[count], sock, 0) < 0) {
            zmq_msg_close(&parts[count]);
            for (int i = 0; i < count; i++)
                zmq_msg_close(&parts[i]);
            return -1;
        }
        more = zmq_msg_more(&parts[count]);
        count++;
    }
    if (print)
        printf("msg");
    for (int i = 0; i < count; i++) {
        if (print)
            put_frame(&parts[i]);
        else if (zmq_msg_send(&parts[i], sock, i + 1 < count ? ZMQ_SNDMORE : 0) < 0)
            return -1;
        zmq_msg_close(&parts[i]);
    }
    if (print)
        putchar('\n');
    return 0;
}

static int command(char *line)
{
    char *args = strchr(line, ' ');
    if (args)
        *args++ = 0;
    else
        args = line + strlen(line);

    if (strcmp(line, "socket") == 0) {
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (strcmp(args, types[i].name) == 0) {
                sock = zmq_socket(ctx, types[i].type);
                if (!sock)
                    return fail("socket");
                int linger = 1000;
                zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
                printf("ok\n");
                return 0;
            }
        printf("err unknown socket type %s\n", args);
    } else if (strcmp(line, "set") == 0) {
        int opt, value;
        if (sscanf(args, "%d %d", &opt, &value) != 2)
            printf("err usage\n");
        else if (zmq_setsockopt(sock, opt, &value, sizeof value) < 0)
            return fail("setsockopt");
        else
            printf("ok\n");
    } else if (strcmp(line, "sets") == 0) {
        int opt = atoi(args);
        char *hex = strchr(args, ' ');
        unsigned char *data;
        size_t len;
        if (!hex || unhex(hex + 1, &data, &len) < 0)
            printf("err usage\n");
        else {
            int rc = zmq_setsockopt(sock, opt, data, len);
            free(data);
            if (rc < 0)
                return fail("setsockopt");
            printf("ok\n");
        }
    } else if (strcmp(line, "bind") == 0) {
        char ep[256];
        size_t len = sizeof ep;
        if (zmq_bind(sock, args) < 0)
            return fail("bind");
        zmq_getsockopt(sock, ZMQ_LAST_ENDPOINT, ep, &len);
        printf("ok %s\n", ep);
    } else if (strcmp(line, "connect") == 0) {
        if (zmq_connect(sock, args) < 0)
            return fail("connect");
        printf("ok\n");
    } else if (strcmp(line, "send") == 0) {
        char *save, *tok = strtok_r(args, " ", &save);
        while (tok) {
            char *next = strtok_r(NULL, " ", &save);
            unsigned char *data;
            size_t len;
            if (unhex(tok, &data, &len) < 0) {
                printf("err bad frame\n");
                return 0;
            }
            int rc = zmq_send(sock, data, len, next ? ZMQ_SNDMORE : 0);
            free(data);
            if (rc < 0)
                return fail("send");
            tok = next;
        }
        printf("ok\n");
    } else if (strcmp(line, "recv") == 0) {
        int timeout = *args ? atoi(args) : 10000;
        zmq_setsockopt(sock, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
        if (recv_message(1) < 0)
            return fail("recv");
    } else if (strcmp(line, "echo") == 0) {
        int timeout = 10000;
        zmq_setsockopt(sock, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
        for (int n = atoi(args); n > 0; n--)
            if (recv_message(0) < 0)
                return fail("echo");
        printf("ok\n");
    } else if (strcmp(line, "events") == 0) {
        int events;
        size_t len = sizeof events;
        if (zmq_getsockopt(sock, ZMQ_EVENTS, &events, &len) < 0)
            return fail("events");
        printf("ok %d\n", events);
    } else if (strcmp(line, "lib") == 0) {
        int major, minor, patch;
        Dl_info info;
        zmq_version(&major, &minor, &patch);
        if (!dladdr((void *)zmq_version, &info) || !info.dli_fname)
            info.dli_fname = "?";
        printf("ok %d.%d.%d %s\n", major, minor, patch, info.dli_fname);
    } else if (strcmp(line, "quit") == 0) {
        return 1;
    } else {
        printf("err unknown command %s\n", line);
    }
    return 0;
}

int main(void)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    setvbuf(stdout, NULL, _IOLBF, 0);
    ctx = zmq_ctx_new();
    while ((n = getline(&line, &cap, stdin)) > 0) {
        if (line[n - 1] == '\n')
            line[n - 1] = 0;
        if (command(line))
            break;
    }
    free(line);
    if (sock)
        zmq_close(sock);
    zmq_ctx_term(ctx);
    return 0;
}
