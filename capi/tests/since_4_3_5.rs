//! libzmq master's tests/test_peer_disconnect.cpp scenario, as a C program
//! against our header and library: `zmq_disconnect_peer` (a draft function
//! added after 4.3.5). Draft API: it runs in the draft build (run-all's
//! test-draft step).
#![cfg(feature = "draft")]

mod common;

use common::{compile_c, run_c, scratch, soname_dir};

#[test]
fn zmq_disconnect_peer_as_in_libzmq_master() {
    let dir = scratch("peer_disconnect");
    let exe = compile_c(
        &dir,
        "peer_disconnect",
        r#"
#include <zmq.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>

#define CHECK(x) do { if (!(x)) { printf("failed: %s (%s)\n", #x, zmq_strerror(zmq_errno())); return 1; } } while (0)

int main(void) {
    void *ctx = zmq_ctx_new();
    void *peer1 = zmq_socket(ctx, ZMQ_PEER);
    CHECK(zmq_bind(peer1, "tcp://127.0.0.1:*") == 0);
    char endpoint[256];
    size_t len = sizeof endpoint;
    CHECK(zmq_getsockopt(peer1, ZMQ_LAST_ENDPOINT, endpoint, &len) == 0);
    void *peer2 = zmq_socket(ctx, ZMQ_PEER);
    uint32_t peer1_id = zmq_connect_peer(peer2, endpoint);
    CHECK(peer1_id != 0);

    zmq_msg_t msg;
    CHECK(zmq_msg_init_size(&msg, 1) == 0);
    ((char *)zmq_msg_data(&msg))[0] = 'X';
    CHECK(zmq_msg_set_routing_id(&msg, peer1_id) == 0);
    CHECK(zmq_msg_send(&msg, peer2, 0) == 1);

    CHECK(zmq_msg_init(&msg) == 0);
    CHECK(zmq_msg_recv(&msg, peer1, 0) == 1);
    uint32_t peer2_id = zmq_msg_routing_id(&msg);
    CHECK(peer2_id != 0);
    CHECK(zmq_msg_close(&msg) == 0);

    CHECK(zmq_disconnect_peer(peer1, peer2_id) == 0);

    CHECK(zmq_msg_init_size(&msg, 5) == 0);
    memcpy(zmq_msg_data(&msg), "HELLO", 5);
    CHECK(zmq_msg_set_routing_id(&msg, peer2_id) == 0);
    CHECK(zmq_msg_send(&msg, peer1, 0) == -1 && errno == EHOSTUNREACH);
    CHECK(zmq_msg_close(&msg) == 0);

    /* Unknown ids and other socket types. */
    CHECK(zmq_disconnect_peer(peer1, 424242) == -1 && errno == EHOSTUNREACH);
    void *dealer = zmq_socket(ctx, ZMQ_DEALER);
    CHECK(zmq_disconnect_peer(dealer, 1) == -1 && errno == ENOTSUP);
    CHECK(zmq_disconnect_peer(NULL, 1) == -1 && errno == ENOTSOCK);

    zmq_close(dealer);
    zmq_close(peer2);
    zmq_close(peer1);
    zmq_ctx_term(ctx);
    printf("ok\n");
    return 0;
}
"#,
    );
    assert_eq!(run_c(&exe, &soname_dir(&dir)), "ok\n");
}
