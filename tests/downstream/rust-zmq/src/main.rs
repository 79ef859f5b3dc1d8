//! REQ/REP and PUB/SUB through the `zmq` crate, then which libzmq the
//! process has mapped: tests/downstream/run checks that it is the
//! installed one.

use std::time::Duration;

fn main() -> Result<(), zmq::Error> {
    let (major, minor, patch) = zmq::version();
    println!("zmq::version {major}.{minor}.{patch}");
    println!("has draft {:?}", zmq::has("draft"));

    let ctx = zmq::Context::new();
    let rep = ctx.socket(zmq::REP)?;
    rep.bind("tcp://127.0.0.1:*")?;
    let endpoint = rep.get_last_endpoint()?.unwrap_or_default();
    let req = ctx.socket(zmq::REQ)?;
    req.connect(&endpoint)?;
    req.send("ping", 0)?;
    let question = rep.recv_string(0)?.unwrap_or_default();
    rep.send(format!("{question} pong").as_str(), 0)?;
    println!("reqrep {}", req.recv_string(0)?.unwrap_or_default());

    let publisher = ctx.socket(zmq::PUB)?;
    publisher.bind("inproc://news")?;
    let subscriber = ctx.socket(zmq::SUB)?;
    subscriber.connect("inproc://news")?;
    subscriber.set_subscribe(b"weather")?;
    // A subscription reaches the publisher asynchronously: publish until
    // the subscriber hears something.
    let mut got = None;
    for _ in 0..100 {
        publisher.send("sport ignored", 0)?;
        publisher.send("weather sunny", 0)?;
        if subscriber.poll(zmq::POLLIN, 50)? > 0 {
            got = subscriber.recv_string(0)?.ok();
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    println!("pubsub {}", got.unwrap_or_default());

    let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
    let mut libs: Vec<&str> = maps
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .filter(|p| p.contains("libzmq"))
        .collect();
    libs.dedup();
    for lib in libs {
        println!("mapped {lib}");
    }
    Ok(())
}
