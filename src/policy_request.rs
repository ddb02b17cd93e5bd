//! The request side of Postfix's SMTP access policy delegation protocol
//! (`check_policy_service`): `name=value` lines, one request ending at an
//! empty line. Pure and incremental, so a server feeds it the lines it reads
//! and a fuzz target feeds it anything.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use thiserror::Error;

/// Longest request line accepted, without its line ending (Postfix's own
/// lines are far shorter). A reader should read at most this many octets
/// plus one before it gives up on finding the `\n`.
pub const MAX_POLICY_LINE: usize = 16 * 1024;

/// Most attributes, and so most lines before the empty one, in one
/// request (Postfix sends about 30).
pub const MAX_POLICY_ATTRIBUTES: usize = 100;

/// Most octets in one request, its line endings and empty line included
/// (Postfix's requests are well under 4 KiB). With [`MAX_POLICY_ATTRIBUTES`]
/// and [`MAX_POLICY_LINE`] it bounds what one request can make a server
/// hold.
pub const MAX_POLICY_REQUEST: usize = 64 * 1024;

/// Why a policy request was refused. The server should answer
/// `action=DEFER_IF_PERMIT <message>` and close the connection: after bad
/// input it can no longer tell where the next request starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Error)]
#[non_exhaustive]
pub enum PolicyRequestError {
    /// A line that is not UTF-8, has no `\n`, or is longer than
    /// [`MAX_POLICY_LINE`].
    #[error("malformed policy request line")]
    MalformedLine,
    /// A non-empty line without `=`.
    #[error("malformed policy request attribute")]
    MalformedAttribute,
    /// More than [`MAX_POLICY_ATTRIBUTES`] attributes in one request.
    #[error("too many policy request attributes")]
    TooManyAttributes,
    /// More than [`MAX_POLICY_REQUEST`] octets in one request.
    #[error("policy request too large")]
    RequestTooLarge,
    /// An attribute given twice in one request: which of two senders
    /// would be judged is not for the server to guess.
    #[error("duplicate policy request attribute")]
    DuplicateAttribute,
    /// A request whose `request` attribute is not `smtpd_access_policy`.
    #[error("not an smtpd_access_policy request")]
    NotAccessPolicy,
}

/// One complete `smtpd_access_policy` request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyRequest {
    attributes: HashMap<String, String>,
}

impl PolicyRequest {
    /// The value of an attribute (each is given once: the reader refuses
    /// a request that repeats one).
    ///
    /// ```
    /// use envelope_check::PolicyRequestReader;
    /// let mut reader = PolicyRequestReader::new();
    /// for line in ["request=smtpd_access_policy\n", "sender=a@example.com\n"] {
    ///     assert_eq!(reader.push_line(line.as_bytes()), Ok(None));
    /// }
    /// let request = reader.push_line(b"\n").unwrap().unwrap();
    /// assert_eq!(request.get("sender"), Some("a@example.com"));
    /// assert_eq!(request.get("recipient"), None);
    /// ```
    pub fn get(&self, name: &str) -> Option<&str> {
        self.attributes.get(name).map(String::as_str)
    }

    /// How many attributes the request holds.
    pub fn len(&self) -> usize {
        self.attributes.len()
    }

    /// Whether the request holds no attribute (never true of a request
    /// the reader returns, which has at least `request`).
    pub fn is_empty(&self) -> bool {
        self.attributes.is_empty()
    }
}

/// Reads requests line by line: [`push_line`](Self::push_line) returns
/// the request when its empty line arrives, so one request in gives at
/// most one request out.
///
/// ```
/// use envelope_check::{PolicyRequestError, PolicyRequestReader};
/// let mut reader = PolicyRequestReader::new();
/// assert_eq!(
///     reader.push_line(b"no equals sign\n"),
///     Err(PolicyRequestError::MalformedAttribute)
/// );
/// ```
#[derive(Debug, Default)]
pub struct PolicyRequestReader {
    attributes: HashMap<String, String>,
    /// Octets of the request so far.
    size: usize,
}

impl PolicyRequestReader {
    /// A reader waiting for the first line of a request.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes one line as read, `\n` included (a `\r` before it, or more
    /// line-ending characters, are ignored). Returns `Ok(None)` while the
    /// request goes on, the request at the empty line that ends it, or why
    /// the input cannot be read; after an error the reader should be
    /// dropped with its connection.
    pub fn push_line(&mut self, line: &[u8]) -> Result<Option<PolicyRequest>, PolicyRequestError> {
        if line.len() > MAX_POLICY_LINE + 1 || !line.ends_with(b"\n") {
            return Err(PolicyRequestError::MalformedLine);
        }
        self.size += line.len();
        if self.size > MAX_POLICY_REQUEST {
            return Err(PolicyRequestError::RequestTooLarge);
        }
        let text = std::str::from_utf8(line)
            .map_err(|_| PolicyRequestError::MalformedLine)?
            .trim_end_matches(['\r', '\n']);
        if !text.is_empty() {
            let (name, value) = text
                .split_once('=')
                .ok_or(PolicyRequestError::MalformedAttribute)?;
            if self.attributes.len() >= MAX_POLICY_ATTRIBUTES {
                return Err(PolicyRequestError::TooManyAttributes);
            }
            return match self.attributes.entry(name.to_owned()) {
                Entry::Occupied(_) => Err(PolicyRequestError::DuplicateAttribute),
                Entry::Vacant(slot) => {
                    slot.insert(value.to_owned());
                    Ok(None)
                }
            };
        }
        self.size = 0;
        let request = PolicyRequest {
            attributes: std::mem::take(&mut self.attributes),
        };
        match request.get("request") {
            Some("smtpd_access_policy") => Ok(Some(request)),
            _ => Err(PolicyRequestError::NotAccessPolicy),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(lines: &[&str]) -> Vec<Result<Option<PolicyRequest>, PolicyRequestError>> {
        let mut reader = PolicyRequestReader::new();
        lines
            .iter()
            .map(|l| reader.push_line(l.as_bytes()))
            .collect()
    }

    #[test]
    fn requests_end_at_the_empty_line() {
        let out = read(&[
            "request=smtpd_access_policy\r\n",
            "protocol_state=RCPT\n",
            "sender=a=b@example.com\n",
            "\n",
            "request=smtpd_access_policy\n",
            "\r\n",
        ]);
        assert!(out[..3].iter().all(|r| *r == Ok(None)));
        let first = out[3].clone().unwrap().unwrap();
        assert_eq!(first.get("protocol_state"), Some("RCPT"));
        assert_eq!(first.get("sender"), Some("a=b@example.com"));
        assert_eq!(first.len(), 3);
        // The second request starts empty.
        assert_eq!(out[5].clone().unwrap().unwrap().len(), 1);
    }

    #[test]
    fn bad_input_is_refused() {
        let mut r = PolicyRequestReader::new();
        assert_eq!(r.push_line(b"a=b"), Err(PolicyRequestError::MalformedLine));
        assert_eq!(
            r.push_line(b"a=\xff\n"),
            Err(PolicyRequestError::MalformedLine)
        );
        assert_eq!(
            r.push_line(b"ab\n"),
            Err(PolicyRequestError::MalformedAttribute)
        );
        assert_eq!(r.push_line(b"\n"), Err(PolicyRequestError::NotAccessPolicy));
        let long = format!("a={}\n", "x".repeat(MAX_POLICY_LINE - 2));
        assert_eq!(r.push_line(long.as_bytes()), Ok(None));
        let longer = format!("a={}\n", "x".repeat(MAX_POLICY_LINE - 1));
        assert_eq!(
            r.push_line(longer.as_bytes()),
            Err(PolicyRequestError::MalformedLine)
        );
    }

    #[test]
    fn attributes_are_capped() {
        let mut r = PolicyRequestReader::new();
        for i in 0..MAX_POLICY_ATTRIBUTES {
            assert_eq!(r.push_line(format!("a{i}=x\n").as_bytes()), Ok(None));
        }
        // Once full, any further line is refused, a repeated name too.
        for line in [&b"a0=y\n"[..], b"new=x\n"] {
            assert_eq!(
                r.push_line(line),
                Err(PolicyRequestError::TooManyAttributes)
            );
        }
    }

    #[test]
    fn a_repeated_attribute_is_refused() {
        let mut r = PolicyRequestReader::new();
        assert_eq!(r.push_line(b"sender=a@example.com\n"), Ok(None));
        assert_eq!(
            r.push_line(b"sender=b@example.com\n"),
            Err(PolicyRequestError::DuplicateAttribute)
        );
        // The same name with another value is a repeat too, and so is an
        // empty value.
        let mut r = PolicyRequestReader::new();
        assert_eq!(r.push_line(b"sender=\n"), Ok(None));
        assert_eq!(
            r.push_line(b"sender=\n"),
            Err(PolicyRequestError::DuplicateAttribute)
        );
    }

    #[test]
    fn the_whole_request_is_capped_in_octets() {
        let mut r = PolicyRequestReader::new();
        let value = "x".repeat(MAX_POLICY_LINE - 10);
        let mut size = 0;
        let mut i = 0;
        let refused = loop {
            let line = format!("a{i}={value}\n");
            size += line.len();
            match r.push_line(line.as_bytes()) {
                Ok(None) => assert!(size <= MAX_POLICY_REQUEST),
                other => break other,
            }
            i += 1;
        };
        assert_eq!(refused, Err(PolicyRequestError::RequestTooLarge));
        assert!(size > MAX_POLICY_REQUEST);
        assert!(i < MAX_POLICY_ATTRIBUTES);
    }

    #[test]
    fn each_request_has_its_own_budget() {
        // Two requests of three quarters of the cap each are both read.
        let mut r = PolicyRequestReader::new();
        let value = "x".repeat(MAX_POLICY_LINE - 10);
        for _ in 0..2 {
            assert_eq!(r.push_line(b"request=smtpd_access_policy\n"), Ok(None));
            for i in 0..(MAX_POLICY_REQUEST * 3 / 4 / MAX_POLICY_LINE) {
                let line = format!("a{i}={value}\n");
                assert_eq!(r.push_line(line.as_bytes()), Ok(None));
            }
            assert!(r.push_line(b"\n").unwrap().is_some());
        }
    }
}
