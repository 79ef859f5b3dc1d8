/* A libzmq program as any project has one, built by tests/downstream/run
   with each build system (pkg-config, CMake) against the installed tree:
   REQ/REP over tcp, a draft function when the build asks for the draft
   API, and the libzmq the process has mapped. */
#include <zmq.h>
#include <stdio.h>
#include <string.h>

#if ZMQ_VERSION != ZMQ_MAKE_VERSION(4, 3, 5)
#error "this is not the installed zmq.h (libzmq 4.3.5)"
#endif

static int check(int ok, const char *what)
{
    if (!ok)
        printf("FAILED: %s: %s\n", what, zmq_strerror(zmq_errno()));
    return ok;
}

int main(void)
{
    int major, minor, patch;
    zmq_version(&major, &minor, &patch);
    printf("zmq_version %d.%d.%d\n", major, minor, patch);
    printf("has draft %d\n", zmq_has("draft"));
#ifdef ZMQ_BUILD_DRAFT_API
    void *poller = zmq_poller_new();
    printf("draft poller %s\n", poller ? "ok" : "failed");
    zmq_poller_destroy(&poller);
#endif

    void *ctx = zmq_ctx_new();
    void *rep = zmq_socket(ctx, ZMQ_REP);
    void *req = zmq_socket(ctx, ZMQ_REQ);
    char endpoint[256];
    size_t size = sizeof endpoint;
    char buf[16] = "";
    if (!check(zmq_bind(rep, "tcp://127.0.0.1:*") == 0, "bind")
        || !check(zmq_getsockopt(rep, ZMQ_LAST_ENDPOINT, endpoint, &size) == 0, "endpoint")
        || !check(zmq_connect(req, endpoint) == 0, "connect")
        || !check(zmq_send(req, "ping", 4, 0) == 4, "send")
        || !check(zmq_recv(rep, buf, sizeof buf - 1, 0) == 4, "recv")
        || !check(zmq_send(rep, "pong", 4, 0) == 4, "reply")
        || !check(zmq_recv(req, buf, sizeof buf - 1, 0) == 4, "recv reply"))
        return 1;
    printf("reqrep %s\n", buf);
    zmq_close(req);
    zmq_close(rep);
    zmq_ctx_term(ctx);

    /* Which file the dynamic linker mapped as libzmq (none when static). */
    FILE *maps = fopen("/proc/self/maps", "r");
    char line[4096], last[4096] = "";
    while (maps && fgets(line, sizeof line, maps)) {
        char *path = strchr(line, '/');
        if (!path || !strstr(path, "libzmq"))
            continue;
        path[strcspn(path, "\n")] = 0;
        if (strcmp(path, last) != 0)
            printf("mapped %s\n", path);
        snprintf(last, sizeof last, "%s", path);
    }
    if (maps)
        fclose(maps);
    return 0;
}
