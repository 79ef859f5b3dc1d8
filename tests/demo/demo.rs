//! A small tour of the Rust API: REQ/REP and PUSH/PULL over inproc, tcp
//! and ipc. Run with `cargo run --release --example demo`.

use zmqrs::{Context, SocketType};

fn main() -> Result<(), zmqrs::Error> {
    let ctx = Context::new();
    let ipc = format!("ipc:///tmp/zmqrs-demo-{}", std::process::id());
    for ep in ["inproc://demo", "tcp://127.0.0.1:*", ipc.as_str()] {
        // Request-reply.
        let rep = ctx.socket(SocketType::REP)?;
        rep.bind(ep)?;
        let bound = rep.last_endpoint()?;
        let req = ctx.socket(SocketType::REQ)?;
        req.connect(&bound)?;
        req.send("ping", 0)?;
        let got = rep.recv_bytes(0)?;
        rep.send("pong", 0)?;
        let reply = req.recv_bytes(0)?;
        println!(
            "rust  REQ/REP   over {:<28} {} -> {}",
            bound,
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&reply)
        );
        drop((req, rep));

        // Pipeline.
        let pull = ctx.socket(SocketType::PULL)?;
        let ep2 = if ep.starts_with("inproc") {
            "inproc://demo-pipe"
        } else {
            ep
        };
        pull.bind(ep2)?;
        let bound = pull.last_endpoint()?;
        let push = ctx.socket(SocketType::PUSH)?;
        push.connect(&bound)?;
        for i in 0..3 {
            push.send(format!("task {i}").as_str(), 0)?;
        }
        let mut tasks = Vec::new();
        for _ in 0..3 {
            tasks.push(String::from_utf8_lossy(&pull.recv_bytes(0)?).into_owned());
        }
        println!("rust  PUSH/PULL over {:<28} {}", bound, tasks.join(", "));
    }
    Ok(())
}
