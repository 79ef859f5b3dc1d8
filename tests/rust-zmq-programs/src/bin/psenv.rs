//! Pub-sub envelopes (the Guide's psenvpub and psenvsub): the publisher
//! sends two-part messages whose first frame is a key; the subscriber
//! subscribes to key "B" only and reads the key and the contents.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

fn main() {
    let context = zmq::Context::new();

    let publisher = context.socket(zmq::PUB).unwrap();
    publisher.bind("tcp://127.0.0.1:*").expect("bind publisher");
    let endpoint = publisher.get_last_endpoint().unwrap().unwrap();

    let done = Arc::new(AtomicBool::new(false));
    let stop = done.clone();
    let publishing = thread::spawn(move || {
        let mut sent = 0;
        while !stop.load(Ordering::Acquire) {
            // Keys A and B, each followed by its contents.
            publisher.send("A", zmq::SNDMORE).unwrap();
            publisher.send("We don't want to see this", 0).unwrap();
            publisher
                .send_multipart(&["B", "We would like to see this"], 0)
                .unwrap();
            sent += 1;
            thread::sleep(Duration::from_millis(5));
        }
        sent
    });

    let subscriber = context.socket(zmq::SUB).unwrap();
    subscriber.connect(&endpoint).expect("connect subscriber");
    subscriber.set_subscribe(b"B").expect("subscribe");

    for _ in 0..5 {
        let address = subscriber.recv_string(0).unwrap().unwrap();
        assert!(subscriber.get_rcvmore().unwrap());
        let contents = subscriber.recv_string(0).unwrap().unwrap();
        println!("[{}] {}", address, contents);
    }
    done.store(true, Ordering::Release);
    let sent = publishing.join().unwrap();
    assert!(sent >= 5);
    println!("publisher stopped");
}
