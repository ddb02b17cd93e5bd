//! `Transaction`: one SMTP transaction's state, owned, so that it can live
//! in an MTA's session struct next to an `Arc<Checker>`.

use std::fmt;

use crate::address::AddressError;
use crate::checker::{Argument, CheckOptions, Checker};
use crate::policy::Policy;
use crate::resolver::Resolver;
use crate::verdict::{Reason, Reject, Role, Rule, Verdict};
use crate::{ForwardPath, ReversePath};

/// One SMTP transaction: `MAIL FROM`, then any number of `RCPT TO`, with
/// Postfix's command order.
///
/// - `RCPT TO` outside a transaction gets `503 5.5.1 Error: need MAIL
///   command`, and a second `MAIL FROM` gets `503 5.5.1 Error: nested MAIL
///   command`, before any syntax check.
/// - By default the sender is judged at `MAIL` time (Postfix's
///   `smtpd_delay_reject = no`): only an accepted sender opens the
///   transaction. With [`delay_reject(true)`](Self::delay_reject) (Postfix's
///   default), a `MAIL FROM` whose path parses opens it and gets `250` from
///   [`command`](Self::command), and each `RCPT TO` gets the sender's reject
///   if there is one, as from Postfix.
/// - The transaction's SMTPUTF8 carries over to its recipients, and its
///   sender to the tracking rule.
/// - With `delay_reject`, a sender access map's `DEFER_IF_PERMIT` deferral
///   goes to every recipient that is not itself rejected.
///
/// ```
/// use std::sync::Arc;
/// use envelope_check::{Checker, InMemoryResolver, Policy, Transaction};
///
/// struct Session {
///     checker: Arc<Checker<InMemoryResolver>>,
///     transaction: Transaction,
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let mut dns = InMemoryResolver::new();
/// dns.add_mx("shop.example", 10, "mx.shop.example").unwrap();
/// let mut session = Session {
///     checker: Arc::new(Checker::new(dns, Policy::default())),
///     transaction: Transaction::default(),
/// };
/// let tx = &mut session.transaction;
/// let checker = &session.checker;
/// assert_eq!(
///     tx.rcpt_to(checker, "<a@shop.example>").await.to_string(),
///     "503 5.5.1 Error: need MAIL command"
/// );
/// assert!(tx.mail_from(checker, "<buyer@shop.example>").await.is_accept());
/// // Raw bytes off the wire work the same way.
/// assert!(tx.rcpt_to(checker, &b"<info@shop.example>"[..]).await.is_accept());
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct Transaction {
    options: CheckOptions,
    delay_reject: bool,
    /// The sender, once a `MAIL FROM` parsed: the transaction is open.
    sender: Option<ReversePath<'static>>,
    /// The sender's verdict, which Postfix repeats at each `RCPT`.
    sender_verdict: Option<Verdict>,
    smtputf8: bool,
}

impl Transaction {
    /// A transaction whose checks run with `options` (explanations; a
    /// session-wide SMTPUTF8).
    pub fn new(options: CheckOptions) -> Self {
        Self {
            options,
            ..Self::default()
        }
    }

    /// Postfix's `smtpd_delay_reject`: judge the sender at each `RCPT TO`
    /// rather than at `MAIL FROM`. Default: no.
    pub fn delay_reject(mut self, yes: bool) -> Self {
        self.delay_reject = yes;
        self
    }

    /// `MAIL FROM:`: checks the sender, and opens the transaction if the
    /// sender is accepted (with `delay_reject`, if its path parses).
    pub async fn mail_from<'a, R: Resolver>(
        &mut self,
        checker: &Checker<R>,
        arg: impl Into<Argument<'a>>,
    ) -> Verdict {
        if self.sender.is_some() {
            return out_of_order(Role::Sender);
        }
        let (verdict, sender, smtputf8) = checker.mail_from_parsed(arg.into(), self.options).await;
        if verdict.is_accept() || (self.delay_reject && sender.is_some()) {
            self.smtputf8 = smtputf8;
            self.sender = sender;
            self.sender_verdict = Some(verdict.clone());
        }
        verdict
    }

    /// The options its checks run with.
    pub fn options(&self) -> CheckOptions {
        self.options
    }

    /// The sender's verdict, once a transaction is open.
    pub fn sender_verdict(&self) -> Option<&Verdict> {
        self.sender_verdict.as_ref()
    }

    /// `RCPT TO:`: checks a recipient under the transaction's SMTPUTF8, and
    /// gives the reply Postfix gives: the sender's reject when the sender
    /// was rejected, the sender's `DEFER_IF_PERMIT` deferral when the
    /// recipient is not itself rejected, else the recipient's verdict.
    pub async fn rcpt_to<'a, R: Resolver>(
        &mut self,
        checker: &Checker<R>,
        arg: impl Into<Argument<'a>>,
    ) -> Verdict {
        let Some(sender_verdict) = &self.sender_verdict else {
            return out_of_order(Role::Recipient);
        };
        let deferral = match sender_verdict.reject() {
            Some(r) if r.is_deferred_permit() => Some(sender_verdict),
            Some(_) => return sender_verdict.clone(),
            None => None,
        };
        let sender = self.sender.as_ref().and_then(ReversePath::mailbox);
        let options = self.options.smtputf8(self.smtputf8);
        let verdict = checker.rcpt_to_with(arg.into(), sender, options).await;
        match (deferral, verdict.reject()) {
            (Some(deferral), None) => deferral.clone(),
            (Some(deferral), Some(r)) if matches!(r.reason(), Reason::TemporaryFailure(_)) => {
                deferral.clone()
            }
            _ => verdict,
        }
    }

    /// One SMTP command line (`MAIL FROM:`, `RCPT TO:` or `RSET`, any case,
    /// CRLF optional) as Postfix answers it: command order first, then the
    /// keyword, then the checks. Any other command gets `500 5.5.2 Error:
    /// command not recognized`: HELO, DATA and the rest are the MTA's
    /// business. Text that is not UTF-8 gets `500 5.5.2 Error: bad UTF-8
    /// syntax`.
    ///
    /// ```
    /// use envelope_check::{Checker, InMemoryResolver, Policy, Transaction};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let checker = Checker::new(InMemoryResolver::new(), Policy::default());
    /// let mut tx = Transaction::default();
    /// let reply = tx.command(&checker, b"RCPT TO:<a@example.com>\r\n").await;
    /// assert_eq!(reply.to_string(), "503 5.5.1 Error: need MAIL command");
    /// assert_eq!(reply.code(), 503);
    /// # }
    /// ```
    pub async fn command<R: Resolver>(&mut self, checker: &Checker<R>, line: &[u8]) -> Reply {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Ok(text) = std::str::from_utf8(line) else {
            return Reply::Protocol(ProtocolReply::BadUtf8);
        };
        let (verb, rest) = text.split_once([' ', '\t']).unwrap_or((text, ""));
        let rest = rest.trim_start_matches([' ', '\t']);
        if verb.eq_ignore_ascii_case("MAIL") {
            if self.is_open() {
                return Reply::Verdict(out_of_order(Role::Sender));
            }
            let Some(arg) = strip_keyword(rest, "FROM:") else {
                return Reply::Verdict(missing_path(Role::Sender));
            };
            let verdict = self.mail_from(checker, arg).await;
            if self.delay_reject && self.is_open() {
                // Postfix answers 250 now and the sender's reject at RCPT.
                return Reply::Verdict(Verdict::Accept(crate::verdict::Accept::new(
                    Role::Sender,
                    verdict.rule(),
                )));
            }
            Reply::Verdict(verdict)
        } else if verb.eq_ignore_ascii_case("RCPT") {
            if !self.is_open() {
                return Reply::Verdict(out_of_order(Role::Recipient));
            }
            match strip_keyword(rest, "TO:") {
                Some(arg) => Reply::Verdict(self.rcpt_to(checker, arg).await),
                None => Reply::Verdict(missing_path(Role::Recipient)),
            }
        } else if verb.eq_ignore_ascii_case("RSET") {
            if !rest.is_empty() {
                return Reply::Protocol(ProtocolReply::ResetSyntax);
            }
            self.reset();
            Reply::Protocol(ProtocolReply::Reset)
        } else {
            Reply::Protocol(ProtocolReply::NotRecognized)
        }
    }

    /// `RSET` (or the end of the transaction): forgets the sender.
    pub fn reset(&mut self) {
        *self = Self::new(self.options).delay_reject(self.delay_reject);
    }

    /// Whether a transaction is open (a `MAIL FROM` parsed).
    pub fn is_open(&self) -> bool {
        self.sender.is_some()
    }

    /// Whether the transaction declared SMTPUTF8.
    pub fn smtputf8(&self) -> bool {
        self.smtputf8
    }

    /// The sender, once `MAIL FROM` parsed.
    pub fn sender(&self) -> Option<&ReversePath<'static>> {
        self.sender.as_ref()
    }

    /// For a sender reject: whether the tracking log of the party that
    /// receives `rcpt` shows it (inbound: the recipient's domain is one of
    /// the policy's managed domains; outbound: the sender's is). `rcpt` is
    /// a `RCPT TO` argument, as for [`rcpt_to`](Self::rcpt_to); one that
    /// does not parse is not tracked.
    pub fn sender_reject_tracked_for<'a>(
        &self,
        policy: &Policy,
        rcpt: impl Into<Argument<'a>>,
    ) -> bool {
        let Ok(path) = rcpt.into().forward_path(self.smtputf8) else {
            return false;
        };
        let sender = self.sender.as_ref().and_then(ReversePath::mailbox);
        policy.is_tracked_for(Role::Sender, sender, ForwardPath::mailbox(&path))
    }
}

fn out_of_order(role: Role) -> Verdict {
    Verdict::Reject(Reject::new(
        role,
        503,
        Reason::OutOfOrder,
        Rule::CommandOrder,
        "",
        "",
    ))
}

fn missing_path(role: Role) -> Verdict {
    crate::engine::syntax_error(role, AddressError::MissingPath)
}

/// `FROM:<a>` → `<a>`, the keyword in any case.
fn strip_keyword<'a>(text: &'a str, keyword: &str) -> Option<&'a str> {
    let head = text.get(..keyword.len())?;
    head.eq_ignore_ascii_case(keyword)
        .then(|| &text[keyword.len()..])
}

/// A reply that is not about an address, in Postfix's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProtocolReply {
    /// `RSET`: `250 2.0.0 Ok`.
    Reset,
    /// `RSET` with an argument: `501 5.5.4 Syntax: RSET`.
    ResetSyntax,
    /// Any other command: `500 5.5.2 Error: command not recognized`.
    NotRecognized,
    /// A line that is not UTF-8: `500 5.5.2 Error: bad UTF-8 syntax`.
    BadUtf8,
}

impl ProtocolReply {
    /// The reply code.
    pub fn code(self) -> u16 {
        match self {
            Self::Reset => 250,
            Self::ResetSyntax => 501,
            Self::NotRecognized | Self::BadUtf8 => 500,
        }
    }
}

impl fmt::Display for ProtocolReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Reset => "250 2.0.0 Ok",
            Self::ResetSyntax => "501 5.5.4 Syntax: RSET",
            Self::NotRecognized => "500 5.5.2 Error: command not recognized",
            Self::BadUtf8 => "500 5.5.2 Error: bad UTF-8 syntax",
        })
    }
}

/// The reply to one command line ([`Transaction::command`]). `Display`
/// gives the reply line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Reply {
    /// A `MAIL FROM` or `RCPT TO` verdict (command-order and keyword
    /// errors included).
    Verdict(Verdict),
    /// Any other reply.
    Protocol(ProtocolReply),
}

impl Reply {
    /// The reply code.
    pub fn code(&self) -> u16 {
        match self {
            Self::Verdict(v) => v.code(),
            Self::Protocol(p) => p.code(),
        }
    }

    /// The verdict, for a `MAIL FROM` or `RCPT TO`.
    pub fn verdict(&self) -> Option<&Verdict> {
        match self {
            Self::Verdict(v) => Some(v),
            Self::Protocol(_) => None,
        }
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Verdict(v) => fmt::Display::fmt(v, f),
            Self::Protocol(p) => fmt::Display::fmt(p, f),
        }
    }
}
