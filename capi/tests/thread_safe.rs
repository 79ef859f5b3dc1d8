//! Thread-safe sockets (SERVER, CLIENT, ...) used by several threads at
//! once through the C API, as a C program with pthreads: threads blocked on
//! one socket are each woken when there is something for them, so every
//! message is received and nothing hangs. How promptly is measured by
//! benches/perf/ts_lat (not asserted here: tests do not time things).
//! The thread-safe types are draft API: this runs in the draft build
//! (run-all's test-draft step).
#![cfg(feature = "draft")]

mod common;

use common::{compile_c, run_c, scratch, soname_dir};

#[test]
fn threads_blocked_on_one_server_all_make_progress() {
    let dir = scratch("blocked_threads");
    let exe = compile_c(
        &dir,
        "blocked_threads",
        r#"
#include <zmq.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHECK(x) do { if (!(x)) { printf("line %d: failed: %s (%s)\n", __LINE__, #x, \
    zmq_strerror(zmq_errno())); exit(1); } } while (0)

#define THREADS 4
#define MESSAGES 2000

/* A receiving thread: answers every message to its sender, and stops after
   answering a "stop". */
struct worker { void *server; int received; int failed; };

static void *serve(void *arg) {
    struct worker *w = arg;
    for (;;) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, w->server, 0) < 0) { w->failed = zmq_errno(); return NULL; }
        int stop = zmq_msg_size(&msg) == 4 && memcmp(zmq_msg_data(&msg), "stop", 4) == 0;
        if (!stop)
            w->received++;
        /* The received message keeps its routing id: send it back as is. */
        if (zmq_msg_send(&msg, w->server, 0) < 0) { w->failed = zmq_errno(); return NULL; }
        if (stop)
            return NULL;
    }
}

/* A CLIENT sends one message at a time and waits for its answer, so at
   every message all four threads are blocked in zmq_msg_recv. */
static void one_at_a_time(void *ctx, const char *bind_to) {
    void *server = zmq_socket(ctx, ZMQ_SERVER);
    CHECK(server);
    CHECK(zmq_bind(server, bind_to) == 0);
    char endpoint[256];
    size_t len = sizeof endpoint;
    CHECK(zmq_getsockopt(server, ZMQ_LAST_ENDPOINT, endpoint, &len) == 0);
    void *client = zmq_socket(ctx, ZMQ_CLIENT);
    CHECK(client);
    CHECK(zmq_connect(client, endpoint) == 0);

    struct worker w[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct worker){server, 0, 0};
        CHECK(pthread_create(&t[i], NULL, serve, &w[i]) == 0);
    }
    for (int i = 0; i < MESSAGES + THREADS; i++) {
        char out[16], in[16];
        int n = i < MESSAGES ? snprintf(out, sizeof out, "%d", i) : snprintf(out, sizeof out, "stop");
        CHECK(zmq_send(client, out, n, 0) == n);
        int m = zmq_recv(client, in, sizeof in, 0);
        CHECK(m == n && memcmp(in, out, n) == 0);
    }
    int total = 0;
    for (int i = 0; i < THREADS; i++) {
        CHECK(pthread_join(t[i], NULL) == 0);
        if (w[i].failed) { printf("%s: thread %d: %s\n", bind_to, i, zmq_strerror(w[i].failed)); exit(1); }
        total += w[i].received;
    }
    CHECK(total == MESSAGES);
    CHECK(zmq_close(client) == 0);
    CHECK(zmq_close(server) == 0);
}

/* Threads blocked in zmq_msg_recv all return ETERM at zmq_ctx_shutdown. */
static void *recv_until_error(void *server) {
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    intptr_t rc = zmq_msg_recv(&msg, server, 0);
    return (void *)(intptr_t)(rc < 0 ? zmq_errno() : 0);
}

static void shutdown_wakes_everyone(void) {
    void *ctx = zmq_ctx_new();
    void *server = zmq_socket(ctx, ZMQ_SERVER);
    CHECK(zmq_bind(server, "inproc://shutdown") == 0);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        CHECK(pthread_create(&t[i], NULL, recv_until_error, server) == 0);
    usleep(20000); /* let them block (not needed for correctness) */
    CHECK(zmq_ctx_shutdown(ctx) == 0);
    for (int i = 0; i < THREADS; i++) {
        void *err;
        CHECK(pthread_join(t[i], &err) == 0);
        CHECK((intptr_t)err == ETERM);
    }
    CHECK(zmq_close(server) == 0);
    CHECK(zmq_ctx_term(ctx) == 0);
}

/* With ZMQ_RCVTIMEO every blocked thread gives up with EAGAIN. */
static void timeouts_end_every_wait(void) {
    void *ctx = zmq_ctx_new();
    void *server = zmq_socket(ctx, ZMQ_SERVER);
    int timeo = 30;
    CHECK(zmq_setsockopt(server, ZMQ_RCVTIMEO, &timeo, sizeof timeo) == 0);
    CHECK(zmq_bind(server, "inproc://timeouts") == 0);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        CHECK(pthread_create(&t[i], NULL, recv_until_error, server) == 0);
    for (int i = 0; i < THREADS; i++) {
        void *err;
        CHECK(pthread_join(t[i], &err) == 0);
        CHECK((intptr_t)err == EAGAIN);
    }
    CHECK(zmq_close(server) == 0);
    CHECK(zmq_ctx_term(ctx) == 0);
}

/* As libzmq: no ZMQ_FD for a thread-safe socket; a poller watches it. */
static void fd_and_poller(void) {
    void *ctx = zmq_ctx_new();
    void *server = zmq_socket(ctx, ZMQ_SERVER);
    void *client = zmq_socket(ctx, ZMQ_CLIENT);
    zmq_fd_t fd;
    size_t len = sizeof fd;
    CHECK(zmq_getsockopt(server, ZMQ_FD, &fd, &len) == -1 && zmq_errno() == EINVAL);
    CHECK(zmq_getsockopt(client, ZMQ_FD, &fd, &len) == -1 && zmq_errno() == EINVAL);
    CHECK(zmq_bind(server, "inproc://poller") == 0);
    CHECK(zmq_connect(client, "inproc://poller") == 0);
    void *poller = zmq_poller_new();
    CHECK(zmq_poller_add(poller, server, NULL, ZMQ_POLLIN) == 0);
    zmq_poller_event_t ev;
    CHECK(zmq_poller_wait(poller, &ev, 0) == -1 && zmq_errno() == EAGAIN);
    CHECK(zmq_send(client, "x", 1, 0) == 1);
    CHECK(zmq_poller_wait(poller, &ev, -1) == 0);
    CHECK(ev.socket == server && (ev.events & ZMQ_POLLIN));
    char c;
    CHECK(zmq_recv(server, &c, 1, 0) == 1 && c == 'x');
    CHECK(zmq_poller_destroy(&poller) == 0);
    CHECK(zmq_close(client) == 0);
    CHECK(zmq_close(server) == 0);
    CHECK(zmq_ctx_term(ctx) == 0);
}

int main(void) {
    alarm(120); /* a hang guard, not a timing check */
    void *ctx = zmq_ctx_new();
    one_at_a_time(ctx, "inproc://one-at-a-time");
    one_at_a_time(ctx, "tcp://127.0.0.1:*");
    CHECK(zmq_ctx_term(ctx) == 0);
    shutdown_wakes_everyone();
    timeouts_end_every_wait();
    fd_and_poller();
    printf("ok\n");
    return 0;
}
"#,
    );
    assert_eq!(run_c(&exe, &soname_dir(&dir)), "ok\n");
}
