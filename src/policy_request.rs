//! The request side of Postfix's SMTP access policy delegation protocol
//! (`check_policy_service`): `name=value` lines, one request ending at an
//! empty line. Pure and incremental, so a server feeds it the lines it reads
//! and a fuzz target feeds it anything.

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
///
/// The attributes are held in one string, in the order received, with
/// where each name and value lies: a request costs two allocations, not
/// two per attribute, and with at most [`MAX_POLICY_ATTRIBUTES`] names a
/// scan finds one as fast as a hash would.
#[derive(Debug, Clone, Default)]
pub struct PolicyRequest {
    text: String,
    attributes: Vec<Attribute>,
}

/// Where one attribute lies in the request's text: `name` is
/// `text[start..eq]`, the value `text[eq + 1..end]`.
#[derive(Debug, Clone, Copy, Default)]
struct Attribute {
    start: usize,
    eq: usize,
    end: usize,
}

impl PolicyRequest {
    fn name(&self, a: &Attribute) -> &str {
        &self.text[a.start..a.eq]
    }

    fn value(&self, a: &Attribute) -> &str {
        &self.text[a.eq + 1..a.end]
    }
}

/// Two requests are equal when they hold the same attributes, in any
/// order.
impl PartialEq for PolicyRequest {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self
                .attributes
                .iter()
                .all(|a| other.get(self.name(a)) == Some(self.value(a)))
    }
}

impl Eq for PolicyRequest {}

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
        self.attributes
            .iter()
            .find(|a| self.name(a) == name)
            .map(|a| self.value(a))
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
    request: PolicyRequest,
    /// Octets of the request so far.
    size: usize,
    /// A one-word filter of the names so far: a name whose bit is clear
    /// is new without a scan.
    seen: u64,
}

/// A name's bit in the filter: the top six bits of its FNV-1a hash
/// (Postfix's 32 attribute names take 29 different bits).
fn name_bit(name: &str) -> u64 {
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    1 << (hash >> 58)
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
        // Line endings are octets: strip them, and find `=`, as octets.
        let end = line
            .iter()
            .rposition(|&b| b != b'\r' && b != b'\n')
            .map_or(0, |i| i + 1);
        let text =
            std::str::from_utf8(&line[..end]).map_err(|_| PolicyRequestError::MalformedLine)?;
        if !text.is_empty() {
            let eq = text
                .bytes()
                .position(|b| b == b'=')
                .ok_or(PolicyRequestError::MalformedAttribute)?;
            let name = &text[..eq];
            let request = &mut self.request;
            if request.attributes.len() >= MAX_POLICY_ATTRIBUTES {
                return Err(PolicyRequestError::TooManyAttributes);
            }
            let bit = name_bit(name);
            if self.seen & bit != 0 && request.get(name).is_some() {
                return Err(PolicyRequestError::DuplicateAttribute);
            }
            self.seen |= bit;
            let start = request.text.len();
            request.text.push_str(text);
            request.attributes.push(Attribute {
                start,
                eq: start + name.len(),
                end: request.text.len(),
            });
            return Ok(None);
        }
        self.size = 0;
        self.seen = 0;
        // The next request's buffers start at this one's size.
        let next = PolicyRequest {
            text: String::with_capacity(self.request.text.len()),
            attributes: Vec::with_capacity(self.request.attributes.len()),
        };
        let request = std::mem::replace(&mut self.request, next);
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
    fn requests_compare_by_their_attributes_in_any_order() {
        let a = read(&["request=smtpd_access_policy\n", "x=1\n", "y=\n", "\n"]);
        let b = read(&["y=\n", "request=smtpd_access_policy\n", "x=1\n", "\n"]);
        let c = read(&["request=smtpd_access_policy\n", "x=2\n", "y=\n", "\n"]);
        assert_eq!(a[3], b[3]);
        assert_ne!(a[3], c[3]);
        let request = a[3].clone().unwrap().unwrap();
        assert_eq!(request.get("y"), Some(""));
        assert_eq!(request.get("x"), Some("1"));
        assert_eq!(request.get("x="), None);
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
