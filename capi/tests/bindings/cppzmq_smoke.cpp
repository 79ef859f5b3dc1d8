// cppzmq (Debian's cppzmq-dev, header-only) compiled against our include/zmq.h
// and linked to our libzmq.so; run by capi/tests/abi.rs. Prints one line per
// check; a failed check exits non-zero.
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            std::fprintf (stderr, "check failed at line %d: %s\n", __LINE__,   \
                          #cond);                                              \
            std::exit (1);                                                     \
        }                                                                      \
    } while (0)

int main ()
{
    int major, minor, patch;
    zmq_version (&major, &minor, &patch);
    std::printf ("zmq_version %d.%d.%d\n", major, minor, patch);

    zmq::context_t ctx;
    zmq::socket_t router (ctx, zmq::socket_type::router);
    router.set (zmq::sockopt::linger, 0);
    router.bind ("tcp://127.0.0.1:*");
    const std::string ep = router.get (zmq::sockopt::last_endpoint);
    CHECK (ep.rfind ("tcp://127.0.0.1:", 0) == 0);

    zmq::socket_t dealer (ctx, zmq::socket_type::dealer);
    dealer.set (zmq::sockopt::linger, 0);
    dealer.set (zmq::sockopt::routing_id, "dealer-1");
    dealer.connect (ep);

    // Multipart through zmq_addon.hpp.
    std::vector<zmq::const_buffer> parts = {zmq::str_buffer ("a"),
                                            zmq::str_buffer (""),
                                            zmq::str_buffer ("body")};
    CHECK (zmq::send_multipart (dealer, parts));
    std::vector<zmq::message_t> got;
    CHECK (zmq::recv_multipart (router, std::back_inserter (got)));
    CHECK (got.size () == 4);
    CHECK (got[0].to_string () == "dealer-1");
    CHECK (got[3].to_string () == "body");
    CHECK (std::string (got[3].gets ("Socket-Type")) == "DEALER");
    std::printf ("multipart ok\n");

    // Reply, with zmq::poll waiting for it.
    router.send (zmq::buffer (std::string ("dealer-1")), zmq::send_flags::sndmore);
    router.send (zmq::str_buffer ("back"), zmq::send_flags::none);
    zmq::pollitem_t items[] = {{dealer.handle (), 0, ZMQ_POLLIN, 0}};
    CHECK (zmq::poll (items, 1, std::chrono::milliseconds (5000)) == 1);
    zmq::message_t reply;
    CHECK (dealer.recv (reply, zmq::recv_flags::none));
    CHECK (reply.to_string () == "back");
    std::printf ("poll ok\n");

    // Non-blocking receive on nothing: an empty optional, not an exception.
    zmq::message_t none;
    CHECK (!dealer.recv (none, zmq::recv_flags::dontwait));

    // A bad option value raises zmq::error_t with EINVAL.
    bool threw = false;
    try {
        dealer.set (zmq::sockopt::sndhwm, -2);
    }
    catch (const zmq::error_t &e) {
        threw = e.num () == EINVAL;
    }
    CHECK (threw);
    std::printf ("errors ok\n");

    // PUB/SUB over inproc with a string subscription.
    zmq::socket_t pub (ctx, zmq::socket_type::pub);
    pub.bind ("inproc://cppzmq");
    zmq::socket_t sub (ctx, zmq::socket_type::sub);
    sub.set (zmq::sockopt::subscribe, "news");
    sub.connect ("inproc://cppzmq");
    pub.send (zmq::str_buffer ("sports"), zmq::send_flags::none);
    pub.send (zmq::str_buffer ("news today"), zmq::send_flags::none);
    zmq::message_t m;
    CHECK (sub.recv (m, zmq::recv_flags::none));
    CHECK (m.to_string () == "news today");
    std::printf ("pubsub ok\n");

    router.close ();
    dealer.close ();
    pub.close ();
    sub.close ();
    ctx.close ();
    std::printf ("done\n");
    return 0;
}
