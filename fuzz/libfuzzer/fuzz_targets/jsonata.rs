#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| skipline_fuzz::jsonata(data));
