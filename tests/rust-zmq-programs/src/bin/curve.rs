//! CURVE security (the Guide's "ironhouse" idea without ZAP): the server
//! knows its key pair, the client knows the server's public key and its
//! own pair; everything on the wire is encrypted. A client with the wrong
//! server key gets no answer.

fn main() {
    if zmq::has("curve") != Some(true) {
        // rust-zmq 0.10's own libzmq is built without CURVE.
        println!("CURVE is not available");
        return;
    }
    let server_pair = zmq::CurveKeyPair::new().unwrap();
    let client_pair = zmq::CurveKeyPair::new().unwrap();
    let server_key_text = zmq::z85_encode(&server_pair.public_key).unwrap();
    println!(
        "server public key: {} characters of Z85",
        server_key_text.len()
    );
    assert_eq!(
        zmq::z85_decode(&server_key_text).unwrap(),
        server_pair.public_key
    );

    let context = zmq::Context::new();

    let server = context.socket(zmq::REP).unwrap();
    server.set_curve_server(true).unwrap();
    server.set_curve_secretkey(&server_pair.secret_key).unwrap();
    server.bind("tcp://127.0.0.1:*").unwrap();
    let endpoint = server.get_last_endpoint().unwrap().unwrap();
    assert!(server.is_curve_server().unwrap());
    assert_eq!(server.get_mechanism().unwrap(), zmq::Mechanism::ZMQ_CURVE);

    let client = context.socket(zmq::REQ).unwrap();
    // The Z85 text form works for keys as well as the 32 raw bytes.
    client
        .set_curve_serverkey(server_key_text.as_bytes())
        .unwrap();
    client.set_curve_publickey(&client_pair.public_key).unwrap();
    client.set_curve_secretkey(&client_pair.secret_key).unwrap();
    assert_eq!(
        client.get_curve_serverkey().unwrap(),
        server_pair.public_key
    );
    assert_eq!(client.get_mechanism().unwrap(), zmq::Mechanism::ZMQ_CURVE);
    client.connect(&endpoint).unwrap();

    client.send("secret hello", 0).unwrap();
    let mut request = server.recv_msg(0).unwrap();
    println!("server got: {}", request.as_str().unwrap());
    // The Socket-Type property comes from the encrypted handshake.
    println!(
        "client socket type: {}",
        request.gets("Socket-Type").unwrap()
    );
    server.send("secret world", 0).unwrap();
    println!("client got: {}", client.recv_string(0).unwrap().unwrap());

    // The wrong server key: the handshake fails, the request is never answered.
    let impostor_pair = zmq::CurveKeyPair::new().unwrap();
    let mallory = context.socket(zmq::REQ).unwrap();
    mallory
        .set_curve_serverkey(&impostor_pair.public_key)
        .unwrap();
    mallory
        .set_curve_publickey(&client_pair.public_key)
        .unwrap();
    mallory
        .set_curve_secretkey(&client_pair.secret_key)
        .unwrap();
    mallory.set_linger(0).unwrap();
    mallory.connect(&endpoint).unwrap();
    mallory.send("let me in", 0).unwrap();
    let answered = mallory.poll(zmq::POLLIN, 300).unwrap();
    println!("wrong server key answered: {}", answered != 0);
    assert_eq!(server.poll(zmq::POLLIN, 0).unwrap(), 0);
}
