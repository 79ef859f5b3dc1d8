// Load-balancing broker (ZeroMQ Guide, chapter 3), clients and workers as
// threads of one process.
//
// REQ clients talk to the broker's ROUTER frontend; REQ workers connect to
// its ROUTER backend and announce themselves with "READY". The broker keeps
// the workers that are free in a queue and hands each client request to the
// one that has waited longest; it polls the frontend only while a worker is
// free, so requests wait in the clients' queues instead of the broker's.
//
// Run with `cargo run --example lbbroker`. It ends once every client has its
// reply: terminating the context then stops the workers.

use std::collections::VecDeque;
use std::thread;

const NBR_CLIENTS: usize = 10;
const NBR_WORKERS: usize = 3;

fn client_task(ctx: zmqrs::Context, client_nbr: usize) {
    let client = ctx.socket(zmqrs::REQ).expect("client socket");
    // A printable routing id makes the broker's view easy to follow.
    client
        .set_identity(format!("Client-{client_nbr}").as_bytes())
        .expect("client id");
    client.connect("inproc://frontend").expect("client connect");
    client.send("HELLO", 0).expect("client send");
    let reply = client.recv_string(0).expect("client recv");
    println!("Client-{client_nbr}: {}", reply.unwrap_or_default());
}

fn worker_task(ctx: zmqrs::Context, worker_nbr: usize) -> usize {
    let worker = ctx.socket(zmqrs::REQ).expect("worker socket");
    worker
        .set_identity(format!("Worker-{worker_nbr}").as_bytes())
        .expect("worker id");
    worker.connect("inproc://backend").expect("worker connect");
    worker.send("READY", 0).expect("worker ready");
    let mut served = 0;
    loop {
        // [client id][empty][request]: the REQ socket removed our own envelope.
        let parts = match worker.recv_multipart(0) {
            Ok(parts) => parts,
            Err(zmqrs::Error::ETERM) => return served,
            Err(e) => panic!("worker: {e}"),
        };
        let [client, empty, request] = <[Vec<u8>; 3]>::try_from(parts).expect("three frames");
        assert!(empty.is_empty());
        assert_eq!(request, b"HELLO");
        served += 1;
        worker
            .send_multipart([client, empty, b"OK".to_vec()], 0)
            .expect("worker reply");
    }
}

fn main() {
    let mut ctx = zmqrs::Context::new();
    let frontend = ctx.socket(zmqrs::ROUTER).expect("frontend");
    let backend = ctx.socket(zmqrs::ROUTER).expect("backend");
    frontend.bind("inproc://frontend").expect("bind frontend");
    backend.bind("inproc://backend").expect("bind backend");

    let workers: Vec<_> = (0..NBR_WORKERS)
        .map(|n| {
            let ctx = ctx.clone();
            thread::spawn(move || worker_task(ctx, n))
        })
        .collect();
    let clients: Vec<_> = (0..NBR_CLIENTS)
        .map(|n| {
            let ctx = ctx.clone();
            thread::spawn(move || client_task(ctx, n))
        })
        .collect();

    let mut free_workers: VecDeque<Vec<u8>> = VecDeque::new();
    let mut replies_left = NBR_CLIENTS;
    // The broker also waits for every worker's READY: a worker that started
    // after the last reply would otherwise meet a terminated context while
    // setting up its socket.
    let mut workers_unseen = NBR_WORKERS;
    while replies_left > 0 || workers_unseen > 0 {
        let mut items = [
            backend.as_poll_item(zmqrs::POLLIN),
            frontend.as_poll_item(zmqrs::POLLIN),
        ];
        let polled = if free_workers.is_empty() { 1 } else { 2 };
        zmqrs::poll(&mut items[..polled], -1).expect("poll");

        if items[0].is_readable() {
            // [worker id][empty][READY] or [worker id][empty][client id][empty][reply]
            let mut parts = backend.recv_multipart(0).expect("backend recv");
            let worker_id = parts.remove(0);
            free_workers.push_back(worker_id.clone());
            if parts.len() == 2 {
                workers_unseen -= 1;
            } else {
                let client_id = parts.remove(1);
                println!(
                    "broker: {} answered {}",
                    String::from_utf8_lossy(&worker_id),
                    String::from_utf8_lossy(&client_id)
                );
                let reply = parts.pop().unwrap_or_default();
                frontend
                    .send_multipart([client_id, Vec::new(), reply], 0)
                    .expect("frontend send");
                replies_left -= 1;
            }
        }
        if items[1].is_readable() {
            // [client id][empty][request] goes to the longest-waiting worker.
            let request = frontend.recv_multipart(0).expect("frontend recv");
            if let Some(worker_id) = free_workers.pop_front() {
                let mut routed = vec![worker_id, Vec::new()];
                routed.extend(request);
                backend.send_multipart(routed, 0).expect("backend send");
            }
        }
    }

    for c in clients {
        c.join().expect("client thread");
    }
    drop((frontend, backend));
    // The workers block in recv: terminating the context wakes them with ETERM.
    ctx.destroy().expect("destroy");
    let served: Vec<usize> = workers
        .into_iter()
        .map(|w| w.join().expect("worker"))
        .collect();
    println!(
        "served per worker: {served:?}, total {}",
        served.iter().sum::<usize>()
    );
}
