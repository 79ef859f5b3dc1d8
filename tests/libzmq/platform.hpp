/* platform.hpp for building libzmq 4.3.5's own tests (tests/test_*.cpp) outside libzmq's CMake.
 *
 * tests/libzmq/run compiles every test with -DZMQ_CUSTOM_PLATFORM_HPP, so testutil.hpp includes
 * this file instead of libzmq's generated src/platform.hpp.  It holds what libzmq 4.3.5's CMake
 * generates on Linux x86_64 (Debian 12, glibc, drafts on, libsodium, GnuTLS), checked against
 * target/libzmq-ref/platform.hpp produced by tests/libzmq/build-reference.
 *
 * Two groups:
 *  1. Capabilities: the build-time promises that test_capabilities compares with zmq_has(), and
 *     that select whole test cases (ipc, curve, tipc, norm, vmci).  They are PINNED here to what
 *     our library (zmqrs) must provide, so the library is checked against a fixed expectation and
 *     not against itself.  `run --caps LIST` replaces this group (it defines
 *     ZMQ_TESTS_CAPS_OVERRIDE plus the chosen ZMQ_HAVE_* on the command line); `run --reference`
 *     uses the capabilities the reference build was configured with, `run --debian` those of
 *     Debian's libzmq5 4.3.4 (ipc, pgm, tipc, norm, curve, gssapi).
 *  2. Platform facts: what Linux/glibc offers (poller, eventfd, SO_PEERCRED, ...).  These are the
 *     same for every library under test.
 *
 * The draft API (ZMQ_BUILD_DRAFT_API) is on unless `run --no-draft` defines ZMQ_TESTS_NO_DRAFT.
 */
#ifndef __ZMQ_PLATFORM_HPP_INCLUDED__
#define __ZMQ_PLATFORM_HPP_INCLUDED__

/* ---- draft API --------------------------------------------------------------------------------- */
#if !defined ZMQ_TESTS_NO_DRAFT && !defined ZMQ_BUILD_DRAFT_API
#define ZMQ_BUILD_DRAFT_API 1
#endif

/* ---- 1. capabilities (pinned; see above) ------------------------------------------------------- *
 *  zmq_has("ipc")    yes  ZMQ_HAVE_IPC (+ ZMQ_HAVE_STRUCT_SOCKADDR_UN)
 *  zmq_has("curve")  yes  ZMQ_HAVE_CURVE; ZMQ_USE_LIBSODIUM because test_security_curve compiles
 *                         libzmq's own curve_client_tools.hpp against libsodium
 *  zmq_has("draft")  yes  ZMQ_BUILD_DRAFT_API (above)
 *  zmq_has("pgm")    yes  ZMQ_HAVE_OPENPGM     (CMake: WITH_OPENPGM=OFF by default, but Debian's
 *                         libzmq5, which we replace, has it; zmqrs does pgm:// and epgm:// in
 *                         Rust, src/pgm.  Only test_capabilities reads the macro.)
 *  zmq_has("norm")   yes  ZMQ_HAVE_NORM        (CMake: WITH_NORM=OFF by default, but Debian's
 *                         libzmq5 has it; zmqrs runs norm:// on libnorm, loaded at run time, and
 *                         tests/setup installs libnorm1.  test_capabilities and test_pubsub read
 *                         the macro; the run's namespace has a multicast route for test_pubsub.)
 *  zmq_has("vmci")   no   ZMQ_HAVE_VMCI        (CMake: WITH_VMCI=OFF by default)
 *  zmq_has("gssapi") no   HAVE_LIBGSSAPI_KRB5  (CMake 4.3.5 cannot build GSSAPI at all)
 *  zmq_has("tipc")   no   ZMQ_HAVE_TIPC        (CMake turns it on whenever <linux/tipc.h> exists,
 *                         but the TIPC kernel module is rarely loaded; zmqrs does not do TIPC.
 *                         The 9 TIPC tests are still built and run: without TIPC, 7 exit 77
 *                         and test_router_mandatory_tipc / test_term_endpoint_tipc ignore
 *                         their case (TEST_IGNORE) and pass.)
 *  ws / wss          yes  ZMQ_HAVE_WS, ZMQ_HAVE_WSS: libzmq's CMake on Linux enables ws whenever
 *                         drafts are on, and wss when GnuTLS >= 3.6.7 is found (it is, on Debian 12
 *                         with libgnutls28-dev).  No test reads these two macros and
 *                         test_capabilities does not ask zmq_has("ws"/"wss"); test_ws_transport and
 *                         test_wss_transport are built and run in every draft build (the wss test
 *                         needs the draft ZMQ_WSS_* options in zmq.h, else it skips itself).
 *                         So the drop-in target is: ws and wss both work, as in the reference.
 */
#if !defined ZMQ_TESTS_CAPS_OVERRIDE
#define ZMQ_HAVE_IPC
#define ZMQ_HAVE_STRUCT_SOCKADDR_UN
#define ZMQ_HAVE_CURVE
#define ZMQ_USE_LIBSODIUM
#define ZMQ_HAVE_WS
#define ZMQ_HAVE_WSS
#define ZMQ_HAVE_OPENPGM
#define ZMQ_HAVE_NORM
/* not defined: ZMQ_HAVE_TIPC ZMQ_HAVE_VMCI HAVE_LIBGSSAPI_KRB5 */
#endif

/* ---- 2. platform facts (Linux, glibc; as libzmq's CMake detects them) --------------------------- */
#define ZMQ_USE_CV_IMPL_STL11
#define ZMQ_IOTHREAD_POLLER_USE_EPOLL
#define ZMQ_IOTHREAD_POLLER_USE_EPOLL_CLOEXEC
#define ZMQ_HAVE_PPOLL
#define ZMQ_POLL_BASED_ON_POLL
#define HAVE_POSIX_MEMALIGN 1
#define ZMQ_CACHELINE_SIZE 64
#define HAVE_FORK
#define HAVE_CLOCK_GETTIME
#define HAVE_MKDTEMP
#define ZMQ_HAVE_UIO
#define ZMQ_HAVE_NOEXCEPT
#define ZMQ_HAVE_EVENTFD
#define ZMQ_HAVE_EVENTFD_CLOEXEC
#define ZMQ_HAVE_IFADDRS
#define ZMQ_HAVE_SO_BINDTODEVICE
#define ZMQ_HAVE_SO_PEERCRED
#define ZMQ_HAVE_BUSY_POLL
#define ZMQ_HAVE_O_CLOEXEC
#define ZMQ_HAVE_SOCK_CLOEXEC
#define ZMQ_HAVE_SO_KEEPALIVE
#define ZMQ_HAVE_SO_PRIORITY
#define ZMQ_HAVE_TCP_KEEPCNT
#define ZMQ_HAVE_TCP_KEEPIDLE
#define ZMQ_HAVE_TCP_KEEPINTVL
/* ZMQ_HAVE_TCP_KEEPALIVE is the macOS/BSD TCP_KEEPALIVE option: never defined on Linux (libzmq's
 * CMake check fails there too; Linux uses TCP_KEEPIDLE).  No test reads it. */
#define ZMQ_HAVE_PTHREAD_SETNAME_2
#define ZMQ_HAVE_PTHREAD_SET_AFFINITY
#define HAVE_ACCEPT4
#define HAVE_STRNLEN
#define HAVE_IF_NAMETOINDEX
/* ZMQ_HAVE_LOCAL_PEERCRED is the BSD LOCAL_PEERCRED option: not on Linux (test_filter_ipc then uses
 * SO_PEERCRED).  ZMQ_HAVE_LIBBSD / ZMQ_HAVE_STRLCPY, ZMQ_USE_GNUTLS, ZMQ_USE_RADIX_TREE are
 * internal choices of libzmq's implementation that no test reads; left undefined. */

/* ZMQ_HAVE_SO_BINDTODEVICE, ZMQ_HAVE_SO_PRIORITY, ZMQ_HAVE_O_CLOEXEC: Linux has them, but libzmq
 * 4.3.5's CMake run-checks compile with -std=c11 (no _GNU_SOURCE), so glibc hides the constants and
 * the reference build ends up without them (its ZMQ_PRIORITY/ZMQ_BINDTODEVICE options are stored but
 * not applied to the socket).  Defined here all the same: the only test reading one of them is
 * test_setsockopt (ZMQ_HAVE_SO_PRIORITY: a get/set round trip of the draft ZMQ_PRIORITY option,
 * which the reference passes too), so this only adds coverage. */

#if defined __linux__
#define ZMQ_HAVE_LINUX
#endif

#endif
