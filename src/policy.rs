//! `Policy`: what the check enforces, and its builder.

use std::net::IpAddr;
use std::time::Duration;

use crate::access::{AccessAction, AccessMatch, MapError, SenderAccess};
use crate::address::{AddressLiteral, Mailbox, route, strip_one_trailing_dot};

/// Which way the mail flows, seen from the mail system the checks protect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Direction {
    /// Mail arriving from the Internet (the sender access map applies).
    #[default]
    Inbound,
    /// Mail your own users send out.
    Outbound,
}

impl Direction {
    /// `"inbound"` or `"outbound"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inbound => "inbound",
            Self::Outbound => "outbound",
        }
    }
}

/// Why a policy could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// A reply code outside the range its setting allows.
    #[error("{setting}: reply code {code} is not in {min}..={max}")]
    BadCode {
        /// The setting.
        setting: &'static str,
        /// The code given.
        code: u16,
        /// Smallest allowed.
        min: u16,
        /// Largest allowed.
        max: u16,
    },
    /// An empty approved-sender key or local domain.
    #[error("empty {0}")]
    Empty(&'static str),
    /// An approved-sender key in a form a Postfix access map never matches
    /// (`.example.com`, `*.example.com`, `@example.com`).
    #[error(
        "approved sender {0:?}: Postfix access maps never match this key form; use approve_subdomains() for the domains below a domain, or the bare domain for it and its subdomains"
    )]
    UnmatchableKey(String),
    /// Sender access map text that could not be read.
    #[error("sender access map: {0}")]
    SenderAccess(#[from] MapError),
}

/// What the checks enforce. Build it with [`Policy::builder`]; the
/// [`Default`] is an inbound policy with Postfix's rules and
/// `unknown_address_reject_code = 550`.
///
/// ```
/// use std::time::Duration;
/// use envelope_check::{Direction, Policy};
///
/// let policy = Policy::builder()
///     .direction(Direction::Inbound)
///     .local_domain("mx.example.net") // like Postfix's mydestination
///     .sender_access_text("partner@example.org OK\nspam.example REJECT\n")
///     .deadline(Duration::from_secs(3))
///     .build()
///     .unwrap();
/// assert!(policy.is_local_domain("MX.example.net."));
/// assert_eq!(policy.unknown_domain_code(), 550);
///
/// // An invalid setting comes back from build(), not as a panic.
/// assert!(Policy::builder().unknown_domain_code(250).build().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Policy {
    direction: Direction,
    sender_access: SenderAccess,
    local_domains: Vec<String>,
    local_addresses: Vec<IpAddr>,
    unknown_domain_code: u16,
    non_fqdn_code: u16,
    accept_literals: bool,
    reject_public_suffix: bool,
    reject_special_use: bool,
    deadline: Duration,
    managed_domains: Vec<String>,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            direction: Direction::Inbound,
            sender_access: SenderAccess::new(),
            local_domains: Vec::new(),
            local_addresses: Vec::new(),
            unknown_domain_code: 550,
            non_fqdn_code: 504,
            accept_literals: true,
            reject_public_suffix: false,
            reject_special_use: false,
            deadline: Duration::from_secs(5),
            managed_domains: Vec::new(),
        }
    }
}

impl Policy {
    /// A builder starting from the defaults.
    pub fn builder() -> PolicyBuilder {
        PolicyBuilder {
            policy: Self::default(),
            error: None,
        }
    }

    /// Inbound or outbound. Default: inbound.
    pub fn direction(&self) -> Direction {
        self.direction
    }

    /// Code for an unknown domain. Default: 550 (Postfix's
    /// `unknown_address_reject_code` is 450 out of the box; 550 is what a
    /// production gateway sets).
    pub fn unknown_domain_code(&self) -> u16 {
        self.unknown_domain_code
    }

    /// Code for a non-fully-qualified domain. Default: 504
    /// (`non_fqdn_reject_code`).
    pub fn non_fqdn_code(&self) -> u16 {
        self.non_fqdn_code
    }

    /// Whether address literals are accepted without a lookup. Default:
    /// true, as in Postfix.
    pub fn accepts_literals(&self) -> bool {
        self.accept_literals
    }

    /// Whether a domain that is itself a public suffix is rejected.
    /// Default: false.
    pub fn rejects_public_suffix(&self) -> bool {
        self.reject_public_suffix
    }

    /// Whether RFC 6761 special-use names are rejected without a lookup.
    /// Default: false.
    pub fn rejects_special_use(&self) -> bool {
        self.reject_special_use
    }

    /// How long one check may take, DNS included. Default: 5 s.
    pub fn deadline(&self) -> Duration {
        self.deadline
    }

    /// Whether `domain` (A-label or as written, any case, one trailing dot
    /// allowed) is a local domain.
    pub fn is_local_domain(&self, domain: &str) -> bool {
        if domain.starts_with('[') {
            return !self.local_addresses.is_empty()
                && AddressLiteral::parse(domain)
                    .ok()
                    .and_then(|l| l.ip())
                    .is_some_and(|ip| self.local_addresses.contains(&ip));
        }
        let (domain, _) = strip_one_trailing_dot(domain);
        self.local_domains
            .iter()
            .any(|d| d.eq_ignore_ascii_case(domain))
    }

    /// The domains you serve, lowercased (for the tracking rule).
    pub(crate) fn managed_domains(&self) -> &[String] {
        &self.managed_domains
    }

    /// The sender access map (Postfix's `check_sender_access`), consulted
    /// for inbound senders only.
    pub fn sender_access(&self) -> &SenderAccess {
        &self.sender_access
    }

    /// The sender access map entry that decides for `sender`, looked up as
    /// Postfix's `check_sender_access` does: on the address the sender
    /// routes to (`vip%example.com@local.domain` is `vip@example.com`),
    /// with one trailing dot removed. Direction is not considered here.
    pub fn sender_access_match(&self, sender: &Mailbox<'_>) -> Option<AccessMatch> {
        if self.sender_access.is_empty() {
            return None;
        }
        let (resolved, _) = route(sender.internal(), &|d| self.is_local_domain(d));
        let address = match resolved.rsplit_once('@') {
            Some((local, domain)) => {
                let (domain, _) = strip_one_trailing_dot(domain);
                format!("{local}@{domain}")
            }
            None => resolved.into_owned(),
        };
        self.sender_access.lookup(&address)
    }

    /// Whether the sender access map approves `sender`: its entry is a
    /// permit (`OK`, `RELAY`, all-numeric, `permit`) or `DISCARD`.
    /// Direction is not considered here.
    pub fn is_approved_sender(&self, sender: &Mailbox<'_>) -> bool {
        self.sender_access_match(sender)
            .is_some_and(|m| is_approval(m.action()))
    }
}

/// Whether an access action ends the sender checks with an accept.
pub(crate) fn is_approval(action: &AccessAction) -> bool {
    match action {
        AccessAction::Permit => true,
        AccessAction::Directive(d) => d.ends_checks(),
        _ => false,
    }
}

/// Builds a [`Policy`]. Setters can be chained; [`build`](Self::build)
/// reports the first invalid setting (see the example on [`Policy`]).
#[derive(Debug, Clone)]
pub struct PolicyBuilder {
    policy: Policy,
    error: Option<PolicyError>,
}

impl PolicyBuilder {
    /// Inbound or outbound.
    pub fn direction(mut self, direction: Direction) -> Self {
        self.policy.direction = direction;
        self
    }

    /// Approves a sender: the same as the line `key OK` in a sender access
    /// map, with Postfix's key forms: `user@example.com` (that address),
    /// `example.com` (that domain and every domain below it, as Postfix's
    /// default `parent_domain_matches_subdomains` has it), `user@` (that
    /// local part at any domain) and `<>` (the null sender).
    /// Case-insensitive; one trailing dot is ignored. Forms a Postfix map
    /// never matches (`.example.com`, `*.example.com`, `@example.com`) are
    /// an error: see [`approve_subdomains`](Self::approve_subdomains).
    pub fn approve_sender(mut self, key: &str) -> Self {
        let key = key.trim();
        let (key, _) = strip_one_trailing_dot(key);
        if key.is_empty() {
            self.error
                .get_or_insert(PolicyError::Empty("approved sender"));
        } else if key.starts_with('.')
            || key.starts_with("*.")
            || (key.starts_with('@') && key.len() > 1)
        {
            self.error
                .get_or_insert(PolicyError::UnmatchableKey(key.to_owned()));
        } else {
            self.policy.sender_access.insert(key, AccessAction::Permit);
        }
        self
    }

    /// Approves every domain below `domain`, but not `domain` itself (a
    /// sender at `mail.example.com`, not at `example.com`). An extension:
    /// no Postfix access-map key does this, and a map read from text never
    /// does it. Consulted after the map's own keys.
    pub fn approve_subdomains(mut self, domain: &str) -> Self {
        let (d, _) = strip_one_trailing_dot(domain.trim());
        let d = d
            .strip_prefix("*.")
            .or_else(|| d.strip_prefix('.'))
            .unwrap_or(d);
        if d.is_empty() {
            self.error
                .get_or_insert(PolicyError::Empty("approved subdomains"));
        } else {
            self.policy.sender_access.approve_subdomains(d);
        }
        self
    }

    /// Adds a sender access map (entries already present keep their first
    /// action, as in one Postfix map).
    pub fn sender_access(mut self, map: SenderAccess) -> Self {
        self.policy.sender_access.merge(map);
        self
    }

    /// Adds a sender access map from Postfix table text, as
    /// [`SenderAccess::parse`] reads it. An unknown action is an error of
    /// [`build`](Self::build).
    pub fn sender_access_text(self, text: &str) -> Self {
        match SenderAccess::parse(text) {
            Ok(map) => self.sender_access(map),
            Err(e) => {
                let mut this = self;
                this.error.get_or_insert(PolicyError::SenderAccess(e));
                this
            }
        }
    }

    /// Adds a local domain (final destination, like Postfix's
    /// `mydestination`): its addresses skip the DNS check.
    pub fn local_domain(mut self, domain: &str) -> Self {
        let (d, _) = strip_one_trailing_dot(domain.trim());
        if d.is_empty() {
            self.error.get_or_insert(PolicyError::Empty("local domain"));
        } else {
            self.policy.local_domains.push(d.to_ascii_lowercase());
        }
        self
    }

    /// Adds one of the MTA's own IP addresses (Postfix's `inet_interfaces`
    /// and `proxy_interfaces`): an address literal naming it, such as
    /// `[127.0.0.1]`, is a local destination, like a local domain. None by
    /// default.
    pub fn local_address(mut self, ip: IpAddr) -> Self {
        self.policy.local_addresses.push(ip);
        self
    }

    /// Adds one of the domains you serve, for the tracking rule
    /// ([`Policy::tracking`]): rejects that concern them are the ones their
    /// owners are shown.
    pub fn managed_domain(mut self, domain: &str) -> Self {
        let (d, _) = strip_one_trailing_dot(domain.trim());
        if d.is_empty() {
            self.error
                .get_or_insert(PolicyError::Empty("managed domain"));
        } else {
            self.policy.managed_domains.push(d.to_ascii_lowercase());
        }
        self
    }

    /// Reply code for an unknown domain, 400..=599. Default 550.
    pub fn unknown_domain_code(mut self, code: u16) -> Self {
        self.set_code("unknown_domain_code", code, 400, 599, |p| {
            &mut p.unknown_domain_code
        });
        self
    }

    /// Reply code for a non-fully-qualified domain, 400..=599. Default 504.
    pub fn non_fqdn_code(mut self, code: u16) -> Self {
        self.set_code("non_fqdn_code", code, 400, 599, |p| &mut p.non_fqdn_code);
        self
    }

    /// Whether address literals are accepted. Default true.
    pub fn accept_literals(mut self, yes: bool) -> Self {
        self.policy.accept_literals = yes;
        self
    }

    /// Rejects domains that are themselves public suffixes. Default false.
    pub fn reject_public_suffix(mut self, yes: bool) -> Self {
        self.policy.reject_public_suffix = yes;
        self
    }

    /// Rejects RFC 6761 special-use names. Default false.
    pub fn reject_special_use(mut self, yes: bool) -> Self {
        self.policy.reject_special_use = yes;
        self
    }

    /// The per-check deadline. Default 5 s.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.policy.deadline = deadline;
        self
    }

    /// The policy, or the first invalid setting.
    pub fn build(self) -> Result<Policy, PolicyError> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.policy),
        }
    }

    fn set_code(
        &mut self,
        setting: &'static str,
        code: u16,
        min: u16,
        max: u16,
        field: fn(&mut Policy) -> &mut u16,
    ) {
        if (min..=max).contains(&code) {
            *field(&mut self.policy) = code;
        } else {
            self.error.get_or_insert(PolicyError::BadCode {
                setting,
                code,
                min,
                max,
            });
        }
    }
}
