//! hyper's own answers to requests it cannot parse, rewritten into the API's error body.
//!
//! Why this is done on the socket: a request line or head that hyper's HTTP/1 parser refuses
//! (URI over 65 534 bytes → 414; more than 100 headers or a head over the read buffer → 431;
//! a bad method, header or version → 400) never reaches our service. hyper writes a bare
//! status line itself (`Role::on_error`, no body, no hook) and closes the connection. Raising
//! hyper's limits only moves the edge (the URI limit is a constant), so the connection's
//! writer watches for exactly that answer and replaces it with the API's documented error body.
//!
//! What is recognised, and why nothing else can be: hyper hands the automatic answer to the
//! socket as one complete head — `HTTP/1.x 400|414|431 …\r\n…\r\n\r\n` with no
//! `content-type` — in a single write. Every response the gateway makes carries
//! `content-type: application/json` (its 204s are not 4xx), and a body chunk cannot be a
//! whole head: JSON bodies have no raw CR LF, and a compressed chunk would have to start with
//! that status line and end exactly with an empty line. The check on every other write is
//! one prefix comparison.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Renders the replacement response for a status hyper chose (400, 414 or 431).
pub type Renderer = std::sync::Arc<dyn Fn(u16) -> Vec<u8> + Send + Sync>;

/// A connection whose parse-error answers are the API's.
pub struct ParseErrorsInApiBody<S> {
    inner: S,
    render: Renderer,
    /// Replacement bytes still to write, and how many are written.
    pending: Option<(Vec<u8>, usize)>,
}

impl<S> ParseErrorsInApiBody<S> {
    pub fn new(inner: S, render: Renderer) -> Self {
        Self { inner, render, pending: None }
    }
}

/// The status of hyper's automatic parse-error answer, when `buf` is one.
pub fn automatic_error_status(buf: &[u8]) -> Option<u16> {
    // Cheap test first: every response head starts like this, body chunks almost never.
    if buf.len() < 17 || !buf.starts_with(b"HTTP/1.") || buf[8] != b' ' || buf[12] != b' ' {
        return None;
    }
    let status = match &buf[9..12] {
        b"400" => 400,
        b"414" => 414,
        b"431" => 431,
        _ => return None,
    };
    // Exactly one complete head, nothing after it.
    let end = buf.windows(4).position(|window| window == b"\r\n\r\n")?;
    if end + 4 != buf.len() {
        return None;
    }
    let has_content_type = buf[..end]
        .split(|&b| b == b'\n')
        .any(|line| line.len() >= 13 && line[..13].eq_ignore_ascii_case(b"content-type:"));
    (!has_content_type).then_some(status)
}

impl<S: AsyncWrite + Unpin> ParseErrorsInApiBody<S> {
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, written)) = &mut self.pending {
            if *written == bytes.len() {
                self.pending = None;
                break;
            }
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        Poll::Ready(Ok(()))
    }

    /// Takes hyper's answer in `buf` and queues ours instead; false when `buf` is not one.
    fn replace(&mut self, buf: &[u8]) -> bool {
        match automatic_error_status(buf) {
            Some(status) => {
                tracing::debug!(status, "request refused by the HTTP parser; answering in the API's body");
                self.pending = Some(((self.render)(status), 0));
                true
            }
            None => false,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for ParseErrorsInApiBody<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for ParseErrorsInApiBody<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.drain(cx))?;
        if this.replace(buf) {
            // hyper's bytes count as written; ours go out on this call, flush or shutdown.
            let _ = this.drain(cx)?;
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.drain(cx))?;
        let mut non_empty = bufs.iter().filter(|buf| !buf.is_empty());
        if let (Some(only), None) = (non_empty.next(), non_empty.next()) {
            if this.replace(only) {
                let _ = this.drain(cx)?;
                return Poll::Ready(Ok(only.len()));
            }
        }
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.drain(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.drain(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::automatic_error_status;

    #[test]
    fn recognises_only_a_bare_complete_4xx_head() {
        assert_eq!(automatic_error_status(b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\n\r\n"), Some(414));
        assert_eq!(
            automatic_error_status(b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: x\r\n\r\n"),
            Some(431)
        );
        assert_eq!(automatic_error_status(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n"), Some(400));
        // Ours: a content type, or a body after the head, or another status.
        assert_eq!(
            automatic_error_status(b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n"),
            None
        );
        assert_eq!(automatic_error_status(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 2\r\n\r\n{}"), None);
        assert_eq!(automatic_error_status(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n"), None);
        assert_eq!(automatic_error_status(b"{\"error\":\"HTTP/1.1 400 x\"}"), None);
        assert_eq!(automatic_error_status(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n"), None, "incomplete head");
    }
}
