//! Hello World client (the Guide's hwclient): connects a REQ socket to the
//! server, sends "Hello" and waits for "World", ten times.
//!
//! Usage: `hwclient <endpoint>`

use std::env;

fn main() {
    let endpoint = env::args().nth(1).expect("usage: hwclient <endpoint>");

    println!("Connecting to hello world server...");
    let context = zmq::Context::new();
    let requester = context.socket(zmq::REQ).unwrap();
    assert!(requester.connect(&endpoint).is_ok());

    let mut msg = zmq::Message::new();
    for request_nbr in 0..10 {
        println!("Sending Hello {}...", request_nbr);
        requester.send("Hello", 0).unwrap();

        requester.recv(&mut msg, 0).unwrap();
        println!("Received {} {}", msg.as_str().unwrap(), request_nbr);
    }
}
