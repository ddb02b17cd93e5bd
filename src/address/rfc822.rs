//! From a path token to Postfix's internal form: smtpd strips one pair of
//! angle brackets and a source route, then runs its RFC 822 address parser
//! and keeps the unquoted ("internal") form of the single address found.

use std::borrow::Cow;

use super::AddressError;

/// Characters that can appear in a plain `local@domain` whose internal form
/// is the input itself (no quotes, comments, brackets or white space).
fn is_plain(c: u8) -> bool {
    PLAIN[usize::from(c)]
}

static PLAIN: [bool; 256] = {
    let mut table = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        table[c] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'!' | b'#'
                    ..=b'\''
                        | b'*'
                        | b'+'
                        | b'-'
                        | b'.'
                        | b'/'
                        | b'='
                        | b'?'
                        | b'@'
                        | b'^'
                        | b'_'
                        | b'`'
                        | b'{'
                        | b'|'
                        | b'}'
                        | b'~'
            );
        c += 1;
    }
    table
};

/// Postfix's `extract_addr()`: the internal (unquoted) form of the single
/// address in a path token. An empty result is the null path.
pub(crate) fn internal_form(token: &str) -> Result<Cow<'_, str>, AddressError> {
    let mut text = token;
    if text.len() >= 2 && text.starts_with('<') && text.ends_with('>') {
        text = &text[1..text.len() - 1];
    }
    // The deprecated source route, `@hop1,@hop2:user@domain`, is dropped:
    // everything up to the first `:`, once. In `@a:@b:user@x` the rest,
    // `@b:user@x`, is the address (Postfix echoes it; oracle rows
    // S4483-R4525 in generated_cases.tsv), and trivial-rewrite routes it to `x`.
    if text.starts_with('@')
        && let Some(colon) = text.find(':')
    {
        text = &text[colon + 1..];
    }
    if text.bytes().all(is_plain) {
        return Ok(Cow::Borrowed(text));
    }
    rfc822_internal(text).map(Cow::Owned)
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    /// An atom, or the contents of a quoted string.
    Word(String),
    /// A domain literal, brackets included.
    Literal(String),
    /// One of Postfix's operators: `@ . , : ; < > % ! ) ] |`.
    Special(u8),
    /// A comment, which the address parser sets aside.
    Comment,
}

/// Tokenizes with RFC 822 rules (quoted strings unquoted), picks the single
/// address, and joins it back into internal form.
fn rfc822_internal(text: &str) -> Result<String, AddressError> {
    let mut tokens = rfc822_tokens(text);
    tokens.retain(|t| *t != Tok::Comment);
    let mut addresses = addresses(&tokens);
    let first = addresses.next().unwrap_or_default();
    if addresses.next().is_some() {
        return Err(AddressError::MultipleAddresses);
    }
    Ok(join_internal(first))
}

fn is_word(t: &Tok) -> bool {
    matches!(t, Tok::Word(_) | Tok::Literal(_))
}

/// What an address (or the phrase before a `<`) is made of: everything but
/// `,`, `;` and `>`. A `<` that no `>` closes is an operator like `@`
/// (`jo<hn@x(>)` is the address `jo<hn@x`, S2418).
fn is_address_part(t: &Tok) -> bool {
    !matches!(t, Tok::Special(b',' | b';' | b'>'))
}

/// The addresses in a token list, found as Postfix's RFC 822 parser finds
/// them, from right to left. Each rule was checked against the oracle
/// (rows S201-S650, R201-R650):
/// - `>` closes a route-addr: the address is everything between it and the
///   nearest `<` to its left (`<a>b@x>` is `a>b@x`), or with no `<` left,
///   everything before it (`a>>` is the address `a>`, S2416); the phrase
///   before the `<` belongs to it (`x@y <a@b.c>` is one address);
/// - otherwise an address is a run of words, literals and the operators
///   `. @ : % !` in which no two words (or literals) stand side by side:
///   `john"doe"@x`, `x(comment)y@x`, `a[b@[192.0.2.1]` and `a@b c.d` hold
///   two addresses each; `.user.@x`, `user@@x`, `user%[192.0.2.1]@x`,
///   `a%(comment)b@x` and `a:b@x` one;
/// - `,` and `;` outside a route-addr separate addresses.
fn addresses(tokens: &[Tok]) -> impl Iterator<Item = &[Tok]> {
    let mut end = tokens.len();
    std::iter::from_fn(move || {
        while end > 0 {
            let last = &tokens[end - 1];
            if *last == Tok::Special(b'>') {
                let before = &tokens[..end - 1];
                let (inner_start, next_end) =
                    match before.iter().rposition(|t| *t == Tok::Special(b'<')) {
                        Some(open) => {
                            // The phrase before `<` belongs to this address.
                            let mut start = open;
                            while start > 0 && is_address_part(&tokens[start - 1]) {
                                start -= 1;
                            }
                            (open + 1, start)
                        }
                        // Everything before it, earlier `>`s included.
                        None => (0, 0),
                    };
                let inner = &tokens[inner_start..end - 1];
                end = next_end;
                // An empty `<>` or `>` makes no address (`><<a>>`, S2524).
                if !inner.is_empty() {
                    return Some(inner);
                }
                continue;
            }
            if !is_address_part(last) {
                end -= 1;
                continue;
            }
            let mut start = end - 1;
            while start > 0 {
                let prev = &tokens[start - 1];
                if !is_address_part(prev) || (is_word(prev) && is_word(&tokens[start])) {
                    break;
                }
                start -= 1;
            }
            let run = &tokens[start..end];
            end = start;
            return Some(run);
        }
        None
    })
}

/// The internal form: the tokens' text run together.
fn join_internal(tokens: &[Tok]) -> String {
    let mut out = String::new();
    for t in tokens {
        match t {
            Tok::Word(text) | Tok::Literal(text) => out.push_str(text),
            Tok::Special(c) => out.push(char::from(*c)),
            Tok::Comment => {}
        }
    }
    out
}

/// The domain of an internal-form address as Postfix's trivial-rewrite
/// sees it: it parses the address again (once in its rewrite service, once
/// in its resolver) and joins the tokens back with a space between two
/// words. So an escaped special that smtpd left in the domain can vanish
/// (`example.com\"` is `example.com`, `exa\\mple.com` is `example.com`) or
/// leave a space (`example.com\"x` is `example.com x`); Postfix checks the
/// host-name syntax of this form (oracle rows S2368-S2452). A comment is
/// kept as `(`, which no host name holds.
pub(crate) fn resolver_view(domain: &str) -> String {
    join_with_spaces(&rfc822_tokens(&join_with_spaces(&rfc822_tokens(domain))))
}

/// `tok822_internalize()` of a token list outside an address: words,
/// literals and comments that stand side by side get a space between them.
fn join_with_spaces(tokens: &[Tok]) -> String {
    let mut out = String::new();
    let mut after_word = false;
    for t in tokens {
        let word = !matches!(t, Tok::Special(_));
        if word && after_word {
            out.push(' ');
        }
        after_word = word;
        match t {
            Tok::Word(text) | Tok::Literal(text) => out.push_str(text),
            Tok::Special(c) => out.push(char::from(*c)),
            Tok::Comment => out.push('('),
        }
    }
    out
}

/// Postfix's `tok822_scan()`: white space is only ASCII space, tab, CR and
/// LF; every other byte, `>= 0x80` included, is atom text unless it is one of
/// the operators `( ) < > @ , ; : \ " . [ ] | % !`. A quoted string, a domain
/// literal or a comment that is never closed runs to the end of the text
/// (oracle rows S2298-S2367). Inside quotes and literals, and after a
/// backslash, white space is kept as one space.
fn rfc822_tokens(text: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if is_822_space(c) => {}
            '(' => {
                skip_comment(&mut chars);
                out.push(Tok::Comment);
            }
            '"' => out.push(Tok::Word(collect_until(&mut chars, '"'))),
            '[' => out.push(Tok::Literal(format!(
                "[{}]",
                collect_until(&mut chars, ']')
            ))),
            c if c != '\\' && is_822_operator(c) => out.push(Tok::Special(c as u8)),
            _ => {
                // An atom; a backslash takes the next character as it is
                // (`a\@b` is the atom `a@b`).
                let mut word = String::new();
                let mut next = Some(c);
                while let Some(ch) = next {
                    if ch == '\\' {
                        match chars.next() {
                            Some(escaped) => word.push(space_or(escaped)),
                            None => break,
                        }
                    } else {
                        word.push(ch);
                    }
                    next = chars
                        .next_if(|&ch| ch == '\\' || !(is_822_space(ch) || is_822_operator(ch)));
                }
                out.push(Tok::Word(word));
            }
        }
    }
    out
}

/// `IS_SPACE_TAB_CR_LF`: the only white space of Postfix's RFC 822 parser.
/// Unicode white space (U+00A0, U+3000, ...) is atom text (oracle rows
/// S2001-S2272).
fn is_822_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Postfix's `tok822_opchar`: RFC 822 specials plus `|`, `%` and `!`.
fn is_822_operator(c: char) -> bool {
    matches!(
        c,
        '(' | ')'
            | '<'
            | '>'
            | '@'
            | ','
            | ';'
            | ':'
            | '\\'
            | '"'
            | '.'
            | '['
            | ']'
            | '|'
            | '%'
            | '!'
    )
}

/// What a rendered domain must escape to parse back to the same text:
/// white space and every operator but the dot.
pub(crate) fn is_special_in_domain(c: char) -> bool {
    c != '.' && (is_822_space(c) || is_822_operator(c))
}

fn space_or(c: char) -> char {
    if is_822_space(c) { ' ' } else { c }
}

/// The text of a quoted string or domain literal up to `close`, which is
/// consumed; at the end of the input the construct simply ends.
fn collect_until(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, close: char) -> String {
    let mut s = String::new();
    while let Some(ch) = chars.next() {
        let ch = match ch {
            '\\' => match chars.next() {
                Some(escaped) => escaped,
                None => break,
            },
            ch if ch == close => break,
            ch => ch,
        };
        s.push(space_or(ch));
    }
    s
}

/// A comment, which nests; one never closed runs to the end (S443).
fn skip_comment(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    let mut depth = 1;
    while depth > 0 {
        match chars.next() {
            None => break,
            Some('\\') => {
                chars.next();
            }
            Some('(') => depth += 1,
            Some(')') => depth -= 1,
            Some(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::command::split_command_argument;
    use crate::address::routing::{Route, resolve_route};

    fn internal(s: &str) -> String {
        internal_form(s).unwrap().into_owned()
    }

    #[test]
    fn internal_forms() {
        assert_eq!(internal("<a@b.c>"), "a@b.c");
        assert_eq!(internal("a@b.c"), "a@b.c");
        assert_eq!(internal("<\"john doe\"@x.com>"), "john doe@x.com");
        assert_eq!(internal("<\"a\\\"b\"@x.com>"), "a\"b@x.com");
        assert_eq!(internal("<@a.com,@b.com:user@x.com>"), "user@x.com");
        assert_eq!(internal("< alice@x.com >"), "alice@x.com");
        assert_eq!(internal("<<alice@x.com>>"), "alice@x.com");
        assert_eq!(internal("alice@x.com>"), "alice@x.com");
        assert_eq!(internal("<>"), "");
        assert_eq!(internal("<a@b.c (comment)>"), "a@b.c");
        assert_eq!(internal("<user@[192.0.2.1]>"), "user@[192.0.2.1]");
        assert_eq!(
            internal_form("<a@b.c, d@e.f>"),
            Err(AddressError::MultipleAddresses)
        );
        // Rules learnt from the oracle (rows S201-S650, R201-R650).
        let multiple = Err(AddressError::MultipleAddresses);
        assert_eq!(internal_form("<john\"doe\"@x.com>"), multiple);
        assert_eq!(internal_form("<john doe@x.com>"), multiple);
        assert_eq!(internal_form("<x(c)y@x.com>"), multiple);
        assert_eq!(internal_form("<a[b@[192.0.2.1]>"), multiple);
        assert_eq!(internal_form("<user<x>@x.com>"), multiple);
        assert_eq!(internal_form("<a@x.com>SIZE=1"), multiple);
        // With no `<` before it, a `>` closes everything before it (S2416).
        assert_eq!(internal("<a@x.com>>>"), "a@x.com>");
        assert_eq!(internal("<a>>>"), "a>");
        assert_eq!(internal_form("<a;b@x.com>"), multiple);
        assert_eq!(internal("<a\\@b@x.com>"), "a@b@x.com");
        assert_eq!(internal("<us)er@x.com>"), "us)er@x.com");
        // `:` belongs to the address; `x@y.com:` then has a bad domain.
        assert_eq!(internal("<user:x@y.com>"), "user:x@y.com");
        assert_eq!(internal("<group:x@y.com;>"), "group:x@y.com");
        assert_eq!(internal("<x@y.com:>"), "x@y.com:");
        // A route-addr inside the path: its tokens run together.
        assert_eq!(internal("<x@y <a@b.com>>"), "a@b.com");
        assert_eq!(internal("<<john doe@x.com>>"), "johndoe@x.com");
        assert_eq!(internal("<<a;b@x.com>>"), "a;b@x.com");
        assert_eq!(internal("<a>b@x.com>;"), "a>b@x.com");
        assert_eq!(internal("<a@x.com>>"), "a@x.com");
        assert_eq!(internal("<a%(c)b@x.com>"), "a%b@x.com");
        assert_eq!(internal("<user@x.com(open>"), "user@x.com");
        assert_eq!(
            internal("<user%[192.0.2.1]@x.com>"),
            "user%[192.0.2.1]@x.com"
        );
        // Only the first route is dropped (oracle rows S4491, R4506).
        assert_eq!(internal("<@a.com:@b.com:u@x.com>"), "@b.com:u@x.com");
        assert_eq!(internal("<@a.com,@b.com:@c.com:u@x.com>"), "@c.com:u@x.com");
    }

    #[test]
    fn white_space_is_ascii_only() {
        // Unicode white space and format characters are atom text
        // (S2001-S2272); the echo keeps them.
        for c in [
            '\u{a0}', '\u{2003}', '\u{3000}', '\u{feff}', '\u{200e}', '\u{85}',
        ] {
            let path = format!("<{c}vip@x.com>");
            assert_eq!(internal(&path), format!("{c}vip@x.com"));
            assert_eq!(
                internal(&format!("<\"jo{c}hn\"@x.com>")),
                format!("jo{c}hn@x.com")
            );
        }
        // Vertical tab and form feed are atom text too, but separate
        // command tokens (S2273-S2282).
        assert_eq!(internal("<jo\x0bhn@x.com>"), "jo\x0bhn@x.com");
        let arg = split_command_argument("john\x0b@x.com").unwrap();
        assert_eq!(arg.path, "john");
        // Inside quotes and after a backslash, a tab is a space.
        assert_eq!(internal("<\"a\tb\"@x.com>"), "a b@x.com");
        assert_eq!(internal("<a\\\tb@x.com>"), "a b@x.com");
    }

    #[test]
    fn unterminated_constructs() {
        // The command tokenizer needs every `"` and `<` closed (S2298-S2306,
        // S2351-S2357).
        for arg in [
            "<\"a@x.com>",
            "<a@x.com\">",
            "\"a@x.com",
            "<a@x.com",
            "<<a@x.com>",
        ] {
            assert_eq!(
                split_command_argument(arg),
                Err(AddressError::Unterminated),
                "{arg}"
            );
        }
        // The RFC 822 parser closes a comment, a literal or a quoted
        // string at the end of the text (S2314-S2350, S2309-S2310).
        assert_eq!(internal("<a@x.com(>"), "a@x.com");
        assert_eq!(internal("<a(@x.com>"), "a");
        assert_eq!(internal("<a@[192.0.2.1>"), "a@[192.0.2.1]");
        assert_eq!(internal("a@[192.0.2.1"), "a@[192.0.2.1]");
        assert_eq!(internal("<(\")a@x.com.\">"), "a@x.com.");
        assert_eq!(
            internal_form("<a[@x.com>"),
            Err(AddressError::MultipleAddresses)
        );
        // `)`, `]` and `|` are operators: they join quoted strings (S2420).
        assert_eq!(internal("<\"x\")\"y\"@x.com>"), "x)y@x.com");
        assert_eq!(internal("<\"x\"|\"y\"@x.com>"), "x|y@x.com");
        // A `<` that no `>` closes is an operator (S2418).
        assert_eq!(internal("<jo<hn@x.com(>)>"), "jo<hn@x.com");
    }

    #[test]
    fn trivial_rewrite_reads_the_domain_again() {
        assert_eq!(resolver_view("example.com\""), "example.com");
        assert_eq!(resolver_view("example.com\"x"), "example.com x");
        assert_eq!(resolver_view("ex\"ample.com"), "ex ample.com");
        assert_eq!(resolver_view("ex\".ample.com"), "ex.ample.com");
        assert_eq!(resolver_view("example.com "), "example.com");
        assert_eq!(resolver_view("example.com\\"), "example.com");
        assert_eq!(resolver_view("ex\\ample.com"), "example.com");
        assert_eq!(resolver_view("example.com("), "example.com (");
        assert_eq!(resolver_view("example.com[]"), "example.com []");
    }

    #[test]
    fn tokenizer() {
        let a = split_command_argument("<a b@c.d> X=1").unwrap();
        assert_eq!(a.path, "<a b@c.d>");
        assert_eq!(a.params().count(), 1);
        assert_eq!(
            split_command_argument("<alice@x.com"),
            Err(AddressError::Unterminated)
        );
        assert_eq!(
            split_command_argument("   "),
            Err(AddressError::MissingPath)
        );
        let a = split_command_argument("Alice <alice@x.com>").unwrap();
        assert_eq!(a.path, "Alice");
        assert_eq!(a.params().next().unwrap().keyword, "<alice@x.com>");
    }

    #[test]
    fn routes() {
        let local = |d: &str| d.eq_ignore_ascii_case("mx.local.net");
        assert_eq!(
            resolve_route("user%nx.com@good.com", &local),
            Route::Remote("good.com".into())
        );
        assert_eq!(
            resolve_route("user%nx.com@mx.local.net", &local),
            Route::Remote("nx.com".into())
        );
        assert_eq!(resolve_route("user@mx.local.net", &local), Route::Local);
        assert_eq!(
            resolve_route("nx.com!user", &local),
            Route::Remote("nx.com".into())
        );
        assert_eq!(
            resolve_route("user@x.com.", &local),
            Route::Remote("x.com".into())
        );
        assert_eq!(resolve_route("user", &local), Route::Local);
        assert_eq!(resolve_route("user@", &local), Route::Remote("".into()));
        // An empty domain is stripped like a local one (oracle row R253).
        assert_eq!(
            resolve_route("user@good.com@", &local),
            Route::Remote("good.com".into())
        );
        assert_eq!(resolve_route("user@mx.local.net@", &local), Route::Local);
        assert_eq!(resolve_route("user@@", &local), Route::Remote("".into()));
        // The resolved address, as access maps see it.
        let resolved = |a| crate::address::routing::route(a, &local).0.into_owned();
        assert_eq!(resolved("vip%nx.com@mx.local.net"), "vip@nx.com");
        assert_eq!(resolved("nx.com!vip@mx.local.net"), "vip@nx.com");
        assert_eq!(resolved("user@mx.local.net."), "user@mx.local.net");
        assert_eq!(resolved("user@x.com."), "user@x.com");
        assert_eq!(resolved("user"), "user");
        assert_eq!(resolve_route("@a:b@mx.local.net", &local), Route::Local);
        assert_eq!(resolved("@a:b@nx.com"), "b@nx.com");
    }
}
