//! The Postfix reply corpus as a table: every row a path that a real
//! Postfix 3.7 answered, with the DNS data and configuration it had.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;
use std::time::Duration;

use crate::{InMemoryResolver, Policy, Role};

/// The recorded replies (`tests/data/cases.tsv` in the package), and those
/// to paths drawn from this module's strategies (`generated_cases.tsv`).
const CASES: &str = include_str!("../../tests/data/cases.tsv");
const GENERATED: &str = include_str!("../../tests/data/generated_cases.tsv");
/// The rows where this crate deliberately answers otherwise, with reasons.
const DEVIATIONS: &str = include_str!("../../tests/data/DEVIATIONS.md");
/// The sender access map of that Postfix (`check_sender_access`).
const APPROVED_SENDERS: &str = include_str!("../../tests/data/approved_senders");

/// The DNS Postfix asked when it answered the corpus: one master file for
/// the root zone (every name not in it is NXDOMAIN). Load it with
/// [`InMemoryResolver::from_zone_text`], or into a DNS server of your own.
pub const CORPUS_ZONE: &str = include_str!("../../tests/data/zone.txt");

/// The names whose lookups failed while Postfix answered the corpus, one
/// `name fault` a line (`servfail` or `timeout`, for the whole subtree):
/// see [`InMemoryResolver::load_faults`].
pub const CORPUS_FAULTS: &str = include_str!("../../tests/data/faults.txt");

/// Postfix's final destinations (`mydestination`) and its own addresses.
const LOCAL_DOMAINS: [&str; 3] = ["mx.oracle-mta.net", "localhost.oracle-mta.net", "localhost"];
const LOCAL_ADDRESSES: [IpAddr; 2] = [
    IpAddr::V4(Ipv4Addr::LOCALHOST),
    IpAddr::V6(Ipv6Addr::LOCALHOST),
];

/// What a recorded reply says, read from its code and text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReplyClass {
    /// `250`.
    Accept,
    /// `501`: bad address syntax.
    BadSyntax,
    /// `504`: not fully qualified.
    NotFullyQualified,
    /// `550 ... Domain not found`: NXDOMAIN, or no MX, A or AAAA record.
    DomainNotFound,
    /// `550 5.7.27` / `556 5.1.10`: the domain has a null MX.
    NullMx,
    /// `450`: DNS failed (SERVFAIL, timeout).
    TempFail,
    /// `554`: the sender access map refused the sender.
    AccessRejected,
}

impl ReplyClass {
    fn of(reply: &str) -> Option<Self> {
        Some(match reply.get(..4)? {
            "250 " => Self::Accept,
            "501 " => Self::BadSyntax,
            "504 " => Self::NotFullyQualified,
            "450 " => Self::TempFail,
            "554 " => Self::AccessRejected,
            "550 " | "556 " if reply.contains("does not accept mail") => Self::NullMx,
            "550 " if reply.ends_with("Domain not found") => Self::DomainNotFound,
            _ => return None,
        })
    }
}

/// One path a real Postfix 3.7 answered.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CorpusRow {
    /// The row's name: `S...` for a sender, `R...` for a recipient.
    pub id: &'static str,
    /// Whether the path was sent as the sender or a recipient.
    pub role: Role,
    /// The text after `MAIL FROM:` or `RCPT TO:` as sent (for a few sender
    /// rows it holds an ESMTP parameter too, such as ` SMTPUTF8`).
    pub path: &'static str,
    /// Whether `MAIL FROM` declared SMTPUTF8 (see
    /// [`mail_from_argument`](Self::mail_from_argument)).
    pub smtputf8: bool,
    /// Postfix's reply about this path: for a sender, the reply to `MAIL
    /// FROM`, or when Postfix delayed the reject (`smtpd_delay_reject =
    /// yes`), the reply to the `RCPT TO` that followed.
    pub reply: &'static str,
    /// What the reply says.
    pub class: ReplyClass,
    /// Whether this crate deliberately answers otherwise (IDNA2008 where
    /// Postfix 3.7 uses IDNA2003 mappings, C1 control characters in the
    /// echo): the reasons are in the crate's `tests/data/DEVIATIONS.md`.
    pub deviates: bool,
}

impl CorpusRow {
    /// The whole `MAIL FROM:` argument of a sender row: the path, and
    /// ` SMTPUTF8` when the transaction declared it.
    ///
    /// ```
    /// use envelope_check::testing::corpus;
    /// let row = corpus().iter().find(|r| r.smtputf8 && r.path.starts_with("<kunde@")).unwrap();
    /// assert_eq!(row.mail_from_argument(), format!("{} SMTPUTF8", row.path));
    /// ```
    pub fn mail_from_argument(&self) -> String {
        if self.smtputf8 {
            format!("{} SMTPUTF8", self.path)
        } else {
            self.path.to_owned()
        }
    }
}

/// The corpus: over 4,400 senders and recipients that a real Postfix 3.7
/// (`mail_version = 3.7.11`) answered over SMTP, each reply recorded as
/// sent. It covers the address syntax (brackets, quotes, comments, source
/// routes, routing operators, literals, Unicode white space, unterminated
/// constructs, IDN with and without SMTPUTF8; 880 of the paths come from
/// this module's strategies) and the DNS situations of
/// [`CORPUS_ZONE`] and [`CORPUS_FAULTS`], under the configuration of
/// [`corpus_policy`]: `reject_non_fqdn_*`, `check_sender_access`,
/// `reject_unknown_*_domain` with `unknown_address_reject_code = 550`.
///
/// It does not cover ESMTP parameters: the rows where Postfix refused a
/// parameter (`555 5.5.4 Unsupported option`, `552` for `SIZE`) are left
/// out, as they are the MTA's own business.
///
/// ```
/// use envelope_check::testing::{corpus, ReplyClass};
/// use envelope_check::Role;
/// let rows = corpus();
/// assert!(rows.len() > 4_000);
/// let row = rows.iter().find(|r| r.path == "<postmaster>" && r.role == Role::Recipient).unwrap();
/// assert_eq!((row.reply, row.class), ("250 2.1.5 Ok", ReplyClass::Accept));
/// ```
pub fn corpus() -> &'static [CorpusRow] {
    static ROWS: OnceLock<Vec<CorpusRow>> = OnceLock::new();
    ROWS.get_or_init(|| {
        let deviating = deviating_ids();
        let mut rows = parse(CASES, &deviating);
        rows.extend(parse(GENERATED, &deviating));
        rows
    })
}

/// A resolver with the DNS data Postfix had ([`CORPUS_ZONE`] and
/// [`CORPUS_FAULTS`]).
///
/// ```
/// use envelope_check::testing::{corpus, corpus_policy, corpus_resolver};
/// use envelope_check::{CheckOptions, Checker};
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let checker = Checker::new(corpus_resolver(), corpus_policy());
/// let row = corpus().iter().find(|r| r.id == "R001").unwrap();
/// let verdict = checker.rcpt_to(row.path, CheckOptions::default().smtputf8(row.smtputf8)).await;
/// assert_eq!(verdict.to_string(), row.reply);
/// # });
/// ```
pub fn corpus_resolver() -> InMemoryResolver {
    let mut dns = InMemoryResolver::from_zone_text(CORPUS_ZONE).expect("the corpus zone loads");
    dns.load_faults(CORPUS_FAULTS)
        .expect("the corpus faults load");
    dns
}

/// Postfix's configuration for the corpus as a [`Policy`]: its local
/// domains (`mx.oracle-mta.net`, `localhost.oracle-mta.net`,
/// `localhost`) and addresses (`127.0.0.1`, `::1`), its sender access map
/// (five senders `OK`), and a 2 s deadline in place of the DNS timeouts
/// (Postfix waited for its resolver; the reply is the same `450`).
///
/// ```
/// use envelope_check::testing::corpus_policy;
/// let policy = corpus_policy();
/// assert!(policy.is_local_domain("mx.oracle-mta.net"));
/// assert_eq!(policy.unknown_domain_code(), 550);
/// ```
pub fn corpus_policy() -> Policy {
    let mut policy = Policy::builder()
        .sender_access_text(APPROVED_SENDERS)
        .deadline(Duration::from_secs(2));
    for domain in LOCAL_DOMAINS {
        policy = policy.local_domain(domain);
    }
    for ip in LOCAL_ADDRESSES {
        policy = policy.local_address(ip);
    }
    policy.build().expect("the corpus policy is valid")
}

/// The ids of the first table of `DEVIATIONS.md` (the address corpus).
fn deviating_ids() -> Vec<&'static str> {
    DEVIATIONS
        .split("\n## ")
        .next()
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.strip_prefix("| "))
        .filter_map(|l| l.split(" | ").next())
        .filter(|id| id.starts_with(['S', 'R']) && id[1..].bytes().all(|b| b.is_ascii_digit()))
        .collect()
}

fn parse(text: &'static str, deviating: &[&str]) -> Vec<CorpusRow> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name);
    let (
        Some(id),
        Some(command),
        Some(address),
        Some(smtputf8),
        Some(reply_to),
        Some(mail_reply),
        Some(postfix_reply),
    ) = (
        col("id"),
        col("command"),
        col("address"),
        col("smtputf8"),
        col("reply_to"),
        col("mail_reply"),
        col("postfix_reply"),
    )
    else {
        return Vec::new();
    };
    lines
        .filter_map(|line| {
            let f: Vec<&'static str> = line.split('\t').collect();
            let role = if *f.get(command)? == "MAIL" {
                Role::Sender
            } else {
                Role::Recipient
            };
            // A sender that Postfix accepted at MAIL FROM and that the
            // RCPT TO reply does not reject is judged by the MAIL reply.
            let postfix = *f.get(postfix_reply)?;
            let reply = if role == Role::Sender && f[reply_to] == "RCPT" && postfix.starts_with('2')
            {
                f[mail_reply]
            } else {
                postfix
            };
            let class = ReplyClass::of(reply)?;
            Some(CorpusRow {
                id: f[id],
                role,
                path: f[address],
                smtputf8: f[smtputf8] == "yes",
                reply,
                class,
                deviates: deviating.contains(&f[id]),
            })
        })
        .collect()
}
