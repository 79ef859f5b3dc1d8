//! Load-balancing broker (the Guide's lbbroker), clients and workers as
//! threads of this process: REQ clients talk to a ROUTER frontend, REQ
//! workers to a ROUTER backend, and the broker hands each request to the
//! least recently used worker, polling the frontend only while a worker is
//! free. Endpoints are ipc files in a private temporary directory. Each
//! client has a context of its own; the workers share the broker's, which
//! it terminates at the end to stop them.

use std::path::PathBuf;
use std::thread;

const NBR_CLIENTS: usize = 10;
const NBR_WORKERS: usize = 3;

fn client_task(frontend: String, client_nbr: usize) {
    let context = zmq::Context::new();
    let client = context.socket(zmq::REQ).unwrap();
    // A printable identity, so that the broker's output is readable.
    let identity = format!("Client{}", client_nbr);
    client.set_identity(identity.as_bytes()).unwrap();
    client.connect(&frontend).expect("client connects");

    client.send("HELLO", 0).expect("client sends");
    let reply = client.recv_string(0).expect("client receives").unwrap();
    println!("Client{}: {}", client_nbr, reply);
}

fn worker_task(context: zmq::Context, backend: String, worker_nbr: usize) {
    let worker = context.socket(zmq::REQ).unwrap();
    let identity = format!("Worker{}", worker_nbr);
    worker.set_identity(identity.as_bytes()).unwrap();
    worker.connect(&backend).expect("worker connects");

    // Tell the broker we're ready for work.
    worker.send("READY", 0).unwrap();

    loop {
        // Envelope: client identity, empty delimiter, request.
        let identity = match worker.recv_string(0) {
            Ok(identity) => identity.unwrap(),
            Err(zmq::Error::ETERM) => return,
            Err(e) => panic!("worker: {}", e),
        };
        let empty = worker.recv_string(0).unwrap().unwrap();
        assert!(empty.is_empty());
        let request = worker.recv_string(0).unwrap().unwrap();
        println!("Worker{}: {} from {}", worker_nbr, request, identity);

        worker.send(&identity, zmq::SNDMORE).unwrap();
        worker.send("", zmq::SNDMORE).unwrap();
        worker.send("OK", 0).unwrap();
    }
}

fn main() {
    let dir: PathBuf = std::env::temp_dir().join(format!("lbbroker-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let frontend_ep = format!("ipc://{}/frontend.ipc", dir.display());
    let backend_ep = format!("ipc://{}/backend.ipc", dir.display());

    let mut context = zmq::Context::new();
    let frontend = context.socket(zmq::ROUTER).unwrap();
    let backend = context.socket(zmq::ROUTER).unwrap();
    frontend.bind(&frontend_ep).expect("bind frontend");
    backend.bind(&backend_ep).expect("bind backend");

    let mut workers = Vec::new();
    for worker_nbr in 0..NBR_WORKERS {
        let ep = backend_ep.clone();
        // Workers share the broker's context, so that terminating it ends them.
        let ctx = context.clone();
        workers.push(thread::spawn(move || worker_task(ctx, ep, worker_nbr)));
    }
    let mut clients = Vec::new();
    for client_nbr in 0..NBR_CLIENTS {
        let ep = frontend_ep.clone();
        clients.push(thread::spawn(move || client_task(ep, client_nbr)));
    }

    // Identities of the workers waiting for a request.
    let mut worker_queue: Vec<String> = Vec::new();
    let mut client_nbr = NBR_CLIENTS;
    while client_nbr > 0 {
        let mut items = [
            backend.as_poll_item(zmq::POLLIN),
            frontend.as_poll_item(zmq::POLLIN),
        ];
        // Poll the frontend only if a worker is free.
        let polled = if worker_queue.is_empty() { 1 } else { 2 };
        zmq::poll(&mut items[..polled], -1).unwrap();

        if items[0].is_readable() {
            // A worker: its identity, then either READY or a client reply.
            let worker_id = backend.recv_string(0).unwrap().unwrap();
            worker_queue.push(worker_id);
            assert!(backend.recv_string(0).unwrap().unwrap().is_empty());
            let client_id = backend.recv_string(0).unwrap().unwrap();
            if client_id != "READY" {
                assert!(backend.recv_string(0).unwrap().unwrap().is_empty());
                let reply = backend.recv_string(0).unwrap().unwrap();
                frontend.send(&client_id, zmq::SNDMORE).unwrap();
                frontend.send("", zmq::SNDMORE).unwrap();
                frontend.send(&reply, 0).unwrap();
                client_nbr -= 1;
            }
        }

        if items[1].is_readable() {
            // A client request goes to the least recently used worker.
            let client_id = frontend.recv_string(0).unwrap().unwrap();
            assert!(frontend.recv_string(0).unwrap().unwrap().is_empty());
            let request = frontend.recv_string(0).unwrap().unwrap();

            let worker_id = worker_queue.remove(0);
            backend
                .send_multipart(&[worker_id.as_str(), "", &client_id, "", &request], 0)
                .unwrap();
        }
    }

    for client in clients {
        client.join().unwrap();
    }
    // The workers wait for more work: terminating the context ends them.
    drop(frontend);
    drop(backend);
    context.destroy().unwrap();
    println!("broker done, {} requests served", NBR_CLIENTS);
    std::fs::remove_dir_all(&dir).ok();
    for worker in workers {
        worker.join().unwrap();
    }
}
