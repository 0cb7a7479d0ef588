//! Native word count in a dozen lines: the lines of a file, split across two workers, each word's
//! running count kept on the worker that owns the word, the final table printed by worker 0.
//!
//! ```sh
//! cargo run --release --example wordcount -- README.md
//! ```

use sluice::engine::sources::TextFile;
use sluice::prelude::*;

fn main() -> Result<()> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "README.md".into());
    let file = TextFile::open(&path)?; // a missing file is reported here, by name
    let table = Collector::new();
    let sink = table.clone();
    execute(Execution::default().workers(2), move |worker| {
        worker.dataflow(|scope| {
            scope
                .text_file(&file)
                .count_keys_with(|line: String, words| {
                    line.split_ascii_whitespace().for_each(|w| words.add(w, 1))
                })
                .last_by_key() // the final count of each word, when the file ends
                .gather() // to worker 0
                .collect_into(&sink);
        });
    })?;
    let mut table = table.take();
    table.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    for (word, count) in table.iter().take(10) {
        println!("{count:>6} {word}");
    }
    Ok(())
}
