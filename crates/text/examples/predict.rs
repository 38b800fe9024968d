//! Prints the sentiment of each stdin line (development tool).
use std::io::BufRead;
fn main() {
    let m = trustledger_text::sentiment::SentimentModel::embedded();
    for l in std::io::stdin().lock().lines().map_while(Result::ok) {
        println!("{:.3}\t{l}", m.predict(&l));
    }
}
