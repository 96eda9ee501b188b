//! An HTTP server on loopback that answers as told, for the webhook tests here and in the
//! tests crate (one copy of the little HTTP it speaks). Not used by Tideline itself.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Request lines and bodies, as the server saw them.
pub type Requests = Arc<Mutex<Vec<(String, String)>>>;

/// Answers each request with the next of `statuses`, the last one from then on (`0`: say
/// nothing, as a hung server would); returns its base URL and what it heard.
pub fn server(statuses: Vec<u16>) -> (String, Requests) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let base = format!("http://{}", listener.local_addr().expect("its address"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        let last = statuses.last().copied().unwrap_or(200);
        let mut next = statuses.into_iter().chain(std::iter::repeat(last));
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let status = next.next().unwrap_or(last);
            let Some((line, body)) = request(&stream) else { continue };
            log.lock().expect("the log").push((line, body));
            let mut stream = stream;
            if status == 0 {
                // Silent: hold the connection open past the client's timeout, elsewhere.
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(800));
                    drop(stream);
                });
                continue;
            }
            // A redirect points elsewhere on this server (a client that follows it asks again).
            let location = if (300..400).contains(&status) { "location: /moved\r\n" } else { "" };
            let _ = write!(stream, "HTTP/1.1 {status} X\r\n{location}content-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    (base, seen)
}

/// The request line and the body.
fn request(stream: &std::net::TcpStream) -> Option<(String, String)> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut length = 0;
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        if h.trim().is_empty() {
            break;
        }
        if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().ok()?;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some((line.trim().to_string(), String::from_utf8_lossy(&body).into_owned()))
}
