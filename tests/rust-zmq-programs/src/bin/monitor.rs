//! Socket monitoring: a REP server reports its connection events to a PAIR
//! socket, a REQ client comes and goes, and the events are decoded with
//! `zmq::SocketEvent`.

use std::io::Write;

/// One event off the monitor socket: the event and its endpoint.
fn next_event(monitor: &zmq::Socket) -> zmq::Result<(zmq::SocketEvent, String)> {
    let msg = monitor.recv_msg(0)?;
    let event = u16::from_ne_bytes([msg[0], msg[1]]);
    assert!(monitor.get_rcvmore()?, "an event has two frames");
    let endpoint = monitor.recv_string(0)?.unwrap();
    Ok((zmq::SocketEvent::from_raw(event), endpoint))
}

fn main() {
    let context = zmq::Context::new();

    let server = context.socket(zmq::REP).unwrap();
    server
        .monitor("inproc://monitor.server", zmq::SocketEvent::ALL as i32)
        .unwrap();
    let monitor = context.socket(zmq::PAIR).unwrap();
    monitor.set_rcvtimeo(10_000).unwrap();
    monitor.connect("inproc://monitor.server").unwrap();

    server.bind("tcp://127.0.0.1:*").unwrap();
    let endpoint = server.get_last_endpoint().unwrap().unwrap();

    let client = context.socket(zmq::REQ).unwrap();
    client.connect(&endpoint).unwrap();
    client.send("ping", 0).unwrap();
    server.recv_msg(0).unwrap();
    server.send("pong", 0).unwrap();
    client.recv_msg(0).unwrap();
    drop(client);

    loop {
        let (event, at) = next_event(&monitor).expect("an event within 10 s");
        let same = if at == endpoint {
            "the endpoint"
        } else {
            "another address"
        };
        println!("{:?} on {}", event, same);
        std::io::stdout().flush().unwrap();
        if event == zmq::SocketEvent::DISCONNECTED {
            break;
        }
    }

    // Closing the server ends the monitor with MONITOR_STOPPED.
    drop(server);
    loop {
        let (event, _) = next_event(&monitor).expect("an event within 10 s");
        println!("{:?}", event);
        if event == zmq::SocketEvent::MONITOR_STOPPED {
            break;
        }
    }
}
