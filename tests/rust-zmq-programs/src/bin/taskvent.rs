//! Task ventilator (the Guide's taskvent): binds a PUSH socket, waits for
//! Enter (the workers are connected), tells the sink a batch starts, then
//! sends 100 tasks, each a workload in milliseconds.
//!
//! Usage: `taskvent <sink endpoint>`. Prints the endpoint workers connect to.

use std::env;
use std::io::{self, BufRead, Write};

fn main() {
    let sink_endpoint = env::args().nth(1).expect("usage: taskvent <sink endpoint>");

    let context = zmq::Context::new();
    let sender = context.socket(zmq::PUSH).unwrap();
    assert!(sender.bind("tcp://127.0.0.1:*").is_ok());
    println!("tasks on {}", sender.get_last_endpoint().unwrap().unwrap());

    let sink = context.socket(zmq::PUSH).unwrap();
    assert!(sink.connect(&sink_endpoint).is_ok());

    println!("Press Enter when the workers are ready: ");
    io::stdout().flush().unwrap();
    let mut line = String::new();
    io::stdin().lock().read_line(&mut line).unwrap();
    println!("Sending tasks to workers...");

    // The first message is "0" and signals the start of the batch.
    sink.send("0", 0).unwrap();

    // A small deterministic spread of workloads (1 to 10 msec).
    let mut seed: u32 = 17;
    let mut total_msec = 0;
    for _ in 0..100 {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let workload = (seed >> 16) % 10 + 1;
        total_msec += workload;
        let workload_str = format!("{}", workload);
        sender.send(&workload_str, 0).unwrap();
    }
    println!("Total expected cost: {} msec", total_msec);
}
