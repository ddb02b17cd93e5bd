//! One client connection: requests until EOF, the idle timeout, bad input,
//! or a request to close (to make room, or at shutdown).

use std::pin::Pin;
use std::time::Instant;

use envelope_check::{MAX_POLICY_LINE, PolicyRequestReader};
use tokio::io::{
    AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader,
};

use crate::connections::Admission;
use crate::decide::decide;
use crate::server::Server;

enum Next {
    Line,
    Hangup,
    CloseRequested,
}

/// Serves one connection, given as its two halves.
pub(crate) async fn serve<R, W>(reader: R, mut writer: W, server: &Server, admission: Admission)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut reader = BufReader::new(reader);
    let mut requests = PolicyRequestReader::new();
    let mut line = Vec::new();
    let slot = admission.slot();
    // Set when asked to close in the middle of a request: it is answered
    // first.
    let mut closing = false;
    // When the request under way began (its first octet was read).
    let mut started: Option<Instant> = None;
    loop {
        // Postfix sends a request in one write: most lines are already
        // read, and are taken without a timer or a wake-up.
        let next = if take_buffered_line(&mut reader, &mut line) {
            Next::Line
        } else {
            // At most one line's worth, counting what an interrupted read
            // already kept.
            let room = (MAX_POLICY_LINE + 1).saturating_sub(line.len()) as u64;
            let mut limited = (&mut reader).take(room);
            // Between requests the idle timeout; once a request has begun,
            // what is left of its own bound, so that trickling lines (or
            // octets) cannot hold a connection, busy and unevictable.
            let wait = match started {
                Some(begun) => server.request_timeout.saturating_sub(begun.elapsed()),
                None => server.idle,
            };
            let read = tokio::time::timeout(wait, limited.read_until(b'\n', &mut line));
            tokio::select! {
                biased;
                read = read => match read {
                    Err(_) | Ok(Err(_)) | Ok(Ok(0)) => Next::Hangup,
                    Ok(Ok(_)) => Next::Line,
                },
                () = slot.close_requested(), if !closing => Next::CloseRequested,
            }
        };
        match next {
            Next::Hangup => return,
            // `read_until` keeps in `line` what it read before it was
            // interrupted: a partial line is a request under way.
            Next::CloseRequested if started.is_none() && line.is_empty() => return,
            Next::CloseRequested => {
                // Evicted with part of a line in: the rest must come within
                // the request bound, not the idle timeout.
                closing = true;
                started.get_or_insert_with(Instant::now);
                continue;
            }
            Next::Line => {}
        }
        if started.is_none() {
            started = Some(Instant::now());
            slot.set_busy();
        }
        let pushed = requests.push_line(&line);
        line.clear();
        let action = match pushed {
            Ok(None) => continue,
            Ok(Some(request)) => decide(server, &request).await,
            Err(e) => {
                server.log_refusal(&e);
                let refusal = format!("action=DEFER_IF_PERMIT {e}\n\n");
                let _ = send(&mut writer, refusal.as_bytes(), server).await;
                return;
            }
        };
        let mut answer = String::with_capacity(action.len() + 9);
        answer.push_str("action=");
        answer.push_str(&action);
        answer.push_str("\n\n");
        if !send(&mut writer, answer.as_bytes(), server).await {
            return;
        }
        if let Some(started) = started.take() {
            server.metrics.observe_latency(started.elapsed());
        }
        slot.set_idle(admission.now_ticks());
        if closing {
            return;
        }
    }
}

/// Writes an answer within the request bound: a client that sends
/// requests and never reads the answers is closed, not waited for.
async fn send<W: AsyncWrite + Unpin>(writer: &mut W, answer: &[u8], server: &Server) -> bool {
    matches!(
        tokio::time::timeout(server.request_timeout, writer.write_all(answer)).await,
        Ok(Ok(()))
    )
}

/// Moves a whole line from what `reader` has buffered into `line`, if
/// there is one within the line limit.
fn take_buffered_line<R: AsyncRead + Unpin>(reader: &mut BufReader<R>, line: &mut Vec<u8>) -> bool {
    let room = (MAX_POLICY_LINE + 1).saturating_sub(line.len());
    let buffered = reader.buffer();
    let window = &buffered[..buffered.len().min(room)];
    match window.iter().position(|&b| b == b'\n') {
        Some(end) => {
            line.extend_from_slice(&window[..=end]);
            Pin::new(reader).consume(end + 1);
            true
        }
        None => false,
    }
}
