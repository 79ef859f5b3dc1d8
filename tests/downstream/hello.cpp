// A cppzmq program (Debian's cppzmq-dev, header-only), built by
// tests/downstream/run with CMake's find_package(cppzmq), which finds
// ZeroMQ through the installed ZeroMQConfig.cmake.
#include <zmq.hpp>

#include <fstream>
#include <iostream>
#include <string>
#include <tuple>

static_assert(ZMQ_VERSION == ZMQ_MAKE_VERSION(4, 3, 5), "the installed zmq.h (libzmq 4.3.5)");

int main()
{
    const auto v = zmq::version();
    std::cout << "zmq::version " << std::get<0>(v) << '.' << std::get<1>(v) << '.'
              << std::get<2>(v) << '\n';
    zmq::context_t ctx;
    zmq::socket_t rep(ctx, zmq::socket_type::rep);
    rep.bind("tcp://127.0.0.1:*");
    zmq::socket_t req(ctx, zmq::socket_type::req);
    req.connect(rep.get(zmq::sockopt::last_endpoint));
    req.send(zmq::str_buffer("ping"), zmq::send_flags::none);
    zmq::message_t msg;
    if (!rep.recv(msg))
        return 1;
    rep.send(zmq::buffer(msg.to_string() + " pong"), zmq::send_flags::none);
    if (!req.recv(msg))
        return 1;
    std::cout << "reqrep " << msg.to_string() << '\n';

    std::ifstream maps("/proc/self/maps");
    std::string line, last;
    while (std::getline(maps, line)) {
        const auto slash = line.find('/');
        if (slash == std::string::npos || line.find("libzmq", slash) == std::string::npos)
            continue;
        const auto path = line.substr(slash);
        if (path != last)
            std::cout << "mapped " << path << '\n';
        last = path;
    }
    return 0;
}
