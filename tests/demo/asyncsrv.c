/* Asynchronous client/server (ZeroMQ Guide, chapter 3) in C: DEALER
 * clients, a ROUTER frontend joined to a DEALER backend by zmq_proxy, and
 * a pool of DEALER workers that answer each request with any number of
 * replies, whenever they like. The same program as examples/asyncsrv.rs.
 *
 * The ROUTER prefixes each request with the client's routing id, the
 * workers send it back in front of each reply, and the ROUTER uses it to
 * route the reply. Worker w answers request n with n % 3 + 1 replies, so
 * every client knows how many replies to wait for; the program ends once
 * every client has all of them. */
#include <zmq.h>
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NBR_CLIENTS 3
#define NBR_WORKERS 5
#define REQUESTS 5

static void *ctx;
static char endpoint[256];

static int replies_for(int n)
{
    return n % 3 + 1;
}

static void *client_task(void *arg)
{
    char *name = arg;
    void *client = zmq_socket(ctx, ZMQ_DEALER);
    assert(zmq_setsockopt(client, ZMQ_ROUTING_ID, name, strlen(name)) == 0);
    assert(zmq_connect(client, endpoint) == 0);

    int expected = 0;
    for (int n = 0; n < REQUESTS; n++)
        expected += replies_for(n);
    intptr_t received = 0;
    int sent = 0;
    while (received < expected) {
        if (sent < REQUESTS) {
            char request[32];
            int len = snprintf(request, sizeof request, "request #%d", sent++);
            assert(zmq_send(client, request, (size_t) len, 0) == len);
        }
        /* Collect whatever replies came in during a short while. */
        zmq_pollitem_t item = {client, 0, ZMQ_POLLIN, 0};
        while (zmq_poll(&item, 1, 10) > 0) {
            char reply[128];
            int n = zmq_recv(client, reply, sizeof reply - 1, 0);
            assert(n >= 0 && n < (int) sizeof reply);
            reply[n] = '\0';
            printf("%s received: %s\n", name, reply);
            received++;
        }
    }
    zmq_close(client);
    return (void *) received;
}

static void *server_worker(void *arg)
{
    int nbr = (int) (intptr_t) arg;
    /* A worker that starts late may find the context terminated already:
     * then it has nothing to do. */
    void *worker = zmq_socket(ctx, ZMQ_DEALER);
    if (worker == NULL) {
        assert(zmq_errno() == ETERM);
        return NULL;
    }
    if (zmq_connect(worker, "inproc://backend") != 0) {
        assert(zmq_errno() == ETERM);
        zmq_close(worker);
        return NULL;
    }
    for (;;) {
        /* [client id][request]: no empty frame between DEALER and ROUTER. */
        zmq_msg_t identity;
        zmq_msg_init(&identity);
        if (zmq_msg_recv(&identity, worker, 0) < 0) {
            assert(zmq_errno() == ETERM);
            zmq_msg_close(&identity);
            break;
        }
        char request[64];
        int len = zmq_recv(worker, request, sizeof request - 1, 0);
        assert(len > 0 && len < (int) sizeof request);
        request[len] = '\0';
        int n = atoi(request + strlen("request #"));
        for (int copy = 0; copy < replies_for(n); copy++) {
            usleep((useconds_t) ((nbr + copy) % 4) * 1000);
            zmq_msg_t id_copy;
            zmq_msg_init(&id_copy);
            zmq_msg_copy(&id_copy, &identity);
            assert(zmq_msg_send(&id_copy, worker, ZMQ_SNDMORE) >= 0);
            char reply[128];
            int rlen = snprintf(reply, sizeof reply, "%s (reply %d by worker %d)",
                                request, copy + 1, nbr);
            assert(zmq_send(worker, reply, (size_t) rlen, 0) == rlen);
        }
        zmq_msg_close(&identity);
    }
    zmq_close(worker);
    return NULL;
}

static void *frontend, *backend;
static int proxy_rc, proxy_errno;

/* The proxy runs until the context is terminated; the sockets are then
 * closed here, by the thread that used them last. */
static void *server_task(void *arg)
{
    (void) arg;
    proxy_rc = zmq_proxy(frontend, backend, NULL);
    proxy_errno = zmq_errno();
    zmq_close(frontend);
    zmq_close(backend);
    return NULL;
}

int main(void)
{
    ctx = zmq_ctx_new();
    frontend = zmq_socket(ctx, ZMQ_ROUTER);
    assert(zmq_bind(frontend, "tcp://127.0.0.1:*") == 0);
    size_t size = sizeof endpoint;
    assert(zmq_getsockopt(frontend, ZMQ_LAST_ENDPOINT, endpoint, &size) == 0);
    backend = zmq_socket(ctx, ZMQ_DEALER);
    assert(zmq_bind(backend, "inproc://backend") == 0);

    pthread_t workers[NBR_WORKERS], clients[NBR_CLIENTS], server;
    for (intptr_t n = 0; n < NBR_WORKERS; n++)
        assert(pthread_create(&workers[n], NULL, server_worker, (void *) n) == 0);
    assert(pthread_create(&server, NULL, server_task, NULL) == 0);

    static char names[NBR_CLIENTS][16];
    for (int n = 0; n < NBR_CLIENTS; n++) {
        snprintf(names[n], sizeof names[n], "client-%c", 'A' + n);
        assert(pthread_create(&clients[n], NULL, client_task, names[n]) == 0);
    }
    for (int n = 0; n < NBR_CLIENTS; n++) {
        void *received;
        pthread_join(clients[n], &received);
        printf("%s done: %ld replies\n", names[n], (long) (intptr_t) received);
    }

    assert(zmq_ctx_term(ctx) == 0);
    pthread_join(server, NULL);
    printf("proxy ended: %d %s\n", proxy_rc,
           proxy_errno == ETERM ? "ETERM" : zmq_strerror(proxy_errno));
    for (int n = 0; n < NBR_WORKERS; n++)
        pthread_join(workers[n], NULL);
    return 0;
}
