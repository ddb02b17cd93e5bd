//! Postfix trivial-rewrite's routing of an address in internal form: local
//! domains stripped, then the routing operators (`user@host` in the local
//! part, `%`, `!`) applied, to find where the address goes.

use std::borrow::Cow;

/// Where an address goes once Postfix's routing operators are applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route<'a> {
    /// Delivered locally (no domain left, or only local domains).
    Local,
    /// A remote domain (trailing dot removed), or a bracketed literal.
    Remote(Cow<'a, str>),
}

/// Postfix trivial-rewrite's resolver loop: strip local domains, then apply
/// `user@host` inside the local part, `site!user` (swap_bangpath) and
/// `user%host` (allow_percent_hack) until a remote domain remains.
pub(crate) fn resolve_route<'a>(internal: &'a str, is_local: &dyn Fn(&str) -> bool) -> Route<'a> {
    route(internal, is_local).1
}

/// The resolver loop, with the address it resolves to: `user@remote.domain`,
/// or for local delivery `user@local.domain` (the last local domain
/// stripped) or `user`. This is the address Postfix looks up in access maps
/// (`check_sender_access`).
///
/// An empty domain (`user@`) is stripped like a local one; when nothing
/// else gives the address a domain, the empty one comes back and the result
/// is `Route::Remote("")`, which no host-name check passes.
pub(crate) fn route<'a>(
    internal: &'a str,
    is_local: &dyn Fn(&str) -> bool,
) -> (Cow<'a, str>, Route<'a>) {
    fn keep<'a>(addr: Cow<'a, str>, range: std::ops::Range<usize>) -> Cow<'a, str> {
        match addr {
            Cow::Borrowed(b) => Cow::Borrowed(&b[range]),
            Cow::Owned(o) => Cow::Owned(o[range].to_owned()),
        }
    }
    let mut addr: Cow<'a, str> = Cow::Borrowed(internal);
    // The last local (or empty) domain stripped, `@` included.
    let mut saved: Option<Cow<'a, str>> = None;
    for _ in 0..internal.len() + 100 {
        // A source route left in the local part (`"@a:b"@local.domain`, once
        // the local domain is stripped) is dropped, as trivial-rewrite does.
        // When the first `:` is inside an IPv6 literal (`"@"@[IPv6:...]`),
        // Postfix cuts the literal and the address is invalid (oracle
        // S903, S915, S920).
        if addr.starts_with('@')
            && let Some(colon) = addr.find(':')
        {
            if addr[..colon].contains('[') {
                return (addr, Route::Remote(Cow::Borrowed("")));
            }
            let len = addr.len();
            addr = keep(addr, colon + 1..len);
            continue;
        }
        if let Some(at) = addr.rfind('@') {
            // Strip one trailing dot of the domain, not `..` or `@.`.
            let domain = &addr[at + 1..];
            if domain.len() >= 2 && domain.ends_with('.') && !domain.ends_with("..") {
                let end = addr.len() - 1;
                addr = keep(addr, 0..end);
            }
            let domain = &addr[at + 1..];
            if !domain.is_empty() && !is_local(domain) {
                let domain = keep(addr.clone(), at + 1..addr.len());
                return (addr, Route::Remote(domain));
            }
            let len = addr.len();
            saved = Some(keep(addr.clone(), at..len));
            addr = keep(addr, 0..at);
            continue;
        }
        if let Some(bang) = addr.find('!') {
            addr = Cow::Owned(format!("{}@{}", &addr[bang + 1..], &addr[..bang]));
            continue;
        }
        if let Some(pct) = addr.rfind('%') {
            let mut o = addr.into_owned();
            o.replace_range(pct..=pct, "@");
            addr = Cow::Owned(o);
            continue;
        }
        break;
    }
    match saved {
        // `user@`: the empty domain fails Postfix's host-name check.
        Some(at) if at.len() == 1 => (
            Cow::Owned(format!("{addr}@")),
            Route::Remote(Cow::Borrowed("")),
        ),
        Some(at) => (Cow::Owned(format!("{addr}{at}")), Route::Local),
        None => (addr, Route::Local),
    }
}
