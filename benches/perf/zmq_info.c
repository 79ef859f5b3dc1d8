/* zmq_info: report which libzmq.so.5 the dynamic loader picked.
 *
 *     zmq_info
 * prints "zmq version: X.Y.Z", "library: <path of the mapped libzmq>" and
 * the zmq_has() capabilities. The benchmark runner uses it to check that
 * LD_LIBRARY_PATH really selects the library it means to measure, and to
 * record library versions next to the results.
 */
#include <zmq.h>
#include <stdio.h>
#include <string.h>

static void print_library_path (void)
{
    char line[4096];
    FILE *maps = fopen ("/proc/self/maps", "r");
    if (maps == NULL) {
        printf ("library: unknown\n");
        return;
    }
    while (fgets (line, sizeof line, maps) != NULL) {
        const char *path = strchr (line, '/');
        if (path != NULL && strstr (path, "libzmq") != NULL) {
            printf ("library: %s", path); /* path keeps its newline */
            fclose (maps);
            return;
        }
    }
    fclose (maps);
    printf ("library: unknown\n");
}

int main (void)
{
    static const char *const caps[] = {"ipc",  "pgm",   "tipc", "norm",
                                       "curve", "gssapi", "draft"};
    int major, minor, patch;
    zmq_version (&major, &minor, &patch);
    printf ("zmq version: %d.%d.%d\n", major, minor, patch);
    print_library_path ();
    printf ("capabilities:");
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++)
        if (zmq_has (caps[i]))
            printf (" %s", caps[i]);
    printf ("\n");
    return 0;
}
