//! Hello World server (the Guide's hwserver): binds a REP socket, answers
//! "World" to each "Hello".
//!
//! Usage: `hwserver [endpoint] [requests]`. The endpoint defaults to
//! tcp://127.0.0.1:* (a free port); the first line printed is the endpoint
//! clients should connect to. The server stops after `requests` (10).

use std::env;
use std::io::Write;
use std::thread;
use std::time::Duration;

fn main() {
    let mut args = env::args().skip(1);
    let endpoint = args
        .next()
        .unwrap_or_else(|| "tcp://127.0.0.1:*".to_string());
    let requests: usize = args
        .next()
        .map_or(10, |n| n.parse().expect("a request count"));

    let context = zmq::Context::new();
    let responder = context.socket(zmq::REP).unwrap();
    assert!(responder.bind(&endpoint).is_ok());
    let bound = responder.get_last_endpoint().unwrap().unwrap();
    println!("listening on {}", bound);
    std::io::stdout().flush().unwrap();

    let mut msg = zmq::Message::new();
    for _ in 0..requests {
        responder.recv(&mut msg, 0).unwrap();
        println!("Received {}", msg.as_str().unwrap());
        // Do some 'work'.
        thread::sleep(Duration::from_millis(5));
        responder.send("World", 0).unwrap();
    }
}
