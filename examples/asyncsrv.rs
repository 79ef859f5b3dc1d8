// Asynchronous client/server (ZeroMQ Guide, chapter 3): DEALER clients,
// a ROUTER frontend joined to a DEALER backend by a proxy, and a pool of
// DEALER workers that answer each request with any number of replies,
// whenever they like.
//
// Each client sends its requests without waiting and polls for replies in
// between; the ROUTER prefixes each request with the client's routing id,
// the workers send it back in front of each reply, and the ROUTER uses it to
// route the reply. Nothing is in lockstep: that is what DEALER and ROUTER
// are for.
//
// Run with `cargo run --example asyncsrv`. Worker w answers request n with
// n % 3 + 1 replies, so every client knows how many replies to wait for; it
// ends once every client has all of them.

use std::thread;
use std::time::Duration;

const NBR_CLIENTS: usize = 3;
const NBR_WORKERS: usize = 5;
const REQUESTS: usize = 5;

/// How many replies request `n` gets.
fn replies_for(n: usize) -> usize {
    n % 3 + 1
}

fn client_task(ctx: zmqrs::Context, endpoint: String, name: String) -> usize {
    let client = ctx.socket(zmqrs::DEALER).expect("client socket");
    client.set_identity(name.as_bytes()).expect("client id");
    client.connect(&endpoint).expect("client connect");

    let expected: usize = (0..REQUESTS).map(replies_for).sum();
    let mut received = 0;
    let mut sent = 0;
    while received < expected {
        if sent < REQUESTS {
            client
                .send(format!("request #{sent}"), 0)
                .expect("client send");
            sent += 1;
        }
        // Collect whatever replies came in during a short while.
        while client.poll(zmqrs::POLLIN, 10).expect("client poll") > 0 {
            let reply = client
                .recv_string(0)
                .expect("client recv")
                .unwrap_or_default();
            println!("{name} received: {reply}");
            received += 1;
        }
    }
    received
}

fn server_worker(ctx: zmqrs::Context, worker_nbr: usize) {
    // A worker that starts late may find the context terminated already:
    // then it has nothing to do.
    let worker = match ctx.socket(zmqrs::DEALER) {
        Ok(worker) => worker,
        Err(zmqrs::Error::ETERM) => return,
        Err(e) => panic!("worker {worker_nbr}: {e}"),
    };
    match worker.connect("inproc://backend") {
        Ok(()) => {}
        Err(zmqrs::Error::ETERM) => return,
        Err(e) => panic!("worker {worker_nbr}: {e}"),
    }
    loop {
        // [client id][request]: no empty frame between DEALER and ROUTER.
        let identity = match worker.recv_msg(0) {
            Ok(m) => m,
            Err(zmqrs::Error::ETERM) => return,
            Err(e) => panic!("worker {worker_nbr}: {e}"),
        };
        let request = worker
            .recv_string(0)
            .expect("worker recv")
            .unwrap_or_default();
        let n: usize = request
            .trim_start_matches("request #")
            .parse()
            .expect("request number");
        for copy in 0..replies_for(n) {
            thread::sleep(Duration::from_millis(((worker_nbr + copy) % 4) as u64));
            worker
                .send(&identity, zmqrs::SNDMORE)
                .expect("worker id frame");
            worker
                .send(
                    format!("{request} (reply {} by worker {worker_nbr})", copy + 1),
                    0,
                )
                .expect("worker reply");
        }
    }
}

fn main() {
    let mut ctx = zmqrs::Context::new();

    let frontend = ctx.socket(zmqrs::ROUTER).expect("frontend");
    frontend.bind("tcp://127.0.0.1:*").expect("bind frontend");
    let endpoint = frontend
        .get_last_endpoint()
        .expect("endpoint")
        .expect("utf-8");
    let backend = ctx.socket(zmqrs::DEALER).expect("backend");
    backend.bind("inproc://backend").expect("bind backend");

    let workers: Vec<_> = (0..NBR_WORKERS)
        .map(|n| {
            let ctx = ctx.clone();
            thread::spawn(move || server_worker(ctx, n))
        })
        .collect();
    // The proxy runs until the context is terminated.
    let server = thread::spawn(move || zmqrs::proxy(&frontend, &backend));

    let clients: Vec<_> = (0..NBR_CLIENTS)
        .map(|n| {
            let (ctx, ep) = (ctx.clone(), endpoint.clone());
            let name = format!("client-{}", (b'A' + n as u8) as char);
            thread::spawn(move || (name.clone(), client_task(ctx, ep, name)))
        })
        .collect();
    for c in clients {
        let (name, received) = c.join().expect("client thread");
        println!("{name} done: {received} replies");
    }

    ctx.destroy().expect("destroy");
    let ended = server.join().expect("server thread");
    println!("proxy ended: {:?}", ended);
    for w in workers {
        w.join().expect("worker thread");
    }
}
