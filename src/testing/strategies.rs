//! The generators. Each class is built from parts whose verdict is known
//! from Postfix's rules (its RFC 822 tokenizer, `valid_hostname()`,
//! `valid_mailhost_literal()`, the IDNA step with SMTPUTF8), and every part
//! shrinks within its own rule, so a sample shrinks within its class.

use std::net::{Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;
use proptest::sample::select;

use super::{Class, Expected, Sample};

/// Generates `MAIL FROM` paths of `class`, with their labels.
///
/// ```
/// use envelope_check::testing::{reverse_path, Class, Expected};
/// use proptest::prelude::*;
///
/// proptest!(|(sample in reverse_path(Class::NullSender))| {
///     prop_assert_eq!(sample.sender, Expected::Accept);
/// });
/// ```
pub fn reverse_path(class: Class) -> BoxedStrategy<Sample> {
    path(class)
}

/// Generates `RCPT TO` paths of `class`, with their labels. The values are
/// those of [`reverse_path`]: only the role the labels are read for
/// differs (see [`Sample::recipient`]).
///
/// ```
/// use envelope_check::testing::{forward_path, Class, Expected};
/// use proptest::prelude::*;
///
/// proptest!(|(sample in forward_path(Class::Postmaster))| {
///     prop_assert_eq!(sample.recipient, Expected::Accept);
///     prop_assert_eq!(sample.sender, Expected::NotFullyQualified);
/// });
/// ```
pub fn forward_path(class: Class) -> BoxedStrategy<Sample> {
    path(class)
}

/// Generates mailboxes of `class` as written without angle brackets
/// (`"john doe"@example.com`); [`Sample::path`] is the mailbox in angle
/// brackets, which the labels describe.
///
/// ```
/// use envelope_check::testing::{mailbox, Class};
/// use proptest::prelude::*;
///
/// proptest!(|(sample in mailbox(Class::Quoted))| {
///     prop_assert!(sample.text.starts_with('"'));
///     prop_assert_eq!(sample.path, format!("<{}>", sample.text));
/// });
/// ```
pub fn mailbox(class: Class) -> BoxedStrategy<Sample> {
    mailbox_parts(class)
        .prop_map(move |m| m.sample(class, m.text.clone(), format!("<{}>", m.text)))
        .boxed()
}

/// Generates the local parts of [`mailbox`]'s mailboxes of `class`: the text
/// before the last `@` (all of it when there is none). The labels describe
/// the mailbox it came from, [`Sample::path`].
///
/// ```
/// use envelope_check::testing::{local_part, Class};
/// use proptest::prelude::*;
///
/// proptest!(|(sample in local_part(Class::LengthEdge))| {
///     let mailbox = format!("<{}@", sample.text);
///     prop_assert!(sample.path.starts_with(&mailbox));
///     prop_assert!((63..=66).contains(&sample.text.len()) || sample.text.len() <= 24);
/// });
/// ```
pub fn local_part(class: Class) -> BoxedStrategy<Sample> {
    mailbox_parts(class)
        .prop_map(move |m| {
            let local = match m.text.rfind('@') {
                Some(at) => m.text[..at].to_owned(),
                None => m.text.clone(),
            };
            m.sample(class, local, format!("<{}>", m.text))
        })
        .boxed()
}

/// Generates the domains of [`mailbox`]'s mailboxes of `class`: the text
/// after the last `@` (empty when there is none). The labels describe the
/// mailbox it came from, [`Sample::path`].
///
/// ```
/// use envelope_check::testing::{domain, Class, Expected};
/// use proptest::prelude::*;
///
/// proptest!(|(sample in domain(Class::Idn))| {
///     prop_assert!(!sample.text.is_ascii());
///     if !sample.smtputf8 {
///         prop_assert_eq!(sample.sender, Expected::BadSyntax);
///     }
/// });
/// ```
pub fn domain(class: Class) -> BoxedStrategy<Sample> {
    mailbox_parts(class)
        .prop_map(move |m| {
            let domain = match m.text.rfind('@') {
                Some(at) => m.text[at + 1..].to_owned(),
                None => String::new(),
            };
            m.sample(class, domain, format!("<{}>", m.text))
        })
        .boxed()
}

/// What Postfix makes of the host part of a generated mailbox.
#[derive(Debug, Clone)]
enum Host {
    /// No domain: the mailbox is a bare local part.
    None,
    /// A host name, looked up; the lowercased A-label form.
    Lookup(String),
    /// A U-label host name: looked up with SMTPUTF8, `501` without.
    Unicode(String),
    /// A name of 254 or 255 octets: valid, but never in DNS.
    TooLongForDns,
    /// An address literal.
    Literal,
    /// A one-label name.
    NotFqdn,
    /// Refused by the syntax check.
    Bad,
}

/// A generated mailbox: its text and how Postfix reads it.
#[derive(Debug, Clone)]
struct Parts {
    /// The mailbox as written, no angle brackets.
    text: String,
    /// Postfix's internal form, `None` when the syntax check fails before
    /// any mailbox is read.
    internal: Option<String>,
    host: Host,
    smtputf8: bool,
}

impl Parts {
    fn new(text: String, internal: String, host: Host) -> Self {
        Self {
            text,
            internal: Some(internal),
            host,
            smtputf8: false,
        }
    }

    /// A path Postfix refuses before it reads a mailbox.
    fn bad(text: String) -> Self {
        Self {
            text,
            internal: None,
            host: Host::Bad,
            smtputf8: false,
        }
    }

    fn utf8(mut self, smtputf8: bool) -> Self {
        self.smtputf8 = smtputf8;
        self
    }

    fn expected(&self, recipient: bool) -> Expected {
        let Some(internal) = &self.internal else {
            return Expected::BadSyntax;
        };
        match &self.host {
            Host::None if internal.is_empty() && recipient => Expected::BadSyntax,
            Host::None if internal.is_empty() => Expected::Accept,
            Host::None if recipient && internal.eq_ignore_ascii_case("postmaster") => {
                Expected::Accept
            }
            Host::None | Host::NotFqdn => Expected::NotFullyQualified,
            Host::Lookup(ascii) => Expected::Lookup {
                domain: ascii.clone(),
            },
            Host::Unicode(ascii) if self.smtputf8 => Expected::Lookup {
                domain: ascii.clone(),
            },
            Host::Unicode(_) | Host::Bad => Expected::BadSyntax,
            Host::TooLongForDns => Expected::DomainNotFound,
            Host::Literal => Expected::Accept,
        }
    }

    fn sample(&self, class: Class, text: String, path: String) -> Sample {
        let sender = self.expected(false);
        let recipient = self.expected(true);
        let reads_mailbox = |e: &Expected| !matches!(e, Expected::BadSyntax);
        let mailbox = self
            .internal
            .clone()
            .filter(|m| !m.is_empty() && (reads_mailbox(&sender) || reads_mailbox(&recipient)));
        let echo = mailbox.as_ref().map(|m| {
            let printable: String = m
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            format!("<{printable}>")
        });
        Sample {
            text,
            path,
            smtputf8: self.smtputf8,
            class,
            sender,
            recipient,
            mailbox,
            echo,
        }
    }
}

// ---------------------------------------------------------------------
// Local parts: (as written, internal form).

/// A dot-atom of RFC 5321 atom characters (no `%` or `!`, Postfix's
/// routing operators), at most 8 octets per atom: never `postmaster`.
fn atom_local() -> impl Strategy<Value = String> {
    "[a-z0-9][a-zA-Z0-9_+=&'*/?^`{|}~#$-]{0,7}(\\.[a-z0-9_-]{1,6}){0,2}"
}

/// Local parts in UTF-8: atom text to Postfix, with or without SMTPUTF8.
fn utf8_local() -> impl Strategy<Value = String> {
    "[a-zé\u{3b1}-\u{3c9}\u{430}-\u{44f}]{1,8}"
}

/// A quoted local part: (written, internal). Specials, spaces and the
/// escapes `\"` and `\\` are kept inside; the first character is no `@`
/// (which would start a source route).
fn quoted_local() -> impl Strategy<Value = (String, String)> {
    let piece = prop_oneof![
        8 => "[a-zA-Z0-9 .,:;<>()\\[\\]@#&*+=?^~-]".prop_map(|c| (c.clone(), c)),
        1 => Just(("\\\"".to_owned(), "\"".to_owned())),
        1 => Just(("\\\\".to_owned(), "\\".to_owned())),
    ];
    ("[a-z0-9 ]", prop::collection::vec(piece, 0..10)).prop_map(|(first, pieces)| {
        let mut written = format!("\"{first}");
        let mut internal = first;
        for (w, i) in pieces {
            written.push_str(&w);
            internal.push_str(&i);
        }
        written.push('"');
        (written, internal)
    })
}

/// Unicode white space (Zs, Zl, Zp) and format characters (Cf) that
/// Postfix's tokenizer takes as atom text and UTS #46 refuses in a domain.
/// (U+FEFF and U+200B, which UTS #46 deletes, are left out of domains.)
const UNICODE_SPACES: [char; 27] = [
    '\u{a0}', '\u{1680}', '\u{2000}', '\u{2001}', '\u{2002}', '\u{2003}', '\u{2004}', '\u{2005}',
    '\u{2006}', '\u{2007}', '\u{2008}', '\u{2009}', '\u{200a}', '\u{2028}', '\u{2029}', '\u{202f}',
    '\u{205f}', '\u{3000}', '\u{200e}', '\u{200f}', '\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}',
    '\u{202e}', '\u{2066}', '\u{2069}',
];

fn unicode_space() -> impl Strategy<Value = char> {
    prop_oneof![4 => select(&UNICODE_SPACES[..]), 1 => Just('\u{feff}')]
}

fn unicode_space_in_domain() -> impl Strategy<Value = char> {
    select(&UNICODE_SPACES[..])
}

// ---------------------------------------------------------------------
// Domains.

/// `[a-z0-9]`, then up to 7 of `[a-z0-9-]`, ending in a letter or digit.
fn label() -> impl Strategy<Value = String> {
    "[a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?"
}

fn tld() -> impl Strategy<Value = &'static str> {
    select(&["com", "net", "org", "de", "example"][..])
}

/// A fully qualified host name: (as written, lowercased).
fn fqdn() -> impl Strategy<Value = (String, String)> {
    (
        prop::collection::vec(label(), 1..3),
        tld(),
        prop::bool::weighted(0.15),
    )
        .prop_map(|(labels, tld, upper)| {
            let lower = format!("{}.{tld}", labels.join("."));
            let written = if upper {
                lower.to_ascii_uppercase()
            } else {
                lower.clone()
            };
            (written, lower)
        })
}

/// A host name as written (trailing dot or not) and its `Host`.
fn valid_domain() -> impl Strategy<Value = (String, Host)> {
    (fqdn(), prop::bool::weighted(0.1)).prop_map(|((written, lower), dot)| {
        let written = if dot { format!("{written}.") } else { written };
        (written, Host::Lookup(lower))
    })
}

/// A one-label name that starts with a letter (an all-numeric one is bad
/// syntax), at most 8 octets (never `localhost`), maybe with a trailing dot.
fn one_label() -> impl Strategy<Value = String> {
    ("[a-z]([a-z0-9-]{0,6}[a-z0-9])?", prop::bool::weighted(0.2))
        .prop_map(|(l, dot)| if dot { format!("{l}.") } else { l })
}

fn ipv4() -> impl Strategy<Value = Ipv4Addr> {
    (1u8..=223, any::<u8>(), any::<u8>(), 1u8..=254)
        .prop_map(|(a, b, c, d)| Ipv4Addr::new(a, b, c, d))
}

/// `IPv6:` in any case, and an address as `std` writes it: eight groups,
/// a `::` in the documentation prefix, or an IPv4-mapped address. (No
/// group is zero in the first form, so that shrinking never reaches `::`.)
fn ipv6_literal() -> impl Strategy<Value = String> {
    (
        select(&["IPv6:", "ipv6:", "IPV6:"][..]),
        prop_oneof![
            prop::array::uniform8(1u16..).prop_map(|g| Ipv6Addr::from(g).to_string()),
            (1u16.., 1u16..).prop_map(|(a, b)| format!("2001:db8::{a:x}:{b:x}")),
            ipv4().prop_map(|v4| v4.to_ipv6_mapped().to_string()),
        ],
    )
        .prop_map(|(tag, ip)| format!("{tag}{ip}"))
}

fn valid_literal() -> impl Strategy<Value = String> {
    prop_oneof![
        ipv4().prop_map(|ip| format!("[{ip}]")),
        ipv6_literal().prop_map(|ip| format!("[{ip}]")),
    ]
}

fn invalid_literal() -> impl Strategy<Value = String> {
    prop_oneof![
        // An octet over 255.
        (256u16..=999, any::<u8>(), any::<u8>(), any::<u8>())
            .prop_map(|(a, b, c, d)| format!("[{a}.{b}.{c}.{d}]")),
        // Three or five octets.
        (1u8..=223, any::<u8>(), any::<u8>()).prop_map(|(a, b, c)| format!("[{a}.{b}.{c}]")),
        (
            1u8..=223,
            any::<u8>(),
            any::<u8>(),
            any::<u8>(),
            any::<u8>()
        )
            .prop_map(|(a, b, c, d, e)| format!("[{a}.{b}.{c}.{d}.{e}]")),
        // IPv6 without its tag.
        any::<[u16; 8]>().prop_map(|g| format!("[{}]", Ipv6Addr::from(g))),
        // A tag with no IPv6 address after it.
        ipv4().prop_map(|ip| format!("[IPv6:{ip}]")),
        (any::<u16>(), any::<u16>()).prop_map(|(a, b)| format!("[IPv6:{a:x}:::{b:x}]")),
        // A host name in brackets, or nothing.
        fqdn().prop_map(|(d, _)| format!("[{d}]")),
        Just("[]".to_owned()),
    ]
}

/// Domains Postfix's `valid_hostname()` refuses.
fn bad_domain() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        (label(), label()).prop_map(|(a, b)| format!("{a}..{b}.com")),
        fqdn().prop_map(|(d, _)| format!(".{d}")),
        (label(), tld()).prop_map(|(l, t)| format!("-{l}.{t}")),
        (label(), tld()).prop_map(|(l, t)| format!("{l}-.{t}")),
        (label(), "[#$&*+=?^`{}~'/]", label(), tld())
            .prop_map(|(a, c, b, t)| format!("{a}{c}{b}.{t}")),
        (any::<u8>(), any::<u8>(), any::<u8>(), any::<u8>())
            .prop_map(|(a, b, c, d)| format!("{a}.{b}.{c}.{d}")),
    ]
}

/// U-labels whose IDNA2003 and IDNA2008 forms agree (no `ß`, final sigma,
/// joiners or right-to-left scripts): Latin with diacritics, Cyrillic,
/// Japanese.
fn unicode_domain() -> impl Strategy<Value = (String, String)> {
    let unicode_label = prop_oneof![
        "[a-z]{0,3}[äöüéñçåø][a-z]{0,3}",
        "[\u{430}-\u{44f}]{2,6}",
        "[\u{3042}-\u{3093}\u{4e00}-\u{4e8c}]{1,3}",
    ];
    // An ASCII label beside a U-label must not have `--` in its third and
    // fourth places: UTS #46 CheckHyphens, which Postfix's ICU applies to
    // the whole name (`ab--c.ü.de` is refused).
    (
        prop::collection::vec("[a-z0-9]{1,8}", 0..2),
        unicode_label,
        select(&["com", "de", "рф", "jp"][..]),
    )
        .prop_map(|(prefix, u, tld)| {
            let mut labels = prefix;
            labels.push(u);
            labels.push(tld.to_owned());
            let written = labels.join(".");
            let ascii = idna::domain_to_ascii(&written).unwrap_or_default();
            (written, ascii)
        })
}

/// A host name of exactly `len` octets (no trailing dot) made of labels of
/// at most 63 `fill` octets and `.com`.
fn domain_of_length(len: usize, fill: char) -> String {
    let mut body = len - ".com".len();
    let mut labels = Vec::new();
    while body > 64 {
        labels.push(fill.to_string().repeat(63));
        body -= 64;
    }
    labels.push(fill.to_string().repeat(body));
    format!("{}.com", labels.join("."))
}

// ---------------------------------------------------------------------
// Mailboxes of each class.

fn with_domain(local: (String, String), domain: (String, Host)) -> Parts {
    let (lw, li) = local;
    let (dw, host) = domain;
    Parts::new(format!("{lw}@{dw}"), format!("{li}@{dw}"), host)
}

fn plain_local() -> impl Strategy<Value = (String, String)> {
    atom_local().prop_map(|l| (l.clone(), l))
}

fn valid_mailbox() -> impl Strategy<Value = Parts> {
    let local = prop_oneof![4 => plain_local(), 1 => utf8_local().prop_map(|l| (l.clone(), l))];
    (local, valid_domain(), any::<bool>()).prop_map(|(l, d, utf8)| with_domain(l, d).utf8(utf8))
}

fn mailbox_parts(class: Class) -> BoxedStrategy<Parts> {
    match class {
        Class::Valid => valid_mailbox().boxed(),
        Class::BadSyntax => prop_oneof![
            (plain_local(), bad_domain()).prop_map(|(l, d)| with_domain(l, (d, Host::Bad))),
            // Two addresses.
            (valid_mailbox(), valid_mailbox(), select(&[",", ", "][..]))
                .prop_map(|(a, b, sep)| Parts::bad(format!("{}{sep}{}", a.text, b.text))),
            // An unquoted space between two words. (Not beside `|`, which
            // is an operator to Postfix and joins its neighbours: `a| b@x`
            // is the one address `a|b@x`.)
            ("[a-z0-9]{1,8}", atom_local(), valid_domain())
                .prop_map(|(a, b, (d, _))| Parts::bad(format!("{a} {b}@{d}"))),
        ]
        .boxed(),
        Class::NotFullyQualified => prop_oneof![
            (plain_local(), one_label()).prop_map(|(l, d)| with_domain(l, (d, Host::NotFqdn))),
            atom_local().prop_map(|l| Parts::new(l.clone(), l, Host::None)),
        ]
        .boxed(),
        Class::NullSender => Just(Parts::new(String::new(), String::new(), Host::None)).boxed(),
        Class::Postmaster => (prop::collection::vec(any::<bool>(), 10), any::<bool>())
            .prop_map(|(upper, quoted)| {
                let name: String = "postmaster"
                    .chars()
                    .zip(upper)
                    .map(|(c, up)| if up { c.to_ascii_uppercase() } else { c })
                    .collect();
                let written = if quoted {
                    format!("\"{name}\"")
                } else {
                    name.clone()
                };
                Parts::new(written, name, Host::None)
            })
            .boxed(),
        Class::LiteralValid => (plain_local(), valid_literal())
            .prop_map(|(l, d)| with_domain(l, (d, Host::Literal)))
            .boxed(),
        Class::LiteralInvalid => (plain_local(), invalid_literal())
            .prop_map(|(l, d)| with_domain(l, (d, Host::Bad)))
            .boxed(),
        Class::Idn => {
            let local =
                prop_oneof![3 => plain_local(), 1 => utf8_local().prop_map(|l| (l.clone(), l))];
            (local, unicode_domain(), any::<bool>())
                .prop_map(|(l, (d, ascii), utf8)| {
                    with_domain(l, (d, Host::Unicode(ascii))).utf8(utf8)
                })
                .boxed()
        }
        Class::LengthEdge => prop_oneof![
            // Postfix sets no limit on the local part.
            (63usize..=66, "[a-z0-9]", valid_domain())
                .prop_map(|(n, c, d)| { with_domain((c.repeat(n), c.repeat(n)), d) }),
            // Whole domains around the 253-octet DNS limit and the
            // 255-octet limit of `valid_hostname()`.
            (plain_local(), 252usize..=257, "[a-z]").prop_map(|(l, n, c)| {
                let d = domain_of_length(n, c.chars().next().unwrap_or('a'));
                let host = match n {
                    ..=253 => Host::Lookup(d.clone()),
                    254 | 255 => Host::TooLongForDns,
                    _ => Host::Bad,
                };
                with_domain(l, (d, host))
            }),
            // Labels of 63 and 64 octets.
            (plain_local(), 63usize..=64, "[a-z]", tld()).prop_map(|(l, n, c, t)| {
                let d = format!("{}.{t}", c.repeat(n));
                let host = if n <= 63 {
                    Host::Lookup(d.clone())
                } else {
                    Host::Bad
                };
                with_domain(l, (d, host))
            }),
        ]
        .boxed(),
        Class::Quoted => (quoted_local(), valid_domain())
            .prop_map(|(l, d)| with_domain(l, d))
            .boxed(),
        Class::SourceRoute => (
            prop::collection::vec(fqdn(), 1..3),
            select(&[",", ":"][..]),
            prop_oneof![
                3 => (plain_local(), valid_domain()),
                1 => (plain_local(), one_label().prop_map(|d| (d, Host::NotFqdn))),
            ],
        )
            .prop_map(|(hops, sep, (local, domain))| {
                let route: Vec<String> = hops.into_iter().map(|(h, _)| format!("@{h}")).collect();
                let target = with_domain(local, domain);
                let text = format!("{}:{}", route.join(sep), target.text);
                // Postfix drops the route up to its first `:`, once: of
                // `@a:@b:user@x` the address `@b:user@x` is left, which
                // routes to `x`.
                let internal = target
                    .internal
                    .as_ref()
                    .map(|_| text[text.find(':').map_or(0, |c| c + 1)..].to_owned());
                Parts {
                    text,
                    internal,
                    ..target
                }
            })
            .boxed(),
        Class::UnicodeSpace => prop_oneof![
            // Atom text in a local part, plain or quoted, anywhere in it.
            (
                atom_local(),
                unicode_space(),
                0usize..3,
                any::<bool>(),
                valid_domain(),
                any::<bool>()
            )
                .prop_map(|(l, c, at, quoted, d, utf8)| {
                    let local = match at {
                        0 => format!("{c}{l}"),
                        1 => format!("{l}{c}"),
                        _ => format!("{}{c}{}", &l[..1], &l[1..]),
                    };
                    let written = if quoted {
                        format!("\"{local}\"")
                    } else {
                        local.clone()
                    };
                    with_domain((written, local), d).utf8(utf8)
                }),
            // In the domain, or after it: `501`, with or without SMTPUTF8.
            (
                plain_local(),
                fqdn(),
                unicode_space_in_domain(),
                any::<bool>(),
                any::<bool>()
            )
                .prop_map(|(l, (d, _), c, inside, utf8)| {
                    let d = if inside {
                        format!("{}{c}{}", &d[..1], &d[1..])
                    } else {
                        format!("{d}{c}")
                    };
                    with_domain(l, (d, Host::Bad)).utf8(utf8)
                }),
        ]
        .boxed(),
        Class::Unterminated => prop_oneof![
            // A quote never closed: smtpd's command tokenizer refuses it.
            (plain_local(), valid_domain())
                .prop_map(|((l, _), (d, _))| Parts::bad(format!("\"{l}@{d}"))),
            // A comment runs to the end of the text: the address ends
            // where it opens.
            (plain_local(), valid_domain(), "[a-z ]{0,6}").prop_map(|(l, d, c)| {
                let mut p = with_domain(l, d);
                p.text = format!("{}({c}", p.text);
                p
            }),
            (atom_local(), "[a-z]{0,4}", valid_domain()).prop_map(|(l, rest, (d, _))| {
                Parts::new(format!("{l}({rest}@{d}"), l, Host::None)
            }),
            (plain_local(), one_label(), "[a-z]{0,4}", tld()).prop_map(
                |((l, _), label, rest, t)| {
                    let label = label.trim_end_matches('.').to_owned();
                    Parts::new(
                        format!("{l}@{label}({rest}.{t}"),
                        format!("{l}@{label}"),
                        Host::NotFqdn,
                    )
                }
            ),
            // A literal is closed at the end of the text.
            (plain_local(), valid_literal()).prop_map(|((l, _), lit)| {
                Parts::new(
                    format!("{l}@{}", &lit[..lit.len() - 1]),
                    format!("{l}@{lit}"),
                    Host::Literal,
                )
            }),
        ]
        .boxed(),
    }
}

// ---------------------------------------------------------------------
// Paths.

/// How a mailbox is written as a path, as Postfix reads it the same:
/// without angle brackets only when it holds no ASCII space (which would
/// end the path token).
fn wrap(m: &str) -> BoxedStrategy<String> {
    let m = m.to_owned();
    let comment = m.clone();
    let bracketed = prop_oneof![
        6 => Just(format!("<{m}>")),
        1 => Just(format!("< {m} >")),
        1 => "[a-z ]{0,6}".prop_map(move |c| format!("<({c}){comment}>")),
    ];
    if m.contains(' ') {
        bracketed.boxed()
    } else {
        prop_oneof![6 => bracketed, 1 => Just(m)].boxed()
    }
}

fn path(class: Class) -> BoxedStrategy<Sample> {
    let wrapped = mailbox_parts(class)
        .prop_flat_map(move |m| {
            let wraps = wrap_for(class, &m);
            wraps.prop_map(move |p| m.sample(class, p.clone(), p))
        })
        .boxed();
    match class {
        Class::UnicodeSpace => prop_oneof![
            3 => wrapped,
            // Before the path: a phrase, dropped.
            1 => (valid_mailbox(), unicode_space())
                .prop_map(move |(m, c)| {
                    let p = format!("{c}<{}>", m.text);
                    m.sample(class, p.clone(), p)
                }),
            // After the path: part of the path token, which then holds
            // two words.
            1 => (valid_mailbox(), unicode_space())
                .prop_map(move |(m, c)| {
                    let p = format!("<{}>{c}", m.text);
                    Parts::bad(m.text).utf8(m.smtputf8).sample(class, p.clone(), p)
                }),
        ]
        .boxed(),
        Class::Unterminated => prop_oneof![
            3 => wrapped,
            // An angle bracket never closed.
            1 => (valid_mailbox(), select(&["<{}", "<<{}>"][..]))
                .prop_map(move |(m, form)| {
                    let p = form.replace("{}", &m.text);
                    Parts::bad(m.text).sample(class, p.clone(), p)
                }),
        ]
        .boxed(),
        _ => wrapped,
    }
}

/// The path forms for a mailbox of `class`: the source route and
/// unterminated constructs keep their angle brackets (without them
/// Postfix reads them otherwise); the null path has its own forms.
fn wrap_for(class: Class, m: &Parts) -> BoxedStrategy<String> {
    match class {
        Class::SourceRoute | Class::Unterminated => Just(format!("<{}>", m.text)).boxed(),
        // What is left once spaces, quotes and comments are read is empty.
        Class::NullSender => prop_oneof![
            4 => Just("<>".to_owned()),
            1 => Just("< >".to_owned()),
            1 => Just("<\"\">".to_owned()),
            1 => "[a-z]{0,4}".prop_map(|c| format!("<({c})>")),
        ]
        .boxed(),
        _ => wrap(&m.text),
    }
}
