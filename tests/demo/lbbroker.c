/* Load-balancing broker (ZeroMQ Guide, chapter 3) in C, clients and
 * workers as threads of one process: the same program as
 * examples/lbbroker.rs.
 *
 * REQ clients talk to the broker's ROUTER frontend; REQ workers connect to
 * its ROUTER backend and announce themselves with "READY". The broker keeps
 * the free workers in a queue and hands each client request to the one that
 * has waited longest; it polls the frontend only while a worker is free, so
 * requests wait in the clients' queues instead of the broker's. It ends
 * once every client has its reply: terminating the context then stops the
 * workers. */
#include <zmq.h>
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define NBR_CLIENTS 10
#define NBR_WORKERS 3
#define ID_MAX 32

static void *ctx;

/* One frame into buf (NUL-terminated); its size, or -1 with errno. */
static int recv_frame(void *socket, char *buf, size_t cap)
{
    int n = zmq_recv(socket, buf, cap - 1, 0);
    if (n >= 0) {
        assert((size_t) n < cap);
        buf[n] = '\0';
    }
    return n;
}

static void send_frame(void *socket, const char *data, size_t size, int flags)
{
    int rc = zmq_send(socket, data, size, flags);
    assert(rc == (int) size);
}

static void *client_task(void *arg)
{
    int nbr = (int) (intptr_t) arg;
    char id[ID_MAX], reply[64];
    void *client = zmq_socket(ctx, ZMQ_REQ);
    /* A printable routing id makes the broker's view easy to follow. */
    snprintf(id, sizeof id, "Client-%d", nbr);
    assert(zmq_setsockopt(client, ZMQ_ROUTING_ID, id, strlen(id)) == 0);
    assert(zmq_connect(client, "inproc://frontend") == 0);
    send_frame(client, "HELLO", 5, 0);
    assert(recv_frame(client, reply, sizeof reply) >= 0);
    printf("%s: %s\n", id, reply);
    zmq_close(client);
    return NULL;
}

static void *worker_task(void *arg)
{
    int nbr = (int) (intptr_t) arg;
    char id[ID_MAX], client_id[ID_MAX], empty[8], request[64];
    void *worker = zmq_socket(ctx, ZMQ_REQ);
    snprintf(id, sizeof id, "Worker-%d", nbr);
    assert(zmq_setsockopt(worker, ZMQ_ROUTING_ID, id, strlen(id)) == 0);
    assert(zmq_connect(worker, "inproc://backend") == 0);
    send_frame(worker, "READY", 5, 0);
    intptr_t served = 0;
    for (;;) {
        /* [client id][empty][request]: REQ removed our own envelope. */
        if (recv_frame(worker, client_id, sizeof client_id) < 0) {
            assert(zmq_errno() == ETERM);
            break;
        }
        assert(recv_frame(worker, empty, sizeof empty) == 0);
        assert(recv_frame(worker, request, sizeof request) == 5);
        assert(strcmp(request, "HELLO") == 0);
        served++;
        send_frame(worker, client_id, strlen(client_id), ZMQ_SNDMORE);
        send_frame(worker, "", 0, ZMQ_SNDMORE);
        send_frame(worker, "OK", 2, 0);
    }
    zmq_close(worker);
    return (void *) served;
}

int main(void)
{
    ctx = zmq_ctx_new();
    void *frontend = zmq_socket(ctx, ZMQ_ROUTER);
    void *backend = zmq_socket(ctx, ZMQ_ROUTER);
    assert(zmq_bind(frontend, "inproc://frontend") == 0);
    assert(zmq_bind(backend, "inproc://backend") == 0);

    pthread_t workers[NBR_WORKERS], clients[NBR_CLIENTS];
    for (intptr_t n = 0; n < NBR_WORKERS; n++)
        assert(pthread_create(&workers[n], NULL, worker_task, (void *) n) == 0);
    for (intptr_t n = 0; n < NBR_CLIENTS; n++)
        assert(pthread_create(&clients[n], NULL, client_task, (void *) n) == 0);

    char free_workers[NBR_WORKERS][ID_MAX];
    int free_count = 0;
    int replies_left = NBR_CLIENTS;
    /* The broker also waits for every worker's READY: a worker that started
     * after the last reply would otherwise meet a terminated context while
     * setting up its socket. */
    int workers_unseen = NBR_WORKERS;
    while (replies_left > 0 || workers_unseen > 0) {
        zmq_pollitem_t items[] = {
            {backend, 0, ZMQ_POLLIN, 0},
            {frontend, 0, ZMQ_POLLIN, 0},
        };
        assert(zmq_poll(items, free_count ? 2 : 1, -1) >= 1);

        if (items[0].revents & ZMQ_POLLIN) {
            /* [worker id][empty][READY] or
             * [worker id][empty][client id][empty][reply] */
            char worker_id[ID_MAX], empty[8], client_id[ID_MAX], reply[64];
            assert(recv_frame(backend, worker_id, sizeof worker_id) > 0);
            assert(recv_frame(backend, empty, sizeof empty) == 0);
            assert(recv_frame(backend, client_id, sizeof client_id) > 0);
            assert(free_count < NBR_WORKERS);
            strcpy(free_workers[free_count++], worker_id);
            if (strcmp(client_id, "READY") == 0) {
                workers_unseen--;
            } else {
                assert(recv_frame(backend, empty, sizeof empty) == 0);
                assert(recv_frame(backend, reply, sizeof reply) > 0);
                printf("broker: %s answered %s\n", worker_id, client_id);
                send_frame(frontend, client_id, strlen(client_id), ZMQ_SNDMORE);
                send_frame(frontend, "", 0, ZMQ_SNDMORE);
                send_frame(frontend, reply, strlen(reply), 0);
                replies_left--;
            }
        }
        if (items[1].revents & ZMQ_POLLIN) {
            /* [client id][empty][request] goes to the longest-waiting
             * worker. */
            char client_id[ID_MAX], empty[8], request[64];
            assert(recv_frame(frontend, client_id, sizeof client_id) > 0);
            assert(recv_frame(frontend, empty, sizeof empty) == 0);
            assert(recv_frame(frontend, request, sizeof request) > 0);
            assert(free_count > 0);
            send_frame(backend, free_workers[0], strlen(free_workers[0]), ZMQ_SNDMORE);
            send_frame(backend, "", 0, ZMQ_SNDMORE);
            send_frame(backend, client_id, strlen(client_id), ZMQ_SNDMORE);
            send_frame(backend, "", 0, ZMQ_SNDMORE);
            send_frame(backend, request, strlen(request), 0);
            free_count--;
            memmove(free_workers[0], free_workers[1], (size_t) free_count * ID_MAX);
        }
    }

    for (int n = 0; n < NBR_CLIENTS; n++)
        pthread_join(clients[n], NULL);
    zmq_close(frontend);
    zmq_close(backend);
    /* The workers block in recv: terminating the context wakes them with
     * ETERM. */
    assert(zmq_ctx_term(ctx) == 0);
    printf("served per worker: [");
    intptr_t total = 0;
    for (int n = 0; n < NBR_WORKERS; n++) {
        void *served;
        pthread_join(workers[n], &served);
        printf("%s%ld", n ? ", " : "", (long) (intptr_t) served);
        total += (intptr_t) served;
    }
    printf("], total %ld\n", (long) total);
    return 0;
}
