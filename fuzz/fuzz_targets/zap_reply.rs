//! ZAP replies: a server engine (NULL with a ZAP domain, PLAIN or CURVE)
//! runs a real handshake with a client engine until it asks its ZAP
//! handler; the fuzz bytes are the handler's reply frames. The handshake
//! then goes on as far as the reply lets it.
//! Input: [mechanism and socket type][frames: hdr (bit 7 MORE, bits 0-6 length), bytes].
#![no_main]
use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use zmqrs::zmtp::engine::{Engine, EngineEvent};
use zmqrs_fuzz::*;

fuzz_target!(|data: &[u8]| {
    let [sel, reply @ ..] = data else {
        return;
    };
    let mech = zap_mech(*sel);
    let t = SOCKET_TYPES[usize::from((sel >> 2) & 0x0f)];
    let now = Instant::now();
    let mut server = Engine::new(
        engine_config(mech, config_byte(true, t, sel & 0x40 != 0, false, true)),
        now,
    );
    let mut client = Engine::new(
        engine_config(mech, config_byte(false, peer_type(t), false, false, false)),
        now,
    );
    // Run the handshake until the server's ZAP request comes up.
    let mut asked = false;
    for _ in 0..16 {
        let c_out = client.take_output();
        if server.feed(&c_out, now).is_err() {
            return;
        }
        while let Some(ev) = server.poll_event() {
            if let EngineEvent::ZapRequest(_) = ev {
                asked = true;
            }
        }
        let s_out = server.take_output();
        if asked {
            let _ = client.feed(&s_out, now);
            break;
        }
        if client.feed(&s_out, now).is_err() {
            return;
        }
    }
    if !asked {
        return;
    }
    let frames = parse_frames(reply);
    if server.zap_reply(&frames, now).is_err() {
        return;
    }
    pump(&mut server, &mut client, now, 16, ZapAnswer::None);
});
