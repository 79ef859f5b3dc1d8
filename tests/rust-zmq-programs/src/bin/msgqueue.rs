//! Shared queue (the Guide's msgqueue with rrclient and rrworker): a ROUTER
//! frontend and a DEALER backend joined by `zmq::proxy`; REQ clients on one
//! side, REP workers on the other. Terminating the context ends the proxy
//! (with ETERM) and the workers.

use std::thread;

fn worker(context: zmq::Context, endpoint: &str, worker_nbr: usize) -> usize {
    // A worker that starts after the context began to terminate ends at
    // once: socket() and connect() give ETERM then, as in libzmq.
    let responder = match context.socket(zmq::REP) {
        Ok(s) => s,
        Err(zmq::Error::ETERM) => return 0,
        Err(e) => panic!("worker {}: {}", worker_nbr, e),
    };
    match responder.connect(endpoint) {
        Ok(()) => {}
        Err(zmq::Error::ETERM) => return 0,
        Err(e) => panic!("worker {} connects: {}", worker_nbr, e),
    }
    let mut served = 0;
    loop {
        let request = match responder.recv_string(0) {
            Ok(request) => request.unwrap(),
            Err(zmq::Error::ETERM) => return served,
            Err(e) => panic!("worker {}: {}", worker_nbr, e),
        };
        assert_eq!(request, "Hello");
        responder.send("World", 0).unwrap();
        served += 1;
    }
}

fn main() {
    let mut context = zmq::Context::new();

    let frontend = context.socket(zmq::ROUTER).unwrap();
    frontend.bind("tcp://127.0.0.1:*").expect("bind frontend");
    let frontend_ep = frontend.get_last_endpoint().unwrap().unwrap();
    let backend = context.socket(zmq::DEALER).unwrap();
    backend.bind("inproc://workers").expect("bind backend");

    let queue = thread::spawn(move || zmq::proxy(&frontend, &backend));

    let workers: Vec<_> = (0..2)
        .map(|worker_nbr| {
            let ctx = context.clone();
            thread::spawn(move || worker(ctx, "inproc://workers", worker_nbr))
        })
        .collect();

    let requester = context.socket(zmq::REQ).unwrap();
    requester.connect(&frontend_ep).expect("client connects");
    for request_nbr in 0..10 {
        requester.send("Hello", 0).unwrap();
        let reply = requester.recv_string(0).unwrap().unwrap();
        println!("Received reply {} [{}]", request_nbr, reply);
    }
    drop(requester);

    context.destroy().unwrap();
    let ended = queue.join().unwrap();
    println!("proxy ended: {}", ended.unwrap_err());
    let served: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
    println!("workers served {} requests", served);
}
