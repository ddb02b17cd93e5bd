//! The tracking rule: which rejects the party you serve is shown.

use crate::address::{Mailbox, strip_one_trailing_dot};
use crate::policy::{Direction, Policy};
use crate::verdict::Role;

/// Whether a reject is shown to the party you serve. A gateway that serves
/// several organisations shows each the rejects of its own mail: inbound,
/// where the recipient's domain is one you serve
/// ([`PolicyBuilder::managed_domain`](crate::PolicyBuilder::managed_domain));
/// outbound, where the sender's is.
///
/// ```
/// use envelope_check::{Direction, Policy, Role, Tracking, parse_forward_path, parse_reverse_path};
///
/// let policy = Policy::builder().managed_domain("example.com").build().unwrap();
/// let sender = parse_reverse_path("<x@elsewhere.example>", false).unwrap();
/// let ours = parse_forward_path("<a@example.com>", false).unwrap();
/// let theirs = parse_forward_path("<b@other.example>", false).unwrap();
/// assert_eq!(
///     policy.tracking(Role::Recipient, sender.mailbox(), Some(ours.mailbox())),
///     Tracking::Tracked
/// );
/// // An inbound sender reject concerns every recipient: ask per recipient.
/// assert_eq!(policy.tracking(Role::Sender, sender.mailbox(), None), Tracking::PerRecipient);
/// assert!(!policy.is_tracked_for(Role::Sender, sender.mailbox(), theirs.mailbox()));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tracking {
    /// Shown to the party you serve.
    Tracked,
    /// Not shown (only your own log has it).
    NotTracked,
    /// An inbound sender reject: it concerns every recipient of the
    /// transaction, and is visible for each recipient whose domain is
    /// managed. Ask [`Policy::is_managed_domain`] per recipient.
    PerRecipient,
}

impl Tracking {
    /// The field value used in tracing events.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tracked => "tracked",
            Self::NotTracked => "not-tracked",
            Self::PerRecipient => "per-recipient",
        }
    }
}

impl Policy {
    /// Whether `domain` (A-label, any case, one trailing dot allowed) is one
    /// of the domains you serve.
    pub fn is_managed_domain(&self, domain: &str) -> bool {
        let (domain, _) = strip_one_trailing_dot(domain);
        self.managed_domains()
            .iter()
            .any(|d| d.eq_ignore_ascii_case(domain))
    }

    /// The tracking rule for a reject about `role`: outbound, shown when
    /// the sender's domain is one you serve; inbound, when the recipient's
    /// is, so an inbound *sender* reject is [`Tracking::PerRecipient`]. An
    /// absent or domain-less party is not one you serve.
    pub fn tracking(
        &self,
        role: crate::Role,
        sender: Option<&Mailbox<'_>>,
        recipient: Option<&Mailbox<'_>>,
    ) -> Tracking {
        let managed = |m: Option<&Mailbox<'_>>| {
            m.and_then(Mailbox::domain)
                .is_some_and(|d| self.is_managed_domain(d.ascii()))
        };
        let tracked = match (self.direction(), role) {
            (Direction::Outbound, _) => managed(sender),
            (Direction::Inbound, Role::Recipient) => managed(recipient),
            (Direction::Inbound, Role::Sender) => return Tracking::PerRecipient,
        };
        if tracked {
            Tracking::Tracked
        } else {
            Tracking::NotTracked
        }
    }

    /// The tracking rule settled for one recipient: whether the reject of
    /// `role`'s address in a transaction from `sender` to `recipient` shows
    /// to the party you serve. An inbound sender reject is shown when this
    /// recipient's domain is one you serve.
    pub fn is_tracked_for(
        &self,
        role: crate::Role,
        sender: Option<&Mailbox<'_>>,
        recipient: &Mailbox<'_>,
    ) -> bool {
        match self.tracking(role, sender, Some(recipient)) {
            Tracking::Tracked => true,
            Tracking::NotTracked => false,
            Tracking::PerRecipient => {
                self.tracking(Role::Recipient, sender, Some(recipient)) == Tracking::Tracked
            }
        }
    }
}
