//! Times the cold start: building every lazy table (`trustledger_text::warm_up`).
fn main() {
    let t = std::time::Instant::now();
    trustledger_text::warm_up();
    println!("warm_up: {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
}
