//! Task sink with a kill signal (the Guide's tasksink2): collects the 100
//! results of a batch, then publishes "KILL" to the workers.
//!
//! The control socket is an XPUB, so that the sink can report each
//! worker's subscription (no KILL is lost to a slow joiner). Prints its two
//! endpoints first.

use std::io::Write;
use std::time::Instant;

fn main() {
    let context = zmq::Context::new();

    let receiver = context.socket(zmq::PULL).unwrap();
    assert!(receiver.bind("tcp://127.0.0.1:*").is_ok());
    let controller = context.socket(zmq::XPUB).unwrap();
    // Every worker subscribes to everything: pass each of them up.
    controller.set_xpub_verbose(true).unwrap();
    assert!(controller.bind("tcp://127.0.0.1:*").is_ok());
    println!(
        "results on {}",
        receiver.get_last_endpoint().unwrap().unwrap()
    );
    println!(
        "control on {}",
        controller.get_last_endpoint().unwrap().unwrap()
    );
    std::io::stdout().flush().unwrap();

    // Until the batch starts, watch for subscriptions too.
    loop {
        let mut items = [
            receiver.as_poll_item(zmq::POLLIN),
            controller.as_poll_item(zmq::POLLIN),
        ];
        zmq::poll(&mut items, -1).unwrap();
        if items[1].is_readable() {
            let subscription = controller.recv_bytes(0).unwrap();
            if subscription.first() == Some(&1) {
                println!("a worker subscribed");
                std::io::stdout().flush().unwrap();
            }
        }
        if items[0].is_readable() {
            let start = receiver.recv_string(0).unwrap().unwrap();
            assert_eq!(start, "0");
            break;
        }
    }

    let start_time = Instant::now();
    for task_nbr in 0..100 {
        receiver.recv_bytes(0).unwrap();
        if task_nbr % 10 == 0 {
            print!(":");
        } else {
            print!(".");
        }
        std::io::stdout().flush().unwrap();
    }
    println!();
    println!(
        "Total elapsed time: {} msec",
        start_time.elapsed().as_millis()
    );

    controller.send("KILL", 0).unwrap();
}
