//! Weather update proxy (the Guide's wuproxy), steerable: an XSUB frontend
//! connected to the publisher, an XPUB backend for subscribers, a capture
//! socket that sees every message, and a control socket that stops the
//! proxy with TERMINATE (`zmq::proxy_steerable_with_capture`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

fn main() {
    let context = zmq::Context::new();

    // The weather server.
    let publisher = context.socket(zmq::PUB).unwrap();
    publisher.bind("tcp://127.0.0.1:*").unwrap();
    let weather_ep = publisher.get_last_endpoint().unwrap().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = stop.clone();
    let server = thread::spawn(move || {
        let mut seed: u32 = 1;
        while !stopped.load(Ordering::Acquire) {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let zipcode = 10000 + (seed >> 16) % 3;
            let temperature = (seed >> 8) % 80;
            let relhumidity = seed % 50 + 10;
            let update = format!("{:05} {} {}", zipcode, temperature, relhumidity);
            publisher.send(&update, 0).unwrap();
            thread::sleep(Duration::from_millis(1));
        }
    });

    // The proxy, in its own thread.
    let mut frontend = context.socket(zmq::XSUB).unwrap();
    frontend.connect(&weather_ep).unwrap();
    let mut backend = context.socket(zmq::XPUB).unwrap();
    backend.bind("tcp://127.0.0.1:*").unwrap();
    let proxy_ep = backend.get_last_endpoint().unwrap().unwrap();
    let mut capture = context.socket(zmq::PUSH).unwrap();
    capture.bind("inproc://capture").unwrap();
    let mut control = context.socket(zmq::PAIR).unwrap();
    control.bind("inproc://control").unwrap();
    let proxy = thread::spawn(move || {
        zmq::proxy_steerable_with_capture(&mut frontend, &mut backend, &mut capture, &mut control)
    });

    let captured = context.socket(zmq::PULL).unwrap();
    captured.connect("inproc://capture").unwrap();

    // A weather client, through the proxy.
    let subscriber = context.socket(zmq::SUB).unwrap();
    subscriber.connect(&proxy_ep).unwrap();
    subscriber.set_subscribe(b"10001 ").unwrap();
    let mut total_temp = 0;
    for _ in 0..5 {
        let update = subscriber.recv_string(0).unwrap().unwrap();
        let fields: Vec<i64> = update.split(' ').map(|f| f.parse().unwrap()).collect();
        assert_eq!(fields[0], 10001);
        total_temp += fields[1];
    }
    println!(
        "Average temperature for zipcode '10001' was {}F",
        total_temp / 5
    );

    // The capture socket saw traffic (subscriptions and updates).
    let first = captured.recv_msg(0).unwrap();
    println!("capture saw a {}-byte message", first.len());

    // libzmq 4.3.5 answers each command with an empty message, 4.3.4 does
    // not: a PAIR control socket need not care.
    let controller = context.socket(zmq::PAIR).unwrap();
    controller.connect("inproc://control").unwrap();
    controller.send("TERMINATE", 0).unwrap();
    println!("proxy terminated: {:?}", proxy.join().unwrap());

    stop.store(true, Ordering::Release);
    server.join().unwrap();
}
