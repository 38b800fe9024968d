//! Generates the default demo tenant and reports the speed:
//! `cargo run --release --example demo_speed [> /dev/null]`. Pass `--print` to write the lines
//! to stdout.

use std::io::Write;
use std::time::Instant;

fn main() {
    let print = std::env::args().any(|a| a == "--print");
    let config = trustledger_synth::DemoConfig::default();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut bytes = 0usize;
    let started = Instant::now();
    let n = trustledger_synth::generate(&config, |line| {
        bytes += line.len() + 1;
        if print {
            let _ = writeln!(out, "{line}");
        }
    });
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "{n} events ({:.1} MB) in {secs:.3} s = {:.0} events/s",
        bytes as f64 / 1e6,
        n as f64 / secs
    );
    for p in trustledger_synth::operator_profiles(&config) {
        eprintln!("{} {}", p.id, p.behaviour);
    }
}
