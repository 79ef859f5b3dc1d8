//! Z85 decoding (CURVE keys in options, zmq_z85_decode): whatever decodes
//! must encode back to the same text, and any 4-byte-aligned data must
//! survive encode then decode.
#![no_main]
use libfuzzer_sys::fuzz_target;
use zmqrs::util::z85;

fuzz_target!(|data: &[u8]| {
    if let Some(bin) = z85::decode(data) {
        assert_eq!(bin.len(), data.len() / 5 * 4);
        assert_eq!(z85::encode(&bin).as_deref().map(str::as_bytes), Some(data));
    }
    let aligned = &data[..data.len() / 4 * 4];
    // (Empty text is refused by decode, as libzmq refuses it.)
    if !aligned.is_empty() {
        let text = z85::encode(aligned).expect("4-byte aligned data encodes");
        assert_eq!(z85::decode(text.as_bytes()).as_deref(), Some(aligned));
    }
});
