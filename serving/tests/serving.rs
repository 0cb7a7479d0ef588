//! The serving stores: versions are invisible until published and replace each other whole,
//! in the embedded store and in a real Redis server; and the HTTP endpoint answers from them.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sluice_serving::{self as serving, http, ServingStore};

/// The version semantics every store must have.
fn check_versions(store: &dyn ServingStore, view: &str) {
    assert_eq!(store.published(view).unwrap(), None);
    store
        .put(view, 1, &[("a".into(), json!(1)), ("b".into(), json!(2))])
        .unwrap();
    assert_eq!(store.get(view, "a").unwrap(), None, "unpublished");
    store.publish(view, 1).unwrap();
    assert_eq!(store.get(view, "a").unwrap(), Some(json!(1)));
    // Version 2 is built beside version 1, which keeps serving.
    store.put(view, 2, &[("a".into(), json!(10))]).unwrap();
    store.put(view, 1, &[("b".into(), json!(3))]).unwrap();
    assert_eq!(store.get(view, "a").unwrap(), Some(json!(1)));
    assert_eq!(store.get(view, "b").unwrap(), Some(json!(3)));
    store.publish(view, 2).unwrap();
    assert_eq!(store.published(view).unwrap(), Some(2));
    assert_eq!(store.get(view, "a").unwrap(), Some(json!(10)));
    assert_eq!(store.get(view, "b").unwrap(), None, "no mix of versions");
    assert_eq!(
        store.entries(view).unwrap(),
        vec![("a".to_string(), json!(10))]
    );
    // Removing a view drops every version of it, and no other view.
    let other = format!("{view}-other");
    store.put(&other, 1, &[("a".into(), json!(7))]).unwrap();
    store.publish(&other, 1).unwrap();
    store.put(view, 3, &[("a".into(), json!(11))]).unwrap();
    store.remove(view).unwrap();
    assert_eq!(store.published(view).unwrap(), None);
    assert_eq!(store.get(view, "a").unwrap(), None);
    store.publish(view, 3).unwrap();
    assert_eq!(
        store.get(view, "a").unwrap(),
        None,
        "unpublished versions go too"
    );
    assert_eq!(store.get(&other, "a").unwrap(), Some(json!(7)));
}

#[test]
fn the_embedded_store_serves_published_versions_whole() {
    check_versions(&serving::Embedded::default(), "counts");
}

/// A redis-server of this test's own on a free port (`.ci/run` installs the program).
struct RedisServer(Child, String);

impl RedisServer {
    fn start() -> RedisServer {
        // The free port may be taken by another test before redis binds it: try again.
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let mut child = Command::new("redis-server")
                .args([
                    "--port",
                    &port.to_string(),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ])
                .stdout(Stdio::null())
                .spawn()
                .expect("redis-server on PATH (apt-get install redis-server; .ci/run does)");
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if child.try_wait().unwrap().is_some() {
                    break; // it could not bind
                }
                if serving::open(&format!("redis://127.0.0.1:{port}")).is_ok() {
                    return RedisServer(child, format!("redis://127.0.0.1:{port}"));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("redis-server did not start");
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn redis_serves_published_versions_whole() {
    let server = RedisServer::start();
    let store = serving::open(&server.1).unwrap();
    check_versions(store.as_ref(), "counts");
}

#[test]
fn an_unreachable_redis_is_named() {
    let error = serving::open("redis://127.0.0.1:1")
        .err()
        .unwrap()
        .to_string();
    assert!(error.contains("redis://127.0.0.1:1"), "{error}");
    let error = serving::open("memcached://x").err().unwrap().to_string();
    assert!(error.contains("memcached://x"), "{error}");
}

/// `GET path` against `address`: the status code and the JSON body.
fn get(address: std::net::SocketAddr, path: &str) -> (u16, Value) {
    let mut stream = TcpStream::connect(address).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    let body = &response[response.find("\r\n\r\n").unwrap() + 4..];
    (status, serde_json::from_str(body).unwrap())
}

#[test]
fn http_answers_from_the_published_version() {
    let store: Arc<dyn ServingStore> = Arc::new(serving::Embedded::default());
    let server = http::serve(store.clone(), "127.0.0.1:0").unwrap();
    let address = server.address();
    assert_eq!(get(address, "/views/counts/a").0, 404);
    store.put("counts", 7, &[("a".into(), json!(42))]).unwrap();
    assert_eq!(get(address, "/views/counts/a").0, 404);
    store.publish("counts", 7).unwrap();
    let (status, body) = get(address, "/views/counts/a");
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"view": "counts", "key": "a", "value": 42, "version": 7})
    );
    let (status, body) = get(address, "/views/counts/zzz");
    assert_eq!(status, 404);
    assert!(body["error"].as_str().unwrap().contains("zzz"));
    // Dropping the server shuts it down and joins its thread (a hang here would be the bug;
    // whether the port refuses connections afterwards depends on who takes it next).
    drop(server);
}
