//! Text part files: each worker writes its records, one per line, to `dir/part-NNNNN`.

use std::fmt::Display;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::Operator;

use crate::error::Error;
use crate::job::JobContext;
use crate::stream::Stream;

pub(super) fn write_text<D: Display + 'static>(stream: Stream<'_, D>, dir: &Path) {
    let job = JobContext::of(stream.scope());
    let path = dir.join(format!("part-{:05}", stream.scope().index()));
    let opened = std::fs::create_dir_all(dir).and_then(|_| File::create(&path));
    let mut writer = match opened {
        Ok(file) => Some(BufWriter::new(file)),
        Err(source) => {
            job.fail(Error::Write {
                path: path.clone(),
                source,
            });
            None
        }
    };
    stream.sink(Pipeline, "WriteText", move |(input, _)| {
        let mut result = Ok(());
        input.for_each_stamp(|_, data| {
            for batch in data {
                for record in batch.drain(..) {
                    if let (Some(w), Ok(())) = (writer.as_mut(), &result) {
                        result = writeln!(w, "{record}");
                    }
                }
            }
        });
        // Flush at the end of every activation, so a reader sees whatever has arrived.
        if let (Some(w), Ok(())) = (writer.as_mut(), &result) {
            result = w.flush();
        }
        if let Err(source) = result {
            job.fail(Error::Write {
                path: path.clone(),
                source,
            });
            writer = None;
        }
    });
}
