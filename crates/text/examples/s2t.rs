//! Converts stdin lines from simplified to traditional (Taiwan) Chinese with ferrous-opencc
//! (development tool, used by `tests/data/generate.py` to write the traditional test cases).
use std::io::BufRead;
fn main() {
    let cc = ferrous_opencc::OpenCC::from_config(ferrous_opencc::config::BuiltinConfig::S2tw)
        .expect("embedded s2tw config");
    for l in std::io::stdin().lock().lines().map_while(Result::ok) {
        println!("{}", cc.convert(&l));
    }
}
