//! Bad handles through the C ABI: every kind of handle (context, socket,
//! poller, timer set, atomic counter, stopwatch, thread) used after it was
//! closed, terminated or destroyed, passed where another kind goes, or made
//! up (NULL, the caller's stack, a freed heap block, a copy of a real
//! handle's bytes, a pointer into the middle of one) gives libzmq's errno
//! or does nothing, and never crashes or writes through the pointer. The
//! programs run against target/<profile>/libzmq.so like defects.rs. Needs
//! gcc. The programs use the draft poller API, so they run against the
//! draft build (`--features draft`): the handle pools are the same in both.
#![cfg(feature = "draft")]

mod common;

use common::{compile_c, run_c, scratch, soname_dir};

/// What both programs share: checks that count failures and say where.
const PRELUDE: &str = r#"
#include <zmq.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;
/* What is being tried, for the failure reports. */
static const char *where_ = "main";

/* `expr` gives `rc` and sets errno to `err`. */
#define EXPECT(expr, rc, err)                                                \
    do {                                                                     \
        errno = 0;                                                           \
        long got_ = (long) (expr);                                           \
        int e_ = errno;                                                      \
        if (got_ != (long) (rc) || e_ != (err)) {                            \
            printf ("%s, line %d: %s gave %ld, errno %d (%s); want %ld, errno %d\n", \
                    where_, __LINE__, #expr, got_, e_, zmq_strerror (e_),    \
                    (long) (rc), (err));                                     \
            failures++;                                                      \
        }                                                                    \
    } while (0)

/* `expr` gives `rc` (errno is not looked at). */
#define EXPECT_RC(expr, rc)                                                  \
    do {                                                                     \
        long got_ = (long) (expr);                                           \
        if (got_ != (long) (rc)) {                                           \
            printf ("%s, line %d: %s gave %ld (errno %d); want %ld\n", where_, \
                    __LINE__, #expr, got_, errno, (long) (rc));              \
            failures++;                                                      \
        }                                                                    \
    } while (0)

/* A void call leaves errno at `err`. */
#define EXPECT_VOID(stmt, err)                                               \
    do {                                                                     \
        errno = 0;                                                           \
        stmt;                                                                \
        if (errno != (err)) {                                                \
            printf ("%s, line %d: %s left errno %d; want %d\n", where_,      \
                    __LINE__, #stmt, errno, (err));                          \
            failures++;                                                      \
        }                                                                    \
    } while (0)

static void on_timer (int id, void *arg) { (void) id; (void) arg; }

static void thread_body (void *arg) { *(int *) arg = 1; }

static int finish (void)
{
    if (failures == 0)
        printf ("ok\n");
    else
        printf ("%d failures\n", failures);
    return 0;
}
"#;

/// Handles used after close, term or destroy, and NULL handles.
#[test]
fn stale_and_null_handles_give_libzmq_errno() {
    let dir = scratch("stale");
    let program = format!(
        "{PRELUDE}{}",
        r#"
int main (void)
{
    char buf[8];
    int zero = 0;
    size_t len = sizeof zero;
    zmq_msg_t msg;
    zmq_msg_init (&msg);

    /* A socket after zmq_close. */
    void *ctx = zmq_ctx_new ();
    void *s = zmq_socket (ctx, ZMQ_PAIR);
    EXPECT_RC (zmq_close (s), 0);
    EXPECT (zmq_close (s), -1, ENOTSOCK);
    EXPECT (zmq_send (s, "x", 1, ZMQ_DONTWAIT), -1, ENOTSOCK);
    EXPECT (zmq_recv (s, buf, sizeof buf, ZMQ_DONTWAIT), -1, ENOTSOCK);
    EXPECT (zmq_msg_send (&msg, s, ZMQ_DONTWAIT), -1, ENOTSOCK);
    EXPECT (zmq_msg_recv (&msg, s, ZMQ_DONTWAIT), -1, ENOTSOCK);
    EXPECT (zmq_sendmsg (s, &msg, ZMQ_DONTWAIT), -1, ENOTSOCK);
    EXPECT (zmq_setsockopt (s, ZMQ_LINGER, &zero, sizeof zero), -1, ENOTSOCK);
    EXPECT (zmq_getsockopt (s, ZMQ_LINGER, &zero, &len), -1, ENOTSOCK);
    EXPECT (zmq_bind (s, "inproc://stale"), -1, ENOTSOCK);
    EXPECT (zmq_connect (s, "inproc://stale"), -1, ENOTSOCK);
    EXPECT (zmq_socket_monitor (s, NULL, 0), -1, ENOTSOCK);
    zmq_pollitem_t item = {s, 0, ZMQ_POLLIN, 0};
    EXPECT (zmq_poll (&item, 1, 0), -1, ENOTSOCK);
    EXPECT (zmq_close (NULL), -1, ENOTSOCK);
    EXPECT (zmq_send (NULL, "x", 1, 0), -1, ENOTSOCK);

    /* A context after zmq_ctx_term: terminating it again, using it. */
    EXPECT_RC (zmq_ctx_term (ctx), 0);
    EXPECT (zmq_ctx_term (ctx), -1, EFAULT);
    EXPECT (zmq_term (ctx), -1, EFAULT);
    EXPECT (zmq_ctx_destroy (ctx), -1, EFAULT);
    EXPECT (zmq_ctx_shutdown (ctx), -1, EFAULT);
    EXPECT (zmq_ctx_set (ctx, ZMQ_IO_THREADS, 2), -1, EFAULT);
    EXPECT (zmq_ctx_get (ctx, ZMQ_IO_THREADS), -1, EFAULT);
    EXPECT (zmq_socket (ctx, ZMQ_PAIR) == NULL, 1, EFAULT);
    EXPECT (zmq_ctx_term (NULL), -1, EFAULT);
    EXPECT (zmq_socket (NULL, ZMQ_PAIR) == NULL, 1, EFAULT);

    /* A poller after zmq_poller_destroy (a live socket isolates the
       poller's error). */
    void *ctx2 = zmq_ctx_new ();
    void *s2 = zmq_socket (ctx2, ZMQ_PAIR);
    void *poller = zmq_poller_new ();
    void *stale_poller = poller;
    zmq_poller_event_t ev;
    zmq_fd_t fd;
    EXPECT_RC (zmq_poller_add (poller, s2, NULL, ZMQ_POLLIN), 0);
    EXPECT_RC (zmq_poller_destroy (&poller), 0);
    EXPECT_RC (poller == NULL, 1);
    EXPECT (zmq_poller_add (stale_poller, s2, NULL, ZMQ_POLLIN), -1, EFAULT);
    EXPECT (zmq_poller_modify (stale_poller, s2, ZMQ_POLLOUT), -1, EFAULT);
    EXPECT (zmq_poller_remove (stale_poller, s2), -1, EFAULT);
    EXPECT (zmq_poller_add_fd (stale_poller, 0, NULL, ZMQ_POLLIN), -1, EFAULT);
    EXPECT (zmq_poller_remove_fd (stale_poller, 0), -1, EFAULT);
    EXPECT (zmq_poller_size (stale_poller), -1, EFAULT);
    EXPECT (zmq_poller_wait (stale_poller, &ev, 0), -1, EFAULT);
    EXPECT (zmq_poller_wait_all (stale_poller, &ev, 1, 0), -1, EFAULT);
    EXPECT (zmq_poller_fd (stale_poller, &fd), -1, EFAULT);
    EXPECT (zmq_poller_destroy (&stale_poller), -1, EFAULT);
    EXPECT (zmq_poller_destroy (&poller), -1, EFAULT); /* *poller_p NULL */
    EXPECT (zmq_poller_destroy (NULL), -1, EFAULT);
    EXPECT (zmq_poller_size (NULL), -1, EFAULT);

    /* A timer set after zmq_timers_destroy. */
    void *timers = zmq_timers_new ();
    void *stale_timers = timers;
    int id = zmq_timers_add (timers, 10, on_timer, NULL);
    EXPECT_RC (id > 0, 1);
    EXPECT_RC (zmq_timers_destroy (&timers), 0);
    EXPECT_RC (timers == NULL, 1);
    EXPECT (zmq_timers_add (stale_timers, 10, on_timer, NULL), -1, EFAULT);
    EXPECT (zmq_timers_execute (stale_timers), -1, EFAULT);
    EXPECT (zmq_timers_timeout (stale_timers), -1, EFAULT);
    EXPECT (zmq_timers_cancel (stale_timers, id), -1, EFAULT);
    EXPECT (zmq_timers_reset (stale_timers, id), -1, EFAULT);
    EXPECT (zmq_timers_set_interval (stale_timers, id, 5), -1, EFAULT);
    EXPECT (zmq_timers_destroy (&stale_timers), -1, EFAULT);
    EXPECT (zmq_timers_destroy (&timers), -1, EFAULT); /* *timers_p NULL */
    EXPECT (zmq_timers_destroy (NULL), -1, EFAULT);     /* libzmq crashes */
    EXPECT (zmq_timers_execute (NULL), -1, EFAULT);

    /* Atomic counters: NULL and destroyed ones (libzmq crashes on both). */
    EXPECT (zmq_atomic_counter_inc (NULL), -1, EFAULT);
    EXPECT (zmq_atomic_counter_dec (NULL), -1, EFAULT);
    EXPECT (zmq_atomic_counter_value (NULL), -1, EFAULT);
    EXPECT_VOID (zmq_atomic_counter_set (NULL, 5), EFAULT);
    EXPECT_VOID (zmq_atomic_counter_destroy (NULL), EFAULT);
    void *counter = NULL;
    EXPECT_VOID (zmq_atomic_counter_destroy (&counter), 0); /* as delete NULL */
    counter = zmq_atomic_counter_new ();
    void *stale_counter = counter;
    EXPECT_RC (zmq_atomic_counter_inc (counter), 0);
    EXPECT_RC (zmq_atomic_counter_value (counter), 1);
    EXPECT_VOID (zmq_atomic_counter_destroy (&counter), 0);
    EXPECT_RC (counter == NULL, 1);
    EXPECT (zmq_atomic_counter_value (stale_counter), -1, EFAULT);
    EXPECT (zmq_atomic_counter_inc (stale_counter), -1, EFAULT);
    EXPECT_VOID (zmq_atomic_counter_set (stale_counter, 3), EFAULT);
    EXPECT_VOID (zmq_atomic_counter_destroy (&stale_counter), EFAULT);
    EXPECT_RC (stale_counter == NULL, 1);

    /* Stopwatches: NULL, and stopped twice. */
    void *watch = zmq_stopwatch_start ();
    EXPECT (zmq_stopwatch_intermediate (NULL), 0, EFAULT);
    EXPECT (zmq_stopwatch_stop (NULL), 0, EFAULT);
    zmq_stopwatch_stop (watch);
    EXPECT (zmq_stopwatch_stop (watch), 0, EFAULT);
    EXPECT (zmq_stopwatch_intermediate (watch), 0, EFAULT);

    /* Threads: closed twice, NULL. */
    int ran = 0;
    void *thread = zmq_threadstart (thread_body, &ran);
    EXPECT_VOID (zmq_threadclose (thread), 0);
    EXPECT_RC (ran, 1);
    EXPECT_VOID (zmq_threadclose (thread), EFAULT);
    EXPECT_VOID (zmq_threadclose (NULL), EFAULT);

    /* What is still live still works. */
    EXPECT_RC (zmq_bind (s2, "inproc://live"), 0);
    EXPECT_RC (zmq_close (s2), 0);
    EXPECT_RC (zmq_ctx_term (ctx2), 0);
    zmq_msg_close (&msg);
    return finish ();
}
"#
    );
    let exe = compile_c(&dir, "stale", &program);
    assert_eq!(run_c(&exe, &soname_dir(&dir)), "ok\n");
}

/// Handles of one kind passed where another goes, and pointers that were
/// never handles: the caller's stack, a freed heap block, byte copies of a
/// real handle, pointers into the middle of one.
#[test]
fn foreign_handles_give_libzmq_errno_and_are_not_touched() {
    let dir = scratch("foreign");
    let program = format!(
        "{PRELUDE}{}",
        r#"
/* What a handle-shaped fake looks like to each kind of call. */
static void try_everything (void *p, const char *what)
{
    char buf[8];
    int one = 1;
    void *q = p;
    zmq_msg_t msg;
    zmq_poller_event_t ev;
    zmq_pollitem_t item = {p, 0, ZMQ_POLLIN, 0};
    where_ = what;
    zmq_msg_init (&msg);
    EXPECT (zmq_close (p), -1, ENOTSOCK);
    EXPECT (zmq_send (p, "x", 1, ZMQ_DONTWAIT), -1, ENOTSOCK);
    EXPECT (zmq_recv (p, buf, sizeof buf, ZMQ_DONTWAIT), -1, ENOTSOCK);
    EXPECT (zmq_msg_send (&msg, p, ZMQ_DONTWAIT), -1, ENOTSOCK);
    EXPECT (zmq_setsockopt (p, ZMQ_LINGER, &one, sizeof one), -1, ENOTSOCK);
    EXPECT (zmq_poll (&item, 1, 0), -1, ENOTSOCK);
    EXPECT (zmq_ctx_term (p), -1, EFAULT);
    EXPECT (zmq_ctx_set (p, ZMQ_IO_THREADS, 2), -1, EFAULT);
    EXPECT (zmq_socket (p, ZMQ_PAIR) == NULL, 1, EFAULT);
    EXPECT (zmq_poller_size (p), -1, EFAULT);
    EXPECT (zmq_poller_wait_all (p, &ev, 1, 0), -1, EFAULT);
    EXPECT (zmq_poller_destroy (&q), -1, EFAULT);
    EXPECT (zmq_timers_add (p, 10, on_timer, NULL), -1, EFAULT);
    EXPECT (zmq_timers_execute (p), -1, EFAULT);
    EXPECT (zmq_timers_destroy (&q), -1, EFAULT);
    EXPECT (zmq_atomic_counter_inc (p), -1, EFAULT);
    EXPECT (zmq_atomic_counter_value (p), -1, EFAULT);
    EXPECT_VOID (zmq_atomic_counter_set (p, 7), EFAULT);
    EXPECT (zmq_stopwatch_intermediate (p), 0, EFAULT);
    EXPECT (zmq_stopwatch_stop (p), 0, EFAULT);
    EXPECT_VOID (zmq_threadclose (p), EFAULT);
    EXPECT_RC (q == p, 1);
    zmq_msg_close (&msg);
    where_ = "main";
}

int main (void)
{
    void *ctx = zmq_ctx_new ();
    void *s = zmq_socket (ctx, ZMQ_PAIR);
    void *poller = zmq_poller_new ();
    void *timers = zmq_timers_new ();
    void *counter = zmq_atomic_counter_new ();
    void *watch = zmq_stopwatch_start ();
    int ran = 0;
    void *thread = zmq_threadstart (thread_body, &ran);
    int one = 1;

    /* A context where a socket goes, and the other way round. */
    EXPECT (zmq_close (ctx), -1, ENOTSOCK);
    EXPECT (zmq_send (ctx, "x", 1, 0), -1, ENOTSOCK);
    EXPECT (zmq_bind (ctx, "inproc://foreign"), -1, ENOTSOCK);
    EXPECT (zmq_setsockopt (ctx, ZMQ_LINGER, &one, sizeof one), -1, ENOTSOCK);
    EXPECT (zmq_poller_add (poller, ctx, NULL, ZMQ_POLLIN), -1, ENOTSOCK);
    EXPECT (zmq_socket (s, ZMQ_PAIR) == NULL, 1, EFAULT);
    EXPECT (zmq_ctx_term (s), -1, EFAULT);
    EXPECT (zmq_ctx_shutdown (s), -1, EFAULT);
    EXPECT (zmq_ctx_get (s, ZMQ_IO_THREADS), -1, EFAULT);

    /* A poller where timers go, and the other way round. */
    void *q = poller;
    EXPECT (zmq_timers_add (poller, 10, on_timer, NULL), -1, EFAULT);
    EXPECT (zmq_timers_execute (poller), -1, EFAULT);
    EXPECT (zmq_timers_destroy (&q), -1, EFAULT);
    EXPECT_RC (q == poller, 1);
    q = timers;
    EXPECT (zmq_poller_add (timers, s, NULL, ZMQ_POLLIN), -1, EFAULT);
    EXPECT (zmq_poller_size (timers), -1, EFAULT);
    EXPECT (zmq_poller_destroy (&q), -1, EFAULT);
    EXPECT_RC (q == timers, 1);

    /* Counters, stopwatches and threads mixed up. */
    EXPECT (zmq_atomic_counter_inc (watch), -1, EFAULT);
    EXPECT (zmq_stopwatch_stop (counter), 0, EFAULT);
    EXPECT_VOID (zmq_threadclose (counter), EFAULT);
    EXPECT (zmq_send (counter, "x", 1, 0), -1, ENOTSOCK);
    EXPECT (zmq_ctx_term (poller), -1, EFAULT);
    EXPECT (zmq_close (thread), -1, ENOTSOCK);
    EXPECT (zmq_atomic_counter_value (thread), -1, EFAULT);

    /* Made-up pointers: the stack, filled with copies of real handles'
       leading bytes (their tags) and with a pattern; the calls must
       neither accept nor write them. */
    unsigned char stack[256], saved[256];
    void *real[] = {ctx, s, poller, timers, counter, watch, thread};
    for (size_t k = 0; k < sizeof real / sizeof real[0]; k++) {
        for (size_t off = 0; off + 16 <= sizeof stack; off += 16)
            memcpy (stack + off, real[k], 16);
        memcpy (saved, stack, sizeof stack);
        try_everything (stack, "stack copy");
        try_everything (stack + 16, "stack copy + 16");
        EXPECT_RC (memcmp (stack, saved, sizeof stack), 0);
    }
    memset (stack, 0xab, sizeof stack);
    try_everything (stack, "stack pattern");

    /* A freed heap block that held a copy of a live socket's bytes. The
       address goes through an integer so the compiler sees no use of a
       freed pointer. */
    unsigned char *block = malloc (256);
    memcpy (block, s, 16);
    volatile uintptr_t addr = (uintptr_t) block;
    free (block);
    try_everything ((void *) addr, "freed block");

    /* Pointers into the middle of real handles, and just before them. */
    for (size_t k = 0; k < sizeof real / sizeof real[0]; k++) {
        try_everything ((char *) real[k] + 1, "inside");
        try_everything ((char *) real[k] + 8, "inside");
        try_everything ((char *) real[k] - 8, "before");
    }

    /* The real handles were left alone and still work. */
    EXPECT_RC (zmq_atomic_counter_value (counter), 0);
    EXPECT_RC (zmq_poller_size (poller), 0);
    EXPECT_RC (zmq_timers_timeout (timers), -1);
    EXPECT_RC (zmq_bind (s, "inproc://foreign"), 0);
    EXPECT_RC (zmq_poller_add (poller, s, NULL, ZMQ_POLLIN), 0);
    EXPECT_RC (zmq_poller_destroy (&poller), 0);
    EXPECT_RC (zmq_timers_destroy (&timers), 0);
    zmq_atomic_counter_destroy (&counter);
    zmq_stopwatch_stop (watch);
    zmq_threadclose (thread);
    EXPECT_RC (ran, 1);
    EXPECT_RC (zmq_close (s), 0);
    EXPECT_RC (zmq_ctx_term (ctx), 0);
    return finish ();
}
"#
    );
    let exe = compile_c(&dir, "foreign", &program);
    assert_eq!(run_c(&exe, &soname_dir(&dir)), "ok\n");
}
