//! Choosing where a job's lines of text come from.

use sluice_engine::prelude::*;
use sluice_engine::sources::{Directory, Generator, LogSource, Socket, TextFile};
use sluice_minibatch::{DStream, Graph};

/// A source of text lines, described (and checked) before the job starts.
#[derive(Clone, Debug)]
pub enum LineSource {
    /// A file, read once.
    File(TextFile),
    /// New files moved into a directory.
    Directory(Directory),
    /// A TCP server.
    Socket(Socket),
    /// The shared corpus generator.
    Generator(Generator),
    /// An event log (replayable).
    Log(LogSource),
}

impl LineSource {
    /// The lines, as a stream in `scope`.
    pub fn stream<'scope>(&self, scope: Scope<'scope>) -> Stream<'scope, String> {
        match self {
            LineSource::File(file) => scope.text_file(file),
            LineSource::Directory(dir) => scope.text_directory(dir),
            LineSource::Socket(socket) => scope.socket_text(socket),
            LineSource::Generator(generator) => scope.generate(generator),
            LineSource::Log(log) => scope.event_log(log),
        }
    }

    /// The lines, as an input DStream of `graph` (micro-batch mode).
    pub fn dstream<'scope>(&self, graph: &Graph<'scope>) -> DStream<'scope, String> {
        match self {
            LineSource::File(file) => graph.text_file(file),
            LineSource::Directory(dir) => graph.directory_stream(dir),
            LineSource::Socket(socket) => graph.socket_stream(socket),
            LineSource::Generator(generator) => graph.generator_stream(generator),
            LineSource::Log(log) => graph.event_log(log),
        }
    }
}
