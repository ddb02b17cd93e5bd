//! Postfix's smtpd command tokenizer: the text after `MAIL FROM:` /
//! `RCPT TO:` split into the path token and the ESMTP parameters.

use super::AddressError;

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
