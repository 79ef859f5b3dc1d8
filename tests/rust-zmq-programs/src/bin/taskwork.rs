//! Task worker with a kill signal (the Guide's taskwork2): pulls tasks from
//! the ventilator, "works" for the given milliseconds, pushes an empty
//! result to the sink; a "KILL" from the sink's publisher ends it. Both
//! inputs are watched with `zmq::poll`.
//!
//! Usage: `taskwork <ventilator endpoint> <sink endpoint> <control endpoint>`

use std::env;
use std::io::Write;
use std::thread;
use std::time::Duration;

fn main() {
    let args: Vec<String> = env::args().collect();
    if args.len() != 4 {
        panic!("usage: taskwork <ventilator> <sink> <control>");
    }
    let context = zmq::Context::new();

    let receiver = context.socket(zmq::PULL).unwrap();
    assert!(receiver.connect(&args[1]).is_ok());

    let sender = context.socket(zmq::PUSH).unwrap();
    assert!(sender.connect(&args[2]).is_ok());

    let controller = context.socket(zmq::SUB).unwrap();
    controller.connect(&args[3]).unwrap();
    controller.set_subscribe(b"").unwrap();

    println!("worker ready");
    std::io::stdout().flush().unwrap();

    let mut tasks = 0;
    let mut items = [
        receiver.as_poll_item(zmq::POLLIN),
        controller.as_poll_item(zmq::POLLIN),
    ];
    loop {
        zmq::poll(&mut items, -1).unwrap();
        if items[0].is_readable() {
            let workload = receiver.recv_string(0).unwrap().unwrap();
            let msec: u64 = workload.parse().expect("a workload in msec");
            thread::sleep(Duration::from_millis(msec));
            sender.send("", 0).unwrap();
            tasks += 1;
        }
        if items[1].is_readable() {
            let signal = controller.recv_msg(0).unwrap();
            if &signal[..] == b"KILL" {
                break;
            }
        }
    }
    println!("worker killed after {} tasks", tasks);
}
