"""Generates the targeted rows of case_defs.tsv for issue 12: Unicode white
space and format characters, ASCII controls, and quotes, comments, domain
literals and angle brackets that are opened and never closed, at each
position of the path, as sender (S2001-) and as recipient (R2001-).

    python3 targeted_cases.py   # prints case_defs.tsv rows to stdout

Every row is written as a MAIL case and as a RCPT case with the same
number. Rows holding non-ASCII text are asked twice, under two numbers:
with SMTPUTF8 forced on, then forced off (the oracle's `smtputf8` column)."""

GOOD = 'northwind-traders.com'
NX = 'globex-nonexistent.com'      # NXDOMAIN: the reply echoes the address
APPROVED = 'vip@' + NX             # a key of approved_senders

# Characters Rust's char::is_whitespace calls white space, or that are
# invisible (format, bidi), beside the ASCII ones Postfix's own ISSPACE
# knows. Postfix reads bytes: >= 0x80 is ordinary atom text.
FULL = ['\u00a0', '\u2003', '\u3000', '\ufeff', '\u200e']
SHORT = ['\u0085', '\u1680', '\u2000', '\u2001', '\u2002', '\u2004', '\u2005', '\u2006',
         '\u2007', '\u2008', '\u2009', '\u200a', '\u200b', '\u200f', '\u2028', '\u2029',
         '\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u202f', '\u205f', '\u2066',
         '\u2067', '\u2068', '\u2069']
CONTROLS = ['\x0b', '\x0c', '\x01', '\x1f', '\x7f']


def unicode_rows():
    for c in FULL:
        name = f'U+{ord(c):04X}'
        yield f'<joi{c}nd@{GOOD}>', f'{name} inside local part'
        yield f'<{c}{APPROVED}>', f'{name} before approved local part'
        yield f'<vip{c}@{NX}>', f'{name} after local part'
        yield f'<"{c}vip"@{NX}>', f'{name} quoted local part'
        yield f'<"jo{c}hn"@{NX}>', f'{name} inside quoted local part'
        yield f'<john@north{c}wind-traders.com>', f'{name} inside domain'
        yield f'<john@{GOOD}{c}>', f'{name} after domain'
        yield f'{c}<john@{NX}>', f'{name} before bracket'
        yield f'<john@{NX}>{c}', f'{name} after bracket'
        yield f'john{c}@{NX}', f'{name} bare path'
        yield f'<john@{NX}> {c}', f'{name} as a parameter'
    for c in SHORT:
        name = f'U+{ord(c):04X}'
        yield f'<joi{c}nd@{GOOD}>', f'{name} inside local part'
        yield f'<{c}{APPROVED}>', f'{name} before approved local part'
        yield f'<john@{GOOD}{c}>', f'{name} after domain'


def control_rows():
    for c in CONTROLS:
        name = f'0x{ord(c):02X}'
        yield f'<jo{c}hn@{NX}>', f'{name} inside local part'
        yield f'<"jo{c}hn"@{NX}>', f'{name} inside quoted local part'
        yield f'<john@{NX}>{c}SIZE=10', f'{name} between path and parameter'
        yield f'{c}<john@{NX}>', f'{name} before bracket'
        yield f'john{c}@{NX}', f'{name} bare path'


def unterminated_rows():
    a = 'john@' + NX
    quote = [
        (f'<"{a}>', 'quote at local start'), (f'<jo"hn@{NX}>', 'quote in local part'),
        (f'<john"@{NX}>', 'quote at local end'), (f'<john@"{NX}>', 'quote at domain start'),
        (f'<john@globex"-nonexistent.com>', 'quote in domain'),
        (f'<{a}">', 'quote at end inside brackets'), (f'<{a}>"', 'quote after bracket'),
        (f'"{a}', 'quote at start, no brackets'), (f'{a}"', 'quote at end, no brackets'),
        (f'<{a}\\">', 'escaped quote at end'),
        (f'<{a}(")">', 'quote hidden in a comment, open at end'),
        (f'<{a}.(")">', 'quote hidden in a comment, after a dot'),
        (f'<(")john@{NX}.">', 'comment hides a quote, later quote open at end'),
        (f'<john(")@{NX}">', 'comment in local part hides a quote'),
        (f'<john@[192.0.2.1"]">', 'quote inside a literal'),
        (f'<"john@{NX}(">', 'quote then comment'),
    ]
    comment = [
        (f'<({a}>', 'comment at local start'), (f'<jo(hn@{NX}>', 'comment in local part'),
        (f'<john(@{NX}>', 'comment at local end'), (f'<john@({NX}>', 'comment at domain start'),
        (f'<john@globex(-nonexistent.com>', 'comment in domain'),
        (f'<{a}(>', 'comment at end inside brackets'), (f'<{a}(x>', 'comment with text at end'),
        (f'<{a}>(', 'comment after bracket'), (f'({a}', 'comment at start, no brackets'),
        (f'{a}(', 'comment at end, no brackets'), (f'<{a}((x)>', 'nested comment open'),
        (f'<{a}(\\)>', 'escaped close paren in comment'), (f'<{a}(x\\>', 'escaped bracket'),
        (f'<john@northwind-traders.com(>', 'comment at end, good domain'),
        (f'<john@mail(.com>', 'comment cuts the domain to a non-FQDN'),
        (f'<john(>', 'comment at end of a bare local part'),
        (f'<{a}.(>', 'comment after trailing dot'),
    ]
    literal = [
        (f'<[{a}>', 'literal at local start'), (f'<jo[hn@{NX}>', 'literal in local part'),
        (f'<john[@{NX}>', 'literal at local end'), (f'<john@[{NX}>', 'literal at domain start'),
        (f'<john@globex[-nonexistent.com>', 'literal in domain'),
        (f'<john@[192.0.2.1>', 'IPv4 literal open at end'),
        (f'<john@[IPv6:2001:db8::1>', 'IPv6 literal open at end'),
        (f'<john@[192.0.2.1 >', 'literal open, space before bracket'),
        (f'<john@[192.0.2.1>>', 'literal open, doubled bracket'),
        (f'<<john@[192.0.2.1>>', 'literal open inside nested brackets'),
        (f'<john@[192.0.2.1(c)>', 'literal open swallows a comment'),
        (f'<john@[192.0.2.1\\]>', 'escaped close bracket in literal'),
        (f'<john@[300.1.1.1>', 'invalid IPv4 literal open at end'),
        (f'<{a}[>', 'literal at end inside brackets'), (f'<{a}.[>', 'literal after a dot'),
        (f'<{a}>[', 'literal after bracket'), (f'john@[192.0.2.1', 'literal open, no brackets'),
        (f'[{a}', 'literal at start, no brackets'),
        (f'<john@[192.0.2.1]]>', 'extra close bracket'),
        (f'<john@x.[192.0.2.1>', 'literal open after a label'),
    ]
    angle = [
        (f'<{a}', 'angle open, no close'), (f'<<{a}>', 'nested angle open'),
        (f'<john<@{NX}>', 'angle at local end'), (f'<jo<hn@{NX}>', 'angle in local part'),
        (f'<john@<{NX}>', 'angle at domain start'), (f'<{a}<>', 'angle at end inside'),
        (f'{a}<', 'angle at end, no brackets'), (f'<{a}> <', 'angle as a parameter'),
        (f'<{a}\\>', 'escaped close bracket'), (f'<"<"{a}>', 'quoted angle'),
        (f'<(<){a}>>', 'comment holds an angle, closed later'),
        (f'<{a}(<)>', 'comment holds an angle at end'), (f'<(<){a}>', 'comment holds an angle'),
        (f'<john>@{NX}>', 'close angle in local part'), (f'{a}\\', 'backslash at end'),
        (f'<"john" <{a}>', 'phrase and route, outer open'),
        (f'"<"{a}>', 'quoted open angle before close'),
    ]
    yield from quote
    yield from comment
    yield from literal
    yield from angle


def follow_up_rows():
    """What the first rows raised: a backslash-escaped special left in the
    domain (trivial-rewrite parses the internal form again), and operators
    that the command tokenizer pairs differently from the RFC 822 parser."""
    for special in ['"', '(', ')', '[', ']', '<', '>', ',', ';', ':', ' ', '\\', '|', '%', '!']:
        esc = '\\' + special
        yield f'<john@{NX}{esc}>', f'escaped {special!r} at the end of the domain'
        yield f'<john@globex{esc}-nonexistent.com>', f'escaped {special!r} inside the domain'
        yield f'<jo{esc}hn@{NX}>', f'escaped {special!r} inside the local part'
    yield f'<john@{GOOD}\\">', 'escaped quote after a good domain'
    yield f'<john@{NX}.\\">', 'escaped quote after a trailing dot'
    yield f'<john@[192.0.2.1]\\">', 'escaped quote after a literal'
    yield f'<a>>>', 'stray close angles after a local part'
    yield f'<a@{NX}>>>', 'stray close angles after an address'
    yield f'<jo<hn@{NX}(>)>', 'open angle closed only inside a comment'
    yield f'<jo<hn@{GOOD}(>)>', 'open angle closed only inside a comment, good domain'
    yield f'<"x")"y"@{NX}>', 'close paren between quoted strings'
    yield f'<"x"]"y"@{NX}>', 'close bracket between quoted strings'
    yield f'<"x"|"y"@{NX}>', 'pipe between quoted strings'
    yield f'<x)@{NX}>', 'close paren at local end'
    yield f'<john@{NX})>', 'close paren at domain end'
    yield f'<john@{NX}]>', 'close bracket at domain end'
    # How trivial-rewrite reads a domain that holds escaped specials: 504
    # when its own parse of the domain is a host name, else 501.
    for d in [f'{NX}\\"x', f'{NX}\\"\\"', 'globex-nonexistent.\\"com', 'globex\\".nonexistent.com',
              f'{NX}\\(x\\)', f'{NX}\\"\\ ', f'{NX}\\ \\"', f'{NX}\\"x\\"', f'\\"{NX}',
              f'\\"{NX}\\"', 'globex-nonexistent\\".com', f'{NX}\\[\\]', f'{NX}.\\(x\\)',
              f'{NX}\\ x', f'{NX}\\ \\ ', f'{GOOD}\\"x', f'{NX}\\(\\)', f'{NX}\\"\\(',
              f'{NX}\\[x', f'{NX}\\\\\\\\', 'glo\\\\bex.com', f'{NX}\\x', '\\"\\"',
              '\\"[192.0.2.1]\\"', '[192.0.2.1]\\ ', 'x\\".\\"y.com', f'{NX}\\"\\ x']:
        yield f'<john@{d}>', 'escaped specials in the domain'


def main():
    n = 2000
    rows = []
    for addr, note in list(unicode_rows()) + list(control_rows()) + list(unterminated_rows()) \
            + list(follow_up_rows()):
        assert '\t' not in addr and '\n' not in addr and '\r' not in addr
        for utf8 in ['auto'] if addr.isascii() else ['yes', 'no']:
            n += 1
            for cmd, prefix in (('MAIL', 'S'), ('RCPT', 'R')):
                rows.append(f'{prefix}{n}\t{cmd}\t{addr}\t{utf8}\t{note}')
    print('\n'.join(rows))


if __name__ == '__main__':
    main()
