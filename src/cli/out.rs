//! Standard output for every command, in one place.
//!
//! A reader that closes the pipe early (`sluice … | head`) has chosen to stop reading; that is
//! not an error, and must not be a panic (which `println!` gives). SIGPIPE is left ignored, as
//! Rust sets it, because the process also writes to TCP sockets whose peers may close: only a
//! closed *standard output* ends the process, here, quietly and with status 0. Any other write
//! error is reported in one line and exits with status 1.

use std::io::Write;

/// Prints to standard output like `print!`, ending the process quietly if the reader is gone.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::out::write_fmt(format_args!($($arg)*))
    };
}

/// Prints a line to standard output like `println!`, ending the process quietly if the reader
/// is gone.
macro_rules! outln {
    () => {
        $crate::cli::out::write_fmt(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::cli::out::write_fmt(format_args!("{}\n", format_args!($($arg)*)))
    };
}

pub(crate) use {out, outln};

/// Writes `args` to standard output (see the module docs for what a failed write does).
pub fn write_fmt(args: std::fmt::Arguments) {
    let written = std::io::stdout()
        .lock()
        .write_fmt(args)
        .and_then(|()| std::io::stdout().flush());
    if let Err(error) = written {
        closed(error);
    }
}

/// Standard output as a writer (for code that takes `impl Write`), with the same handling of a
/// closed pipe: a write never returns an error, the process ends instead.
pub struct Stdout;

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        std::io::stdout()
            .lock()
            .write(buf)
            .or_else(|error| closed(error))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stdout().flush().or_else(|error| closed(error))
    }
}

/// Ends the process after a failed write to standard output.
fn closed(error: std::io::Error) -> ! {
    if error.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    eprintln!("sluice: error: cannot write to standard output: {error}");
    std::process::exit(1);
}
