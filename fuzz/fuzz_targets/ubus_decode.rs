//! Fuzz the ubus decoder (src/ubus/codec.rs, included as it is): arbitrary
//! bytes as a whole ubus message and as a blobmsg table must give a value or
//! an error, never a panic; whatever decodes re-encodes to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../src/ubus/codec.rs"]
mod codec;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = codec::decode_msg(data) {
        if let Ok(attrs) = m.attrs() {
            for a in attrs {
                let _ = a.u32();
                let _ = a.str();
                if a.id == codec::ATTR_DATA {
                    let _ = codec::decode_table(a.payload);
                }
            }
        }
    }
    if let Ok(v) = codec::decode_table(data) {
        let again = codec::decode_table(&codec::encode_table(&v));
        assert_eq!(again.ok(), Some(v));
    }
});
