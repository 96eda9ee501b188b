//! Keeps the keychain password from a server Tideline has not verified. Over plain TCP, or TLS
//! whose certificate nobody checked (sslmode prefer, or require without a root certificate), a
//! machine in the middle can pose as the server and ask for the password in cleartext — or as
//! an md5 hash with a salt of its choosing, which it can crack offline. SCRAM reveals neither.
//! libpq's answer is `require_auth`; tokio-postgres has none, so this reads the server's
//! messages as they arrive (under TLS, the decrypted ones) and ends the connection when the
//! server asks for cleartext or md5 — before tokio-postgres could answer.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, TlsConnect, TlsStream};

/// The authentication a server asked for and Tideline refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    Cleartext,
    Md5,
}

pub type Refusals = Arc<Mutex<Option<Refused>>>;

#[derive(Debug)]
enum State {
    /// The single byte answering an SSLRequest: `S` (TLS follows: watched on the TLS stream)
    /// or `N` (the protocol goes on in clear here).
    SslAnswer,
    /// Reading message headers: type and length (5 bytes), then, for `R`, its 4-byte code.
    Header {
        buf: Vec<u8>,
    },
    Skip {
        left: usize,
    },
    /// Authentication is over (or TLS took the stream): bytes pass unread.
    Done,
}

/// A stream that watches the server's side of the startup for a refused authentication.
pub struct AuthGuard<S> {
    inner: S,
    state: State,
    refusals: Refusals,
}

impl<S> AuthGuard<S> {
    /// `expects_ssl_answer`: the client will send an SSLRequest first (any sslmode but disable).
    pub fn new(inner: S, expects_ssl_answer: bool, refusals: Refusals) -> Self {
        let state = if expects_ssl_answer { State::SslAnswer } else { State::Header { buf: Vec::new() } };
        AuthGuard { inner, state, refusals }
    }

    /// Reads `bytes` (just received); Err when the server asked for a refused method.
    fn watch(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            match &mut self.state {
                State::Done => return Ok(()),
                State::SslAnswer => {
                    self.state = if bytes[0] == b'S' { State::Done } else { State::Header { buf: Vec::new() } };
                    bytes = &bytes[1..];
                }
                State::Skip { left } => {
                    let n = (*left).min(bytes.len());
                    *left -= n;
                    bytes = &bytes[n..];
                    if *left == 0 {
                        self.state = State::Header { buf: Vec::new() };
                    }
                }
                State::Header { buf } => {
                    let want = if buf.first() == Some(&b'R') { 9 } else { 5 };
                    let n = (want - buf.len()).min(bytes.len());
                    buf.extend_from_slice(&bytes[..n]);
                    bytes = &bytes[n..];
                    if buf.len() < 5 || (buf[0] == b'R' && buf.len() < 9) {
                        continue;
                    }
                    let len = u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize;
                    if buf[0] == b'R' {
                        let code = u32::from_be_bytes([buf[5], buf[6], buf[7], buf[8]]);
                        let refused = match code {
                            3 => Some(Refused::Cleartext),
                            5 => Some(Refused::Md5),
                            _ => None,
                        };
                        if let Some(r) = refused {
                            *self.refusals.lock().expect("refusals") = Some(r);
                            return Err(io::Error::new(
                                io::ErrorKind::PermissionDenied,
                                "refused authentication method",
                            ));
                        }
                        // AuthenticationOk ends what there is to watch.
                        self.state = if code == 0 { State::Done } else { State::Skip { left: len.saturating_sub(8) } };
                    } else {
                        self.state = State::Skip { left: len.saturating_sub(4) };
                    }
                    if matches!(self.state, State::Skip { left: 0 }) {
                        self.state = State::Header { buf: Vec::new() };
                    }
                }
            }
        }
        Ok(())
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for AuthGuard<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let new = buf.filled()[before..].to_vec();
                Poll::Ready(this.watch(&new))
            }
            other => other,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for AuthGuard<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl<S: TlsStream + Unpin> TlsStream for AuthGuard<S> {
    fn channel_binding(&self) -> ChannelBinding {
        self.inner.channel_binding()
    }
}

/// A TLS connector whose decrypted stream is watched like the plain one.
pub struct GuardedTls<T> {
    inner: T,
    refusals: Refusals,
}

impl<T> GuardedTls<T> {
    pub fn new(inner: T, refusals: Refusals) -> Self {
        GuardedTls { inner, refusals }
    }
}

impl<S, T> TlsConnect<S> for GuardedTls<T>
where
    T: TlsConnect<S> + Send + 'static,
    T::Future: Send + 'static,
    T::Stream: Unpin,
{
    type Stream = AuthGuard<T::Stream>;
    type Error = T::Error;
    type Future = Pin<Box<dyn std::future::Future<Output = Result<Self::Stream, T::Error>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        let (future, refusals) = (self.inner.connect(stream), self.refusals);
        Box::pin(async move { Ok(AuthGuard::new(future.await?, false, refusals)) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut m = vec![kind];
        m.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
        m.extend_from_slice(body);
        m
    }

    /// Feeds `stream` to a guard one byte at a time (the worst chunking) and whole.
    fn outcome(stream: &[u8], ssl: bool) -> Option<Refused> {
        let mut results = Vec::new();
        for chunk in [1, stream.len().max(1)] {
            let refusals: Refusals = Arc::default();
            let mut guard = AuthGuard::new((), ssl, refusals.clone());
            let failed = stream.chunks(chunk).any(|c| guard.watch(c).is_err());
            assert_eq!(failed, refusals.lock().unwrap().is_some());
            results.push(*refusals.lock().unwrap());
        }
        assert_eq!(results[0], results[1], "chunking changes nothing");
        results[0]
    }

    #[test]
    fn cleartext_and_md5_are_refused_scram_and_trust_are_not() {
        let cleartext = message(b'R', &3u32.to_be_bytes());
        let md5 = message(b'R', &[0, 0, 0, 5, 1, 2, 3, 4]);
        let mut sasl_body = 10u32.to_be_bytes().to_vec();
        sasl_body.extend_from_slice(b"SCRAM-SHA-256\0\0");
        let sasl = message(b'R', &sasl_body);
        let ok = message(b'R', &0u32.to_be_bytes());
        let notice = message(b'N', b"SNOTICE\0\0");
        assert_eq!(outcome(&[b"N".as_slice(), &cleartext].concat(), true), Some(Refused::Cleartext));
        assert_eq!(outcome(&[notice.as_slice(), &md5].concat(), false), Some(Refused::Md5));
        assert_eq!(outcome(&[sasl.as_slice(), &ok, &cleartext].concat(), false), None, "after SCRAM, nothing is read");
        assert_eq!(outcome(&[ok.as_slice(), &md5].concat(), false), None);
        // TLS answered: the raw stream is ciphertext from here on.
        assert_eq!(outcome(&[b"S".as_slice(), &cleartext].concat(), true), None);
    }
}
