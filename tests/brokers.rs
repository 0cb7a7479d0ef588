//! Brokers end to end, through the binary, against real servers the tests start on free
//! loopback ports (`./test.sh` installs `redis-server` and `nats-server`): for NATS JetStream
//! and Redis Streams alike, word count read from a broker equals a plain loop over what was
//! pushed, in both modes, on 1 and 2 workers and 2 processes; the sink holds every
//! `(word, count)` update exactly once across kills at three points and a broker restart;
//! readers split the partitions and keep them across a restart.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{
    corpus_lines, free_port, latest_epoch, read, reference_counts, run_with_stdin, sluice, stderr,
};
use sluice::engine::sources::corpus::{Corpus, CorpusSpec};

/// A redis-server of this test's own on a free port, its data in `dir` (append-only file,
/// fsync'd on every write, so that a restart keeps every acknowledged entry).
struct RedisServer {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl RedisServer {
    fn start(dir: &Path) -> RedisServer {
        for _ in 0..5 {
            let port = free_port();
            if let Some(child) = Self::spawn(dir, port) {
                return RedisServer {
                    child,
                    port,
                    dir: dir.to_path_buf(),
                };
            }
        }
        panic!("redis-server did not start");
    }

    /// Starts a server on `port` with its data in `dir`; `None` if it did not answer.
    fn spawn(dir: &Path, port: u16) -> Option<Child> {
        std::fs::create_dir_all(dir).unwrap();
        let mut child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .args(["--appendonly", "yes", "--appendfsync", "always", "--dir"])
            .arg(dir)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server on PATH (./test.sh installs it)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if child.try_wait().unwrap().is_some() {
                return None; // it could not bind
            }
            if resp(port, &[b"PING"]).is_ok() {
                return Some(child);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        None
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A nats-server of this test's own with JetStream on, its store in `dir`, on a free port.
struct NatsServer {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl NatsServer {
    fn start(dir: &Path) -> NatsServer {
        for _ in 0..5 {
            let port = free_port();
            if let Some(child) = Self::spawn(dir, port) {
                return NatsServer {
                    child,
                    port,
                    dir: dir.to_path_buf(),
                };
            }
        }
        panic!("nats-server did not start");
    }

    /// The program: on PATH, or where Debian puts it.
    fn program() -> &'static str {
        let on_path = Command::new("nats-server")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_ok();
        if on_path {
            "nats-server"
        } else {
            "/usr/sbin/nats-server"
        }
    }

    fn spawn(dir: &Path, port: u16) -> Option<Child> {
        std::fs::create_dir_all(dir).unwrap();
        let mut child = Command::new(Self::program())
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server installed (./test.sh installs it)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if child.try_wait().unwrap().is_some() {
                return None;
            }
            // Ready once it greets a client (JetStream is up by then).
            if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) {
                let mut greeting = [0u8; 4];
                use std::io::Read as _;
                if stream.read_exact(&mut greeting).is_ok() && &greeting == b"INFO" {
                    return Some(child);
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        None
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A broker server under test, named as the CLI names its streams: partitions `a`, `b`, …
/// (Redis keys; subjects of the NATS stream `IN`) read together, and output streams by name.
enum Server {
    Redis(RedisServer),
    Nats(NatsServer),
}

impl Server {
    fn start(kind: &str, dir: &Path) -> Server {
        match kind {
            "redis" => Server::Redis(RedisServer::start(&dir.join("redis"))),
            _ => Server::Nats(NatsServer::start(&dir.join("nats"))),
        }
    }

    fn port(&self) -> u16 {
        match self {
            Server::Redis(s) => s.port,
            Server::Nats(s) => s.port,
        }
    }

    /// Where lines for `partition` are pushed.
    fn push_url(&self, partition: &str) -> String {
        match self {
            Server::Redis(s) => format!("redis://127.0.0.1:{}/{partition}", s.port),
            Server::Nats(s) => format!("nats://127.0.0.1:{}/IN/{partition}", s.port),
        }
    }

    /// The stream of `partitions`, read together.
    fn read_url(&self, partitions: &[&str]) -> String {
        match self {
            Server::Redis(s) => format!("redis://127.0.0.1:{}/{}", s.port, partitions.join(",")),
            Server::Nats(s) => format!("nats://127.0.0.1:{}/IN", s.port),
        }
    }

    /// An output stream of its own.
    fn output_url(&self, name: &str) -> String {
        match self {
            Server::Redis(s) => format!("redis://127.0.0.1:{}/{name}", s.port),
            Server::Nats(s) => format!("nats://127.0.0.1:{}/{}", s.port, name.to_uppercase()),
        }
    }

    /// The lines of the stream at `url`, oldest first: for Redis read by this test's own
    /// client, for NATS by `sluice broker tail` (checked against the Redis reading below).
    fn lines(&self, url: &str) -> Vec<String> {
        match self {
            Server::Redis(s) => {
                let keys = url.rsplit('/').next().unwrap();
                keys.split(',')
                    .flat_map(|key| stream_lines(s.port, key))
                    .collect()
            }
            Server::Nats(_) => {
                let output = common::output_within(
                    sluice().args(["broker", "tail", url]),
                    Duration::from_secs(60),
                );
                assert!(output.status.success(), "tail: {}", stderr(&output));
                String::from_utf8(output.stdout)
                    .unwrap()
                    .lines()
                    .map(str::to_string)
                    .collect()
            }
        }
    }

    /// Stops the server cleanly and starts it again on the same port, keeping its data.
    fn restart(&mut self, down: Duration) {
        let spawn = match self {
            Server::Redis(_) => RedisServer::spawn,
            Server::Nats(_) => NatsServer::spawn,
        };
        let (child, port, dir) = match self {
            Server::Redis(s) => (&mut s.child, s.port, s.dir.clone()),
            Server::Nats(s) => (&mut s.child, s.port, s.dir.clone()),
        };
        // SIGTERM: either server writes what it holds and exits.
        let _ = Command::new("kill").arg(child.id().to_string()).status();
        child.wait().unwrap();
        std::thread::sleep(down);
        *child = spawn(&dir, port).expect("the server restarts");
    }
}

/// The brokers every test runs against.
const BROKERS: [&str; 2] = ["redis", "nats"];

/// A RESP reply, as far as these tests read them.
#[derive(Debug)]
enum Reply {
    Text(Vec<u8>),
    Int,
    Nil,
    Array(Vec<Reply>),
}

/// Sends one command to the server on `port` in RESP and reads its reply (the tests' own
/// minimal client: what they check is read without the code under test).
fn resp(port: u16, args: &[&[u8]]) -> std::io::Result<Reply> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut request = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        request.extend(format!("${}\r\n", arg.len()).bytes());
        request.extend_from_slice(arg);
        request.extend_from_slice(b"\r\n");
    }
    stream.write_all(&request)?;
    let mut reader = std::io::BufReader::new(stream);
    parse_reply(&mut reader)
}

fn parse_reply(reader: &mut impl std::io::BufRead) -> std::io::Result<Reply> {
    let mut line = Vec::new();
    reader.read_until(b'\n', &mut line)?;
    let bad = || std::io::Error::other(format!("bad reply {:?}", String::from_utf8_lossy(&line)));
    let text = std::str::from_utf8(&line[1..line.len().saturating_sub(2).max(1)])
        .map_err(|_| bad())?
        .to_string();
    match line.first() {
        Some(b'+') => Ok(Reply::Text(text.into_bytes())),
        Some(b'-') => Err(std::io::Error::other(text)),
        Some(b':') => Ok(Reply::Int),
        Some(b'$') if text == "-1" => Ok(Reply::Nil),
        Some(b'$') => {
            let n: usize = text.parse().map_err(|_| bad())?;
            let mut bytes = vec![0; n + 2];
            reader.read_exact(&mut bytes)?;
            bytes.truncate(n);
            Ok(Reply::Text(bytes))
        }
        Some(b'*') if text == "-1" => Ok(Reply::Nil),
        Some(b'*') => {
            let n: usize = text.parse().map_err(|_| bad())?;
            (0..n)
                .map(|_| parse_reply(reader))
                .collect::<Result<_, _>>()
                .map(Reply::Array)
        }
        _ => Err(bad()),
    }
}

/// The `line` field of every entry of stream `key`, oldest first.
fn stream_lines(port: u16, key: &str) -> Vec<String> {
    let Reply::Array(entries) = resp(port, &[b"XRANGE", key.as_bytes(), b"-", b"+"]).unwrap()
    else {
        panic!("XRANGE {key}: not an array")
    };
    entries
        .into_iter()
        .map(|entry| match entry {
            Reply::Array(pair) => match &pair[1] {
                Reply::Array(fields) => match (&fields[0], &fields[1]) {
                    (Reply::Text(name), Reply::Text(value)) if name == b"line" => {
                        String::from_utf8(value.clone()).unwrap()
                    }
                    other => panic!("entry fields {other:?}"),
                },
                other => panic!("entry {other:?}"),
            },
            other => panic!("entry {other:?}"),
        })
        .collect()
}

/// `n` corpus lines from line `from` on.
/// `sluice broker push URL` with `text` on stdin; panics with its stderr if it fails.
fn push(url: &str, text: &str) {
    let output = run_with_stdin(sluice().args(["broker", "push", url]), text.as_bytes());
    assert!(output.status.success(), "push: {}", stderr(&output));
}

/// `sluice run wordcount --broker URL` with `extra` flags.
fn wordcount(url: &str, out: &Path, extra: &[&str]) -> Command {
    let mut command = sluice();
    command
        .args([
            "run",
            "wordcount",
            "--broker",
            url,
            "--status-every-ms",
            "0",
        ])
        .arg("--final-counts")
        .arg(out)
        .args(extra);
    command
}

fn complete(command: &mut Command) -> Output {
    let output = common::output_within(command, Duration::from_secs(120));
    assert!(output.status.success(), "{}", stderr(&output));
    output
}

#[test]
fn word_count_from_a_broker_equals_a_plain_loop_in_every_configuration() {
    for kind in BROKERS {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start(kind, dir.path());
        // Two partitions, so that two readers each have one.
        let (a, b) = (corpus_lines(0, 3000), corpus_lines(3000, 2000));
        push(&server.push_url("a"), &a);
        push(&server.push_url("b"), &b);
        let expected = reference_counts(&(a + &b));
        let url = server.read_url(&["a", "b"]);
        let out = dir.path().join("counts");
        for (what, flags) in [
            ("native, 1 worker", vec!["--workers", "1"]),
            ("native, 2 workers", vec!["--workers", "2"]),
            (
                "micro-batch, 1 worker",
                vec!["--mode", "minibatch", "--batch-ms", "100"],
            ),
            (
                "micro-batch, 2 workers",
                vec!["--mode", "minibatch", "--batch-ms", "100", "--workers", "2"],
            ),
        ] {
            let output = complete(&mut wordcount(&url, &out, &flags));
            assert_eq!(read(&out), expected, "{kind}, {what}");
            let log = stderr(&output);
            if what.contains("2 workers") {
                // Both readers read: one partition each.
                assert!(
                    log.contains("reader 0 of 2 read 3000 message(s) from a"),
                    "{kind}, {what}: {log}"
                );
                assert!(
                    log.contains("reader 1 of 2 read 2000 message(s) from b"),
                    "{kind}, {what}: {log}"
                );
            } else {
                assert!(
                    log.contains("reader 0 of 1 read 5000 message(s) from a,b"),
                    "{kind}, {what}: {log}"
                );
            }
        }
    }
}

#[test]
fn word_count_from_a_broker_on_two_processes_equals_a_plain_loop() {
    for kind in BROKERS {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start(kind, dir.path());
        let (a, b) = (corpus_lines(0, 2000), corpus_lines(2000, 2500));
        push(&server.push_url("a"), &a);
        push(&server.push_url("b"), &b);
        let hosts = dir.path().join("hosts");
        std::fs::write(
            &hosts,
            format!("127.0.0.1:{}\n127.0.0.1:{}\n", free_port(), free_port()),
        )
        .unwrap();
        let out = dir.path().join("counts");
        let url = server.read_url(&["a", "b"]);
        let process = |i: usize| {
            let mut command = wordcount(&url, &out, &["--processes", "2", "--process"]);
            command
                .arg(i.to_string())
                .arg("--hostfile")
                .arg(&hosts)
                .stdout(Stdio::null())
                .stderr(Stdio::piped());
            command.spawn().unwrap()
        };
        let children = [process(0), process(1)];
        let mut log = String::new();
        for child in children {
            let output = child.wait_with_output().unwrap();
            assert!(output.status.success(), "{kind}: {}", stderr(&output));
            log += &stderr(&output);
        }
        assert_eq!(read(&out), reference_counts(&(a + &b)), "{kind}");
        assert!(
            log.contains("reader 0 of 2 read 2000 message(s) from a"),
            "{kind}: {log}"
        );
        assert!(
            log.contains("reader 1 of 2 read 2500 message(s) from b"),
            "{kind}: {log}"
        );
    }
}

/// The sink's `word<TAB>count` lines: no pair twice, and each word's last count is the plain
/// loop's.
fn assert_sink_exactly_once(sink: &[String], expected: &str, what: &str) {
    let mut seen = BTreeSet::new();
    let mut last: BTreeMap<&str, u64> = BTreeMap::new();
    for line in sink {
        assert!(
            seen.insert(line.as_str()),
            "{what}: {line:?} published twice"
        );
        let (word, count) = line.split_once('\t').expect("word<TAB>count");
        let count: u64 = count.parse().unwrap();
        if let Some(before) = last.insert(word, count) {
            assert!(
                before < count,
                "{what}: {word} went from {before} to {count}"
            );
        }
    }
    let finals: String = last.iter().map(|(w, c)| format!("{w}\t{c}\n")).collect();
    assert!(
        finals == expected,
        "{what}: the sink's last counts differ from a plain loop's"
    );
}

/// Waits until `condition` holds, at most 30 s.
fn wait_for(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Lines pushed to a broker from another thread, a few every few ms, until stopped: the job
/// is killed while it reads and publishes.
struct Pusher {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// The index of the next line to push: every line before it is appended.
    next: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// What the last push that appended nothing said (to tell a slow pusher from a stuck one).
    last_refusal: std::sync::Arc<std::sync::Mutex<String>>,
    thread: std::thread::JoinHandle<()>,
}

impl Pusher {
    /// Pushes corpus lines from `from` on to `url`, 100 every 10 ms.
    fn start(url: &str, from: u64) -> Pusher {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let next = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(from));
        let (url, stopped, pushed) = (url.to_string(), stop.clone(), next.clone());
        let last_refusal = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let refusal = last_refusal.clone();
        let thread = std::thread::spawn(move || {
            while !stopped.load(std::sync::atomic::Ordering::SeqCst) {
                let next = pushed.load(std::sync::atomic::Ordering::SeqCst);
                let mut child = sluice()
                    .args(["broker", "push", &url])
                    .stdin(Stdio::piped())
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap();
                // A push that cannot connect exits before reading: the write may fail then.
                let mut stdin = child.stdin.take().unwrap();
                let _ = stdin.write_all(corpus_lines(next, 100).as_bytes());
                drop(stdin);
                let output = child.wait_with_output().unwrap();
                // While the broker restarts, `push` cannot connect: it appended nothing.
                let error = stderr(&output);
                if !output.status.success() && error.contains("cannot connect") {
                    *refusal.lock().unwrap() = error;
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                }
                assert!(output.status.success(), "push: {error}");
                pushed.store(next + 100, std::sync::atomic::Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        Pusher {
            stop,
            next,
            last_refusal,
            thread,
        }
    }

    /// The index of the next line it will push.
    fn next(&self) -> u64 {
        self.next.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Whether the pushing thread has ended (a failed push ends it: [`stop`](Self::stop)
    /// reports why).
    fn has_stopped(&self) -> bool {
        self.thread.is_finished()
    }

    /// Stops pushing.
    fn stop(self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        self.thread.join().unwrap()
    }
}

#[test]
fn the_sink_holds_every_update_once_across_kills_and_a_broker_restart() {
    let modes = [&[][..], &["--mode", "minibatch", "--batch-ms", "100"][..]];
    for (kind, mode) in BROKERS.into_iter().flat_map(|k| modes.map(|m| (k, m))) {
        let mode_name = if mode.is_empty() {
            "native"
        } else {
            "micro-batch"
        };
        let what = &format!("{kind}, {mode_name}");
        let dir = tempfile::tempdir().unwrap();
        let mut server = Server::start(kind, dir.path());
        let (input, sink) = (server.push_url("in"), server.output_url("out"));
        let checkpoints = dir.path().join("cp");
        let out = dir.path().join("counts");
        let job = |follow: bool| {
            let mut flags = vec![
                "--workers",
                "2",
                "--sink",
                &sink,
                "--checkpoint-every",
                "100",
            ];
            flags.extend(mode);
            if follow {
                flags.push("--follow");
            }
            let mut command = wordcount(&input, &out, &flags);
            command.arg("--checkpoint-dir").arg(&checkpoints);
            command
        };
        push(&input, &corpus_lines(0, 2000));

        // 1. Killed before its first checkpoint: epochs are on the wall clock's 100 ms, so
        // the first may come at once; a run that got to commit one is tried again afresh.
        for attempt in 0.. {
            let mut child = job(true).stderr(Stdio::null()).spawn().unwrap();
            std::thread::sleep(Duration::from_millis(5));
            child.kill().unwrap();
            child.wait().unwrap();
            if latest_epoch(&checkpoints).is_none() {
                break;
            }
            assert!(attempt < 10, "{what}: every run checkpointed within 5 ms");
            std::fs::remove_dir_all(&checkpoints).unwrap();
        }

        // From here on, lines keep arriving while the job runs, is killed and restarts.
        let pusher = Pusher::start(&input, 2000);

        // 2. Killed mid-run, between checkpoints, while it reads and publishes.
        let mut child = job(true).stderr(Stdio::null()).spawn().unwrap();
        wait_for("a checkpoint", || latest_epoch(&checkpoints).is_some());
        wait_for("published output", || !server.lines(&sink).is_empty());
        std::thread::sleep(Duration::from_millis(230));
        child.kill().unwrap();
        child.wait().unwrap();

        // 3. Stopped in the middle of writing a checkpoint (after 3 of its parts).
        common::abort_after(job(true), 3);

        // 4. The broker restarts under a running job (and under the pusher).
        let mut child = job(true).stderr(Stdio::null()).spawn().unwrap();
        let before = latest_epoch(&checkpoints);
        wait_for("a new checkpoint", || latest_epoch(&checkpoints) > before);
        server.restart(Duration::from_millis(500));
        let committed = latest_epoch(&checkpoints);
        wait_for("a checkpoint after the restart", || {
            latest_epoch(&checkpoints) > committed
        });
        // Lines keep coming after the restart: a pusher slowed by a loaded machine is
        // waited for, not taken as a failure.
        let after_restart = pusher.next();
        let deadline = Instant::now() + Duration::from_secs(60);
        while pusher.next() < (after_restart + 300).max(4100) && !pusher.has_stopped() {
            assert!(
                Instant::now() < deadline,
                "{what}: no lines pushed after the restart within 60 s (from {after_restart}, \
                 at {}); the last refused push said: {}",
                pusher.next(),
                pusher.last_refusal.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        pusher.stop();
        // SIGTERM: a graceful stop, whose last checkpoint covers everything read.
        let _ = Command::new("kill").arg(child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(90);
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("{what}: the job did not stop within 90 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let stopped = child.wait_with_output().unwrap();
        assert!(stopped.status.success(), "{what}: {}", stderr(&stopped));

        // 5. The rest, to the end of the stream.
        let output = complete(&mut job(false));
        assert!(
            stderr(&output).contains("resuming from the checkpoint of epoch"),
            "{what}: {}",
            stderr(&output)
        );
        // What was pushed, as the broker holds it.
        let input: String = server
            .lines(&input)
            .iter()
            .map(|line| format!("{line}\n"))
            .collect();
        assert!(
            input.lines().count() > 4000,
            "{what}: the pusher fell behind"
        );
        let expected = reference_counts(&input);
        assert_eq!(read(&out), expected, "{what}: final counts");
        assert_sink_exactly_once(&server.lines(&sink), &expected, what);
    }
}

/// Rescaling a broker source: each partition goes on from where its old reader was, whichever
/// reader it is assigned to now, and the counts carried over are the plain loop's.
#[test]
fn a_checkpoint_of_two_readers_is_reassigned_to_one_and_back() {
    for kind in BROKERS {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start(kind, dir.path());
        let checkpoints = dir.path().join("cp");
        let out = dir.path().join("counts");
        let url = server.read_url(&["a", "b"]);
        let mut pushed = String::new();
        let push_both = |from: u64, (a, b): (u64, u64)| {
            let (to_a, to_b) = (corpus_lines(from, a), corpus_lines(from + a, b));
            push(&server.push_url("a"), &to_a);
            push(&server.push_url("b"), &to_b);
            to_a + &to_b
        };
        let run = |pushed: &str, workers: &str| {
            let mut command = wordcount(&url, &out, &["--workers", workers]);
            command.arg("--checkpoint-dir").arg(&checkpoints);
            let output = complete(&mut command);
            assert_eq!(
                read(&out),
                reference_counts(pushed),
                "{kind}, {workers} workers"
            );
            stderr(&output)
        };
        pushed += &push_both(0, (100, 100));
        run(&pushed, "2");
        pushed += &push_both(200, (60, 40));
        let log = run(&pushed, "1");
        assert!(
            log.contains("reader 0 of 1 read 100 message(s) from a,b"),
            "{kind}: {log}"
        );
        pushed += &push_both(300, (30, 20));
        let log = run(&pushed, "2");
        assert!(
            log.contains("reader 0 of 2 read 30 message(s) from a"),
            "{kind}: {log}"
        );
        assert!(
            log.contains("reader 1 of 2 read 20 message(s) from b"),
            "{kind}: {log}"
        );
    }
}

#[test]
fn broker_tail_prints_what_push_appended() {
    for kind in BROKERS {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start(kind, dir.path());
        let text = "first line\n\nthird, with ünïcode\n";
        push(&server.push_url("t"), text);
        let output = common::output_within(
            sluice().args(["broker", "tail", &server.push_url("t")]),
            Duration::from_secs(30),
        );
        assert!(output.status.success(), "{kind}: {}", stderr(&output));
        assert_eq!(String::from_utf8(output.stdout).unwrap(), text, "{kind}");
    }
    // `tail` reads what Redis holds as this test's own client reads it (NATS is read back
    // through `tail` in the other tests).
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start("redis", dir.path());
    push(&server.push_url("t"), &corpus_lines(0, 500));
    let via_tail = server.lines(&server.push_url("t"));
    let Server::Redis(redis) = &server else {
        unreachable!()
    };
    let tail = common::output_within(
        sluice().args(["broker", "tail", &server.push_url("t")]),
        Duration::from_secs(30),
    );
    let tailed: Vec<String> = String::from_utf8(tail.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(tailed, stream_lines(redis.port, "t"));
    assert_eq!(via_tail.len(), 500);
}

#[test]
fn hostile_brokers_and_urls_get_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let redis = Server::start("redis", dir.path());
    let nats = Server::start("nats", dir.path());
    let out = dir.path().join("counts");
    let closed_redis = format!("redis://127.0.0.1:{}/k", free_port());
    let closed_nats = format!("nats://127.0.0.1:{}/S", free_port());
    resp(redis.port(), &[b"SET", b"plain", b"value"]).unwrap();
    for (url, expected) in [
        (closed_redis.as_str(), closed_redis.as_str()),
        (closed_nats.as_str(), closed_nats.as_str()),
        (&redis.output_url("missing"), "no stream \"missing\""),
        (
            &redis.output_url("plain"),
            "\"plain\" is a string, not a stream",
        ),
        (&nats.output_url("missing"), "no stream \"MISSING\""),
    ] {
        let output = common::output_within(&mut wordcount(url, &out, &[]), Duration::from_secs(60));
        assert!(!output.status.success(), "{url}");
        let error = stderr(&output);
        assert!(error.contains(expected), "{url}: {error}");
        assert_eq!(error.trim().lines().count(), 1, "{url}: {error}");
        assert!(!error.contains("panicked"), "{url}: {error}");
    }
    for url in [
        "redis://h/k",
        "kafka://h:1/t",
        "redis://h:1/",
        "nats://h:1/a.b",
    ] {
        let output = common::output_within(&mut wordcount(url, &out, &[]), Duration::from_secs(30));
        assert_eq!(output.status.code(), Some(2), "{url}");
        assert!(stderr(&output).contains(url), "{url}: {}", stderr(&output));
    }
}

#[test]
fn malformed_messages_are_counted_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let redis = RedisServer::start(&dir.path().join("redis"));
    let in_url = format!("redis://127.0.0.1:{}/in", redis.port);
    resp(redis.port, &[b"XADD", b"in", b"*", b"line", b"a b"]).unwrap();
    resp(redis.port, &[b"XADD", b"in", b"*", b"line", b"\xff\xfe"]).unwrap();
    resp(redis.port, &[b"XADD", b"in", b"*", b"other", b"c"]).unwrap();
    resp(redis.port, &[b"XADD", b"in", b"*", b"line", b"b"]).unwrap();
    let out = dir.path().join("counts");
    let output = complete(&mut wordcount(&in_url, &out, &[]));
    assert_eq!(read(&out), "a\t1\nb\t2\n");
    assert!(
        stderr(&output).contains("2 malformed record(s) skipped"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn loadgen_publishes_the_corpus_into_partitions_on_schedule() {
    use sluice::engine::sources::stamped::parse_stamped;
    for kind in BROKERS {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start(kind, dir.path());
        let to = server.output_url("load");
        let output = common::output_within(
            sluice()
                .args(["loadgen", "--to", &to, "--partitions", "2"])
                .args(["--rate", "5000", "--seconds", "0.4"]),
            Duration::from_secs(60),
        );
        assert!(output.status.success(), "{kind}: {}", stderr(&output));
        let stdout = String::from_utf8(output.stdout).unwrap();
        let read_from = stdout
            .lines()
            .next()
            .unwrap()
            .strip_prefix("publishing ")
            .unwrap();
        let report: serde_json::Value =
            serde_json::from_str(stdout.lines().nth(1).unwrap()).unwrap();
        assert_eq!(report["lines_sent"], 2000, "{kind}");
        // Line i went to partition i mod 2, stamped with its scheduled time.
        let corpus = Corpus::new(CorpusSpec::default());
        let partition_urls: Vec<String> = match &server {
            Server::Redis(_) => ["load.0", "load.1"].map(|k| server.output_url(k)).to_vec(),
            Server::Nats(_) => ["LOAD.0", "LOAD.1"]
                .map(|s| format!("{}/{s}", server.output_url("load")))
                .to_vec(),
        };
        let mut t0 = None;
        for (p, url) in partition_urls.iter().enumerate() {
            let lines = server.lines(url);
            assert_eq!(lines.len(), 1000, "{kind}: partition {p}");
            for (j, line) in lines.iter().enumerate() {
                let i = (2 * j + p) as u64;
                let (scheduled, text) = parse_stamped(line).unwrap();
                assert_eq!(text, corpus.line(i), "{kind}: line {i}");
                let t0 = *t0.get_or_insert(scheduled - i * 200_000);
                let expected = t0 + i * 200_000; // one line every 200 µs
                assert!(
                    scheduled.abs_diff(expected) <= 1,
                    "{kind}: line {i} at {scheduled}"
                );
            }
        }
        // Reading the URL it printed takes both partitions.
        assert_eq!(server.lines(read_from).len(), 2000, "{kind}: {read_from}");
    }
}

#[test]
fn bench_measures_latency_through_each_broker() {
    for kind in BROKERS {
        let dir = tempfile::tempdir().unwrap();
        let output = common::output_within(
            sluice()
                .args(["bench", "--load", kind, "--lines", "0", "--runs", "1"])
                .args(["--rates", "2000", "--seconds", "1", "--warmup", "0.2"])
                .args(["--modes", "native,100", "--workers", "1,2", "--no-overhead"])
                .arg("--out")
                .arg(dir.path()),
            Duration::from_secs(300),
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{kind}: {stdout}{}",
            stderr(&output)
        );
        let rows: Vec<&str> = stdout
            .lines()
            .filter(|l| l.contains(&format!("{kind} 2k/s")))
            .collect();
        assert_eq!(rows.len(), 4, "{kind}: {stdout}");
        assert!(
            rows.iter().all(|r| r.ends_with("= yes")),
            "{kind}: {stdout}"
        );
        let json: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("results.json")).unwrap(),
        )
        .unwrap();
        for measurement in json["latency"].as_array().unwrap() {
            let config = &measurement["config"];
            assert_eq!(config["load"]["broker"]["kind"], kind, "{measurement}");
            assert_eq!(config["load"]["broker"]["partitions"], config["workers"]);
            let run = &measurement["runs"][0];
            assert_eq!(run["lines_read"], run["lines_sent"], "{kind}: {run}");
            assert_eq!(run["lines_sent"], 2000, "{kind}: {run}");
            assert!(
                run["broker_cpu_seconds"].as_f64().unwrap() > 0.0,
                "{kind}: {run}"
            );
        }
    }
}
