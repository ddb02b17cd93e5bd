//! Property-testing mail software (cargo feature `proptest`): strategies
//! that generate envelope paths labelled with the verdict Postfix gives
//! them, and a table of real Postfix 3.7 replies to replay.
//!
//! Every generated [`Sample`] carries its [`Class`] (what kind of path it
//! is) and, for each role, its [`Expected`] outcome: accepted, looked up in
//! DNS, `504` (not fully qualified) or `501` (bad syntax). The labels come
//! from the rules Postfix applies (`strict_rfc821_envelopes = no`,
//! `smtputf8_enable = yes`, the default `allow_percent_hack` and
//! `swap_bangpath`), and a sample of every class was answered by a real
//! Postfix: a test of this crate replays it row by row. A sample shrinks
//! within its class: a failing `504` case shrinks to a smaller `504` case,
//! never to a `501`.
//!
//! [`Sample::reply_on_empty_dns`] gives the exact reply line Postfix sends
//! when no domain exists in DNS, so a handler can be tested on an empty
//! resolver. [`corpus`] is the other half: paths answered by a real
//! Postfix on a fixed DNS ([`corpus_resolver`]) and configuration
//! ([`corpus_policy`]).
//!
//! A downstream `MAIL FROM` handler, property-tested and then replayed
//! against the corpus:
//!
//! ```
//! use envelope_check::testing::{self, Class, Expected};
//! use envelope_check::{CheckOptions, Checker, InMemoryResolver, Policy, Resolver, Role};
//! use proptest::prelude::*;
//!
//! /// The MTA's own handler: here it delegates to the crate's checker.
//! fn mail_from<R: Resolver>(checker: &Checker<R>, argument: &str) -> String {
//!     let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
//!     runtime.block_on(checker.mail_from(argument, CheckOptions::default())).to_string()
//! }
//!
//! // Every 504 path gets Postfix's 504 line, on a DNS with no names at all.
//! let empty = Checker::new(InMemoryResolver::new(), Policy::default());
//! proptest!(|(sample in testing::reverse_path(Class::NotFullyQualified))| {
//!     prop_assert_eq!(&sample.sender, &Expected::NotFullyQualified);
//!     let reply = mail_from(&empty, &sample.mail_from_argument());
//!     prop_assert_eq!(reply, sample.reply_on_empty_dns(Role::Sender));
//! });
//!
//! // The corpus, on the DNS and configuration Postfix had.
//! let checker = Checker::new(testing::corpus_resolver(), testing::corpus_policy());
//! for row in testing::corpus().iter().filter(|r| r.role == Role::Sender).take(50) {
//!     if !row.deviates {
//!         assert_eq!(mail_from(&checker, &row.mail_from_argument()), row.reply, "{}", row.id);
//!     }
//! }
//! ```

mod corpus;
mod strategies;

use std::fmt;

use crate::Role;

pub use corpus::{
    CORPUS_FAULTS, CORPUS_ZONE, CorpusRow, ReplyClass, corpus, corpus_policy, corpus_resolver,
};
pub use strategies::{domain, forward_path, local_part, mailbox, reverse_path};

/// proptest, the version the strategies are built on: take `Strategy`,
/// `TestRunner` and the macros from here and no version can mismatch.
pub use proptest;

/// The kind of path a strategy generates. Each strategy takes one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Class {
    /// A well-formed mailbox with a fully qualified domain, in the forms
    /// Postfix reads the same: with or without angle brackets, spaces or a
    /// comment inside them, a trailing dot, mixed case, a UTF-8 local part.
    /// Its domain is looked up.
    Valid,
    /// Syntax Postfix refuses with `501`: a bad or empty domain, an
    /// all-numeric domain, two addresses, an unquoted space.
    BadSyntax,
    /// A mailbox with no domain or a one-label domain (`<user>`,
    /// `<user@mail>`, `<user@com.>`): `504`.
    NotFullyQualified,
    /// The null path `<>` (and `< >`, `<"">`, `<(comment)>`, which Postfix
    /// reads as empty): accepted as a sender, `501` as a recipient.
    NullSender,
    /// The bare `<postmaster>`, in any case: accepted as a recipient, `504`
    /// as a sender.
    Postmaster,
    /// An address literal, `[192.0.2.1]` or `[IPv6:...]`: accepted without
    /// a DNS lookup.
    LiteralValid,
    /// A bracketed literal Postfix refuses (`[300.1.1.1]`, `[2001:db8::1]`
    /// without the `IPv6:` tag, `[]`): `501`.
    LiteralInvalid,
    /// A U-label domain (`müller.de`): looked up with SMTPUTF8, `501`
    /// without it.
    Idn,
    /// Length limits: local parts of 63 to 66 octets (Postfix has no limit),
    /// labels of 63 and 64 octets, domains of 252 to 257 octets (254 and 255
    /// pass the syntax check but no DNS name is that long).
    LengthEdge,
    /// A quoted local part with spaces, specials and escapes
    /// (`"john doe"`, `"a\"b"`).
    Quoted,
    /// A source route, `<@hop1,@hop2:user@domain>`, which Postfix drops.
    SourceRoute,
    /// Unicode white space and format characters (U+00A0, U+2003, U+3000,
    /// U+200E, U+FEFF, ...): atom text to Postfix, so part of a local part,
    /// and a `501` in a domain or after the path.
    UnicodeSpace,
    /// Constructs left open: a quote or angle bracket (`501`), a comment
    /// (which ends the address where it opens) or a literal (closed at the
    /// end of the text).
    Unterminated,
}

impl Class {
    /// Every class, in declaration order.
    pub const ALL: [Self; 13] = [
        Self::Valid,
        Self::BadSyntax,
        Self::NotFullyQualified,
        Self::NullSender,
        Self::Postmaster,
        Self::LiteralValid,
        Self::LiteralInvalid,
        Self::Idn,
        Self::LengthEdge,
        Self::Quoted,
        Self::SourceRoute,
        Self::UnicodeSpace,
        Self::Unterminated,
    ];

    /// A short lowercase name (`not-fqdn`, `literal-valid`, ...).
    ///
    /// ```
    /// use envelope_check::testing::Class;
    /// assert_eq!(Class::NotFullyQualified.as_str(), "not-fqdn");
    /// assert_eq!(Class::ALL.iter().find(|c| c.as_str() == "idn"), Some(&Class::Idn));
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::BadSyntax => "bad-syntax",
            Self::NotFullyQualified => "not-fqdn",
            Self::NullSender => "null-sender",
            Self::Postmaster => "postmaster",
            Self::LiteralValid => "literal-valid",
            Self::LiteralInvalid => "literal-invalid",
            Self::Idn => "idn",
            Self::LengthEdge => "length-edge",
            Self::Quoted => "quoted",
            Self::SourceRoute => "source-route",
            Self::UnicodeSpace => "unicode-space",
            Self::Unterminated => "unterminated",
        }
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What Postfix does with a path in one role (`reject_non_fqdn_*` then
/// `reject_unknown_*_domain`, no access map).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Expected {
    /// Accepted with no DNS lookup: the null sender, the bare postmaster
    /// recipient, an address literal. `250 2.1.0 Ok` / `250 2.1.5 Ok`.
    Accept,
    /// The syntax passes and `domain` is looked up: the reply is DNS's
    /// (`250`, `550 Domain not found`, `550`/`556` null MX, `450` when
    /// DNS fails).
    Lookup {
        /// The lowercased A-label form that is looked up, no trailing dot.
        domain: String,
    },
    /// The syntax passes but the domain (254 or 255 octets) is longer than
    /// any DNS name: `550 ... Domain not found` whatever DNS holds.
    DomainNotFound,
    /// `504 5.5.2 <...>: ... need fully-qualified address`.
    NotFullyQualified,
    /// `501 5.1.7 Bad sender address syntax` / `501 5.1.3 Bad recipient
    /// address syntax`.
    BadSyntax,
}

/// One generated value and its labels.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Sample {
    /// What the strategy generated: a path, a mailbox, a local part or a
    /// domain.
    pub text: String,
    /// The path `text` stands for, as sent after `MAIL FROM:` or `RCPT TO:`
    /// (without ESMTP parameters): `text` itself for a path, the mailbox
    /// in angle brackets for the others.
    pub path: String,
    /// Whether the transaction declares SMTPUTF8.
    pub smtputf8: bool,
    /// The class the strategy was asked for.
    pub class: Class,
    /// What Postfix does with `path` as the `MAIL FROM` sender.
    pub sender: Expected,
    /// What Postfix does with `path` as a `RCPT TO` recipient.
    pub recipient: Expected,
    /// The mailbox in Postfix's internal form (quotes and source route
    /// removed, case and trailing dot kept: `john doe@Example.COM.`), when
    /// Postfix reads one; `None` for the null path and for bad syntax.
    pub mailbox: Option<String>,
    /// The `<...>` form of the mailbox that Postfix's replies quote, with
    /// control characters as spaces; `None` when there is no mailbox.
    pub echo: Option<String>,
}

impl Sample {
    /// The outcome in `role`.
    ///
    /// ```
    /// use envelope_check::testing::{self, Class, Expected};
    /// use envelope_check::Role;
    /// use proptest::strategy::{Strategy, ValueTree};
    /// use proptest::test_runner::TestRunner;
    ///
    /// let mut runner = TestRunner::deterministic();
    /// let null = testing::reverse_path(Class::NullSender).new_tree(&mut runner).unwrap().current();
    /// assert_eq!(null.expected(Role::Sender), &Expected::Accept);
    /// assert_eq!(null.expected(Role::Recipient), &Expected::BadSyntax);
    /// ```
    pub fn expected(&self, role: Role) -> &Expected {
        match role {
            Role::Sender => &self.sender,
            Role::Recipient => &self.recipient,
        }
    }

    /// The whole `MAIL FROM:` argument: the path, and ` SMTPUTF8` when the
    /// transaction declares it.
    ///
    /// ```
    /// use envelope_check::testing::{self, Class};
    /// use proptest::strategy::{Strategy, ValueTree};
    /// use proptest::test_runner::TestRunner;
    ///
    /// let mut runner = TestRunner::deterministic();
    /// for _ in 0..20 {
    ///     let s = testing::reverse_path(Class::Idn).new_tree(&mut runner).unwrap().current();
    ///     assert_eq!(s.mail_from_argument().ends_with(" SMTPUTF8"), s.smtputf8);
    /// }
    /// ```
    pub fn mail_from_argument(&self) -> String {
        if self.smtputf8 {
            format!("{} SMTPUTF8", self.path)
        } else {
            self.path.clone()
        }
    }

    /// The reply line Postfix sends for `path` in `role` when DNS has no
    /// names at all (every lookup is NXDOMAIN), with
    /// `unknown_address_reject_code = 550`: for a sender, the reply to
    /// `MAIL FROM` (or, with `smtpd_delay_reject`, to the first `RCPT TO`);
    /// for a recipient, the reply to `RCPT TO`.
    ///
    /// ```
    /// use envelope_check::testing::{self, Class};
    /// use envelope_check::Role;
    /// use proptest::strategy::{Strategy, ValueTree};
    /// use proptest::test_runner::TestRunner;
    ///
    /// let mut runner = TestRunner::deterministic();
    /// let sample = testing::forward_path(Class::NotFullyQualified)
    ///     .new_tree(&mut runner)
    ///     .unwrap()
    ///     .current();
    /// let reply = sample.reply_on_empty_dns(Role::Recipient);
    /// assert!(reply.starts_with("504 5.5.2 <"), "{reply}");
    /// assert!(reply.ends_with(">: Recipient address rejected: need fully-qualified address"));
    /// ```
    pub fn reply_on_empty_dns(&self, role: Role) -> String {
        let (ok, subject, not_found, syntax) = match role {
            Role::Sender => (
                "250 2.1.0 Ok",
                "Sender",
                "550 5.1.8",
                "501 5.1.7 Bad sender address syntax",
            ),
            Role::Recipient => (
                "250 2.1.5 Ok",
                "Recipient",
                "550 5.1.2",
                "501 5.1.3 Bad recipient address syntax",
            ),
        };
        let echo = self.echo.as_deref().unwrap_or("<>");
        match self.expected(role) {
            Expected::Accept => ok.to_owned(),
            Expected::Lookup { .. } | Expected::DomainNotFound => {
                format!("{not_found} {echo}: {subject} address rejected: Domain not found")
            }
            Expected::NotFullyQualified => {
                format!(
                    "504 5.5.2 {echo}: {subject} address rejected: need fully-qualified address"
                )
            }
            Expected::BadSyntax => syntax.to_owned(),
        }
    }
}
