//! JSON-RPC framing over a byte stream: `Content-Length` headers, then the
//! body. A frame that cannot be read (a header without a length, a body
//! larger than [`MAX_BODY`]) is reported and skipped, and reading goes on:
//! one bad message never ends the session.

use std::io::{self, BufRead, Read, Write};

/// The largest message body read into memory (a client never sends one
/// this large; a lying header must not make the server allocate it).
pub const MAX_BODY: u64 = 256 * 1024 * 1024;

/// The longest header line read; longer ones are junk.
const MAX_HEADER_LINE: u64 = 8 * 1024;

/// What one read produced.
pub enum Frame {
    /// A message body.
    Body(Vec<u8>),
    /// A frame that could not be read, and why (it was skipped).
    Bad(String),
    /// The stream ended.
    Eof,
}

/// Reads the next frame.
pub fn read_frame(r: &mut impl BufRead) -> io::Result<Frame> {
    let mut length: Option<Result<u64, String>> = None;
    let mut saw_header = false;
    loop {
        let mut line = Vec::new();
        let n = r
            .by_ref()
            .take(MAX_HEADER_LINE)
            .read_until(b'\n', &mut line)?;
        if n == 0 {
            return Ok(Frame::Eof);
        }
        if !line.ends_with(b"\n") && n as u64 == MAX_HEADER_LINE {
            // Skip the rest of the over-long line.
            let mut sink = Vec::new();
            while r
                .by_ref()
                .take(MAX_HEADER_LINE)
                .read_until(b'\n', &mut sink)?
                > 0
            {
                if sink.ends_with(b"\n") {
                    break;
                }
                sink.clear();
            }
            length = Some(Err("a header line is too long".into()));
            saw_header = true;
            continue;
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        if text.is_empty() {
            if !saw_header {
                // Blank lines between messages.
                continue;
            }
            break;
        }
        saw_header = true;
        if let Some((name, value)) = text.split_once(':') {
            if name.trim().eq_ignore_ascii_case("content-length") {
                length = Some(
                    value
                        .trim()
                        .parse::<u64>()
                        .map_err(|_| format!("bad Content-Length `{}`", value.trim())),
                );
            }
        } else if length.is_none() {
            length = Some(Err(format!(
                "expected a `Content-Length: N` header, read `{}`",
                crate::rules::text::excerpt(text, 60)
            )));
        }
    }
    let n = match length {
        None => {
            return Ok(Frame::Bad(
                "the message has no Content-Length header".into(),
            ))
        }
        Some(Err(why)) => return Ok(Frame::Bad(why)),
        Some(Ok(n)) => n,
    };
    if n > MAX_BODY {
        io::copy(&mut r.by_ref().take(n), &mut io::sink())?;
        return Ok(Frame::Bad(format!(
            "the message is {n} bytes long, more than the {MAX_BODY} bytes twice reads"
        )));
    }
    let mut body = Vec::new();
    r.by_ref().take(n).read_to_end(&mut body)?;
    if (body.len() as u64) < n {
        return Ok(Frame::Eof);
    }
    Ok(Frame::Body(body))
}

/// Writes one message.
pub fn write_message(w: &mut dyn Write, msg: &serde_json::Value) -> io::Result<()> {
    let body = serde_json::to_vec(msg).map_err(io::Error::other)?;
    write!(w, "Content-Length: {}\r\n\r\n", body.len())?;
    w.write_all(&body)?;
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(input: &[u8]) -> Vec<String> {
        let mut r = io::BufReader::new(input);
        let mut out = Vec::new();
        loop {
            match read_frame(&mut r).unwrap() {
                Frame::Body(b) => out.push(String::from_utf8(b).unwrap()),
                Frame::Bad(why) => out.push(format!("BAD {why}")),
                Frame::Eof => return out,
            }
        }
    }

    #[test]
    fn bad_frames_are_skipped_and_reading_goes_on() {
        let input =
            b"Content-Length: 2\r\n\r\n{}garbage\r\n\r\nContent-Length: 99999999999999\r\n\r\nxx";
        let got = frames(input);
        assert_eq!(got[0], "{}");
        assert!(
            got[1].starts_with("BAD expected a `Content-Length"),
            "{got:?}"
        );
        assert!(got[2].starts_with("BAD the message is"), "{got:?}");
        assert_eq!(got.len(), 3);
        let got = frames(b"Content-Type: x\r\n\r\nContent-Length: 4\r\n\r\n[1]\n");
        assert_eq!(
            got,
            ["BAD the message has no Content-Length header", "[1]\n"]
        );
    }
}
