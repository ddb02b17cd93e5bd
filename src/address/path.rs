//! From the text after `MAIL FROM:` / `RCPT TO:` to Postfix's internal form.
//!
//! Postfix's smtpd tokenizes the command line (`<...>` and `"..."` group
//! white space), strips one pair of angle brackets, drops a source route,
//! then runs its RFC 822 address parser and keeps the unquoted ("internal")
//! form of the single address found. This module reproduces those steps.

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

/// One ESMTP parameter of a `MAIL`/`RCPT` command, `KEYWORD[=VALUE]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EsmtpParam<'a> {
    /// The keyword as written.
    pub keyword: &'a str,
    /// The value after `=`, if any.
    pub value: Option<&'a str>,
}

/// A command argument split into the path and its ESMTP parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandArgument<'a> {
    /// The path token, brackets included, as sent (`<user@example.com>`).
    pub path: &'a str,
    /// Whether an `SMTPUTF8` parameter (any case) was given.
    pub smtputf8: bool,
    /// The text after the path (already checked to tokenize).
    params: &'a str,
}

impl<'a> CommandArgument<'a> {
    /// The parameters after the path, in order.
    pub fn params(&self) -> impl Iterator<Item = EsmtpParam<'a>> + 'a {
        Tokens { rest: self.params }
            .filter_map(Result::ok)
            .map(EsmtpParam::parse)
    }
}

impl<'a> EsmtpParam<'a> {
    fn parse(token: &'a str) -> Self {
        match token.split_once('=') {
            Some((keyword, value)) => Self {
                keyword,
                value: Some(value),
            },
            None => Self {
                keyword: token,
                value: None,
            },
        }
    }
}

/// Splits what follows `MAIL FROM:` or `RCPT TO:` into the path and the
/// ESMTP parameters, the way Postfix's smtpd tokenizes a command line:
/// white space separates tokens except inside `<...>` (which nests) and
/// `"..."`, and a backslash escapes the next character.
///
/// ```
/// use envelope_check::split_command_argument;
/// let arg = split_command_argument(" <kunde@müller.de> SIZE=100 smtputf8").unwrap();
/// assert_eq!(arg.path, "<kunde@müller.de>");
/// assert!(arg.smtputf8);
/// let size = arg.params().next().unwrap();
/// assert_eq!((size.keyword, size.value), ("SIZE", Some("100")));
/// ```
pub fn split_command_argument(arg: &str) -> Result<CommandArgument<'_>, AddressError> {
    let mut tokens = Tokens { rest: arg };
    let path = match tokens.next() {
        None => return Err(AddressError::MissingPath),
        Some(t) => t?,
    };
    // Validate the parameters and look for SMTPUTF8 without collecting them.
    let params = tokens.rest;
    let mut smtputf8 = false;
    for token in tokens {
        let param = EsmtpParam::parse(token?);
        smtputf8 |= param.value.is_none() && param.keyword.eq_ignore_ascii_case("SMTPUTF8");
    }
    Ok(CommandArgument {
        path,
        smtputf8,
        params,
    })
}

/// Like [`split_command_argument`], for raw bytes off the wire: input that is
/// not UTF-8 is refused as Postfix (with `smtputf8_enable = yes`) does.
pub fn split_command_argument_bytes(arg: &[u8]) -> Result<CommandArgument<'_>, AddressError> {
    let text = std::str::from_utf8(arg).map_err(|_| AddressError::InvalidUtf8)?;
    split_command_argument(text)
}

/// Postfix smtpd command-line tokens.
struct Tokens<'a> {
    rest: &'a str,
}

impl<'a> Iterator for Tokens<'a> {
    type Item = Result<&'a str, AddressError>;

    fn next(&mut self) -> Option<Self::Item> {
        let s = self
            .rest
            .trim_start_matches(|c: char| c.is_ascii() && is_smtp_space(c as u8));
        if s.is_empty() {
            self.rest = s;
            return None;
        }
        let b = s.as_bytes();
        let mut i = 0;
        // Postfix keeps a stack of awaited closers; it only ever holds `>`s
        // with at most one `"` on top, so a depth and a flag are exact.
        let mut angle_depth = 0usize;
        let mut quoted = false;
        while i < b.len() {
            let c = b[i];
            if !TOKEN_SPECIAL[usize::from(c)] {
                i += 1;
                continue;
            }
            if angle_depth == 0 && !quoted && is_smtp_space(c) {
                break;
            }
            i += 1;
            match c {
                b'\\' => i = (i + 1).min(b.len()),
                b'"' => quoted = !quoted,
                b'>' if !quoted && angle_depth > 0 => angle_depth -= 1,
                b'<' if !quoted => angle_depth += 1,
                _ => {}
            }
        }
        // Keep the cut on a char boundary (a backslash may precede UTF-8).
        while !s.is_char_boundary(i) {
            i += 1;
        }
        let (token, rest) = s.split_at(i);
        self.rest = rest;
        if angle_depth == 0 && !quoted {
            Some(Ok(token))
        } else {
            self.rest = "";
            Some(Err(AddressError::Unterminated))
        }
    }
}

/// Bytes the command tokenizer must look at; everything else is copied.
static TOKEN_SPECIAL: [bool; 256] = {
    let mut table = [false; 256];
    let mut c = 0;
    while c < 128 {
        table[c] = is_smtp_space(c as u8);
        c += 1;
    }
    table[b'\\' as usize] = true;
    table[b'"' as usize] = true;
    table[b'<' as usize] = true;
    table[b'>' as usize] = true;
    table
};

/// Postfix's `ISSPACE()` in the C locale, which separates command tokens:
/// vertical tab and form feed too, but nothing beyond ASCII (oracle rows
/// S2275-S2282).
const fn is_smtp_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Postfix's `extract_addr()`: the internal (unquoted) form of the single
/// address in a path token. An empty result is the null path.
pub(crate) fn internal_form(token: &str) -> Result<Cow<'_, str>, AddressError> {
    let mut text = token;
    if text.len() >= 2 && text.starts_with('<') && text.ends_with('>') {
        text = &text[1..text.len() - 1];
    }
    // The deprecated source route, `@hop1,@hop2:user@domain`, is dropped.
    // `@a:@b:user@x`, as some clients write it, is a route too.
    while text.starts_with('@')
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
    resolve(internal, is_local).1
}

/// The resolver loop, with the address it resolves to: `user@remote.domain`,
/// or for local delivery `user@local.domain` (the last local domain
/// stripped) or `user`. This is the address Postfix looks up in access maps
/// (`check_sender_access`).
///
/// An empty domain (`user@`) is stripped like a local one; when nothing
/// else gives the address a domain, the empty one comes back and the result
/// is `Route::Remote("")`, which no host-name check passes.
pub(crate) fn resolve<'a>(
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

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(internal("<@a.com:@b.com:u@x.com>"), "u@x.com");
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
        let resolved = |a| resolve(a, &local).0.into_owned();
        assert_eq!(resolved("vip%nx.com@mx.local.net"), "vip@nx.com");
        assert_eq!(resolved("nx.com!vip@mx.local.net"), "vip@nx.com");
        assert_eq!(resolved("user@mx.local.net."), "user@mx.local.net");
        assert_eq!(resolved("user@x.com."), "user@x.com");
        assert_eq!(resolved("user"), "user");
        assert_eq!(resolve_route("@a:b@mx.local.net", &local), Route::Local);
        assert_eq!(resolved("@a:b@nx.com"), "b@nx.com");
    }
}
