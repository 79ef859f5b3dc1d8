// Identities and envelopes (ZeroMQ Guide, chapter 3, "identity"): what a
// ROUTER socket sees of the messages its peers send, and what it must send
// back.
//
// A ROUTER puts the sender's routing id in front of every message it
// receives, and takes the first frame of every message it sends as the
// routing id of the peer to send it to. A REQ socket adds an empty
// delimiter frame in front of its request (and expects one in front of the
// reply); a DEALER adds nothing. A peer that sets no routing id gets one
// made up by the ROUTER: five bytes, a zero and a 32-bit counter.
//
// Run with `cargo run --example identity`.

/// Prints every frame of the next message, as the Guide's s_dump does:
/// text as text, anything else in hex.
fn dump(socket: &zmqrs::Socket) -> Vec<Vec<u8>> {
    println!("----------------------------------------");
    let parts = socket.recv_multipart(0).expect("recv");
    for part in &parts {
        let text = part.iter().all(|&b| (32..127).contains(&b));
        let shown: String = if text {
            String::from_utf8_lossy(part).into_owned()
        } else {
            part.iter().map(|b| format!("{b:02X}")).collect()
        };
        println!("[{:03}] {}", part.len(), shown);
    }
    parts
}

fn main() {
    let ctx = zmqrs::Context::new();
    let sink = ctx.socket(zmqrs::ROUTER).expect("router");
    sink.bind("inproc://example").expect("bind");

    // 1. A REQ with no routing id: the ROUTER makes one up.
    let anonymous = ctx.socket(zmqrs::REQ).expect("req");
    anonymous.connect("inproc://example").expect("connect");
    anonymous
        .send("ROUTER uses a generated 5 byte identity", 0)
        .expect("send");
    let parts = dump(&sink);

    // Replying: the envelope goes back in front, the REQ strips it.
    let mut reply = parts[..2].to_vec();
    reply.push(b"the reply reaches the anonymous REQ".to_vec());
    sink.send_multipart(reply, 0).expect("reply");
    println!(
        "anonymous REQ got: {}",
        anonymous.recv_string(0).expect("recv").unwrap_or_default()
    );

    // 2. A REQ that sets its routing id: the ROUTER uses it.
    let identified = ctx.socket(zmqrs::REQ).expect("req");
    identified.set_identity(b"PEER2").expect("identity");
    identified.connect("inproc://example").expect("connect");
    identified
        .send("ROUTER socket uses REQ's socket identity", 0)
        .expect("send");
    dump(&sink);

    // 3. A DEALER: no empty delimiter, and it may send several frames.
    let dealer = ctx.socket(zmqrs::DEALER).expect("dealer");
    dealer.set_identity(b"DEALER3").expect("identity");
    dealer.connect("inproc://example").expect("connect");
    dealer
        .send_multipart(["DEALER sends no delimiter", "and any number of frames"], 0)
        .expect("send");
    dump(&sink);

    // The routing id is all a ROUTER needs to address a peer.
    sink.send_multipart(["DEALER3", "hello by name"], 0)
        .expect("send by name");
    println!(
        "DEALER got: {}",
        dealer.recv_string(0).expect("recv").unwrap_or_default()
    );
}
