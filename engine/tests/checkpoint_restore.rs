//! A job stopped part-way and run again with the same checkpoint directory goes on from its
//! checkpoint: per-key state (`map_with_state`, `update_state_by_key`, keyed counts) is
//! restored and the generator resumes at its offsets, so the second run's results are those
//! of the whole input, while it reads only what the first did not.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use sluice_engine::checkpoint::Checkpointing;
use sluice_engine::prelude::*;
use sluice_engine::sources::corpus::{Corpus, CorpusSpec};
use sluice_engine::sources::Generator;

const LINES: u64 = 40_000;

/// Per word: the highest running count `map_with_state` gave, the last total
/// `update_state_by_key` gave, and the number of words the run read.
struct Results {
    running: BTreeMap<String, u64>,
    totals: BTreeMap<String, u64>,
    words_read: usize,
}

fn run(dir: &Path, stop_after: Option<Duration>) -> Results {
    let (running, totals) = (Collector::new(), Collector::new());
    let (r, t) = (running.clone(), totals.clone());
    let generator = Generator::new(CorpusSpec::default())
        .lines(LINES)
        .rate(40_000.0);
    let execution = Execution::default()
        .workers(2)
        .checkpointing(Checkpointing::new(dir, 50).program("restore-test", "v1"));
    let job = execution.job().clone();
    let stopper = stop_after.map(|after| {
        std::thread::spawn(move || {
            std::thread::sleep(after);
            job.stop();
        })
    });
    execute(execution, move |worker| {
        let (generator, r, t) = (generator.clone(), r.clone(), t.clone());
        worker.dataflow(|scope| {
            let words = scope.generate(&generator).flat_map(|line: String| {
                line.split_ascii_whitespace()
                    .map(|w| (w.to_string(), ()))
                    .collect::<Vec<_>>()
            });
            words
                .clone()
                .map_with_state(|word: &String, (), count: &mut Option<u64>| {
                    let count = count.get_or_insert(0);
                    *count += 1;
                    (word.clone(), *count)
                })
                .collect_into(&r);
            words
                .update_state_by_key(|_, values: Vec<()>, total: Option<u64>| {
                    Some(total.unwrap_or(0) + values.len() as u64)
                })
                .collect_into(&t);
        });
    })
    .unwrap();
    if let Some(stopper) = stopper {
        stopper.join().unwrap();
    }
    let running = running.take();
    let words_read = running.len();
    let mut results = Results {
        running: BTreeMap::new(),
        totals: BTreeMap::new(),
        words_read,
    };
    for (word, count) in running {
        let slot = results.running.entry(word).or_default();
        *slot = (*slot).max(count);
    }
    for (word, total) in totals.take() {
        let slot = results.totals.entry(word).or_default();
        *slot = (*slot).max(total);
    }
    results
}

#[test]
fn a_stopped_job_goes_on_from_its_checkpoint() {
    let corpus = Corpus::new(CorpusSpec::default());
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    let mut words = 0;
    for i in 0..LINES {
        for word in corpus.line(i).split_ascii_whitespace() {
            *expected.entry(word.to_string()).or_default() += 1;
            words += 1;
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let first = run(dir.path(), Some(Duration::from_millis(400)));
    assert!(
        first.words_read > 0 && first.words_read < words,
        "the first run read {} of {words} words",
        first.words_read
    );
    let second = run(dir.path(), None);
    assert_eq!(
        first.words_read + second.words_read,
        words,
        "the second run did not go on where the first stopped"
    );
    // Every word's final count is the whole input's — the second run's where it saw the
    // word, counting on from the restored state, else the first run's.
    let combine = |first: &BTreeMap<String, u64>, second: &BTreeMap<String, u64>| {
        let mut finals = first.clone();
        finals.extend(second.clone());
        finals
    };
    assert_eq!(combine(&first.running, &second.running), expected);
    assert_eq!(combine(&first.totals, &second.totals), expected);
}
