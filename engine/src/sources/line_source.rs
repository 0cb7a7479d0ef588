//! A choice among the text sources, made at run time (from a command line, a benchmark
//! configuration): the lines of a file, a directory, a socket, the generator or an event log,
//! as one [`Source`] of `String`s.

use super::directory::Directory;
use super::file::TextFile;
use super::generator::Generator;
use super::log::LogSource;
use super::socket::Socket;
use super::source::{Source, Spread};
use crate::stream::{Scope, Stream};

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

impl Source for LineSource {
    type Item = String;

    fn spread(&self) -> Spread {
        match self {
            LineSource::File(file) => file.spread(),
            LineSource::Directory(dir) => dir.spread(),
            LineSource::Socket(socket) => socket.spread(),
            LineSource::Generator(generator) => generator.spread(),
            LineSource::Log(log) => log.spread(),
        }
    }

    fn stream<'scope>(&self, scope: Scope<'scope>) -> Stream<'scope, String> {
        match self {
            LineSource::File(file) => file.stream(scope),
            LineSource::Directory(dir) => dir.stream(scope),
            LineSource::Socket(socket) => socket.stream(scope),
            LineSource::Generator(generator) => generator.stream(scope),
            LineSource::Log(log) => log.stream(scope),
        }
    }

    fn by_arrival(&self) -> Self {
        match self {
            LineSource::Log(log) => LineSource::Log(log.by_arrival()),
            other => other.clone(),
        }
    }
}
