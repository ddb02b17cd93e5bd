"""Generates the random differential rows of case_defs.tsv: addresses
assembled from fragments that stress Postfix's RFC 822 parser and its
routing (local parts, domains, wrappers, ESMTP parameters).

    python3 random_cases.py 1   # S501-S650 / R501-R650
    python3 random_cases.py 2   # S651-S850 / R651-R850 (more fragments)
    python3 random_cases.py 3   # S1101-S1300 / R1101-R1300 (as 2, another seed)
    python3 random_cases.py 4   # S2501-S2700 / R2501-R2700 (Unicode, unterminated)
    python3 random_cases.py 5   # S2701-S2850 / R2701-R2850 (as 4, another seed)
    python3 random_cases.py 6   # S2851-S3000 / R2851-R3000 (as 4, another seed)

Deterministic (a fixed seed per round); prints case_defs.tsv rows to stdout.
Append them to the oracle's case_defs.tsv and run oracle.sh."""
import random
import sys

LOCALS = ['user', 'u.v', '.a', 'a.', 'a..b', '"john doe"', '"a\\"b"', '"x"', 'a\\@b', 'a\\ b',
          'john"d"', 'vip', 'postmaster', 'Postmaster', 'a%b', 'a!b', 'x(c)y', '(c)u', 'u(c)',
          'a)b', 'a]b', 'a[b', 'a|b', 'a+b', "o'neil", 'a,b', 'a;b', 'a:b', '', '"', '\\',
          'a<b', 'a>b', '!#$%&*+-/=?^_`{|}~', 'MAILER-DAEMON']
DOMAINS = ['northwind-traders.com', 'globex-nonexistent.com', 'mx.oracle-mta.net', 'localhost',
           'mail', 'nullmx-only.org', 'broken-dns.com', 'webshop-a-only.de',
           'sixonly-hosting.net', 'txtonly-corp.com', '[192.0.2.1]', '[IPv6:::1]', '[1.2.3]',
           '1.2.3.4', '-x.com', 'x-.com', 'a..b.com', 'com.', 'NORTHWIND-TRADERS.COM.',
           'northwind-traders.com..', '', '.', 'x_y.globex-nonexistent.com', 'foo.123',
           'oracle-mta.net', 'alias-to-good.net', 'cname-to-nullmx.net',
           'shop.wildcard-hosting.com', 'x.txt-wild.org', 'northwind-traders.com(c)',
           '(c)northwind-traders.com', 'northwind traders.com', 'northwind-traders.com x']
WRAPS = [('<', '>'), ('<', '>'), ('<', '>'), ('', ''), ('< ', ' >'), ('<<', '>>'), ('<', '>>'),
         ('<', ''), ('', '>'), ('<x <', '>>'), ('<@a.com:', '>'), ('<@a.com,@b.com:', '>'),
         ('<g:', '>'), ('<', '>;'), ('<', ';>')]
# Round 2 puts these in front of the lists above.
MORE_LOCALS = ['δοκιμή', 'josé', '"a b\\"c"', '"@"', '"(x)"', 'a..', '..a', 'a.b.c', 'x\\',
               '"\\x"', 'a (c) b', 'a(c).b', 'a.(c)b', '"a".b', 'a."b"', '"".x']
MORE_DOMAINS = ['müller-bäckerei.de', 'MÜLLER-BÄCKEREI.DE', 'xn--mller-bckerei-hfb76a.de',
                'пример.рф', '[IPv6:2001:db8::1]', '[ipv6:2001:db8::1]', '[127.0.0.1]',
                '[IPv6:::ffff:127.0.0.1]', '[300.1.1.1]', 'northwind-traders.com.(c)', 'a.b',
                'x.y.wildcard-hosting.com', 'nullmx-aaaa.de', 'mixed-nullmx.de',
                'dot-mx-pref10.com', 'loop-a.org', 'mx-into-servfail.net', 'sub.broken-dns.com',
                'localhost.oracle-mta.net', 'MX.Oracle-MTA.net.', 'a@b.com', '(c)', '[x]',
                '[1.2.3.4]x']
MORE_WRAPS = [('<(c)', '>'), ('(c)<', '>'), ('<', '>(c)'), ('<a,', '>'), ('<', '>,'),
              ('<"q" <', '>>'), ('<<<', '>>>'), ('< <', '> >')]
# Rounds 4 and 5 add these too: Unicode white space and format characters
# (which Postfix reads as atom text), and quotes, comments, literals and
# angle brackets that are opened and never closed.
UNICODE = ['\u00a0', '\u2000', '\u2001', '\u2002', '\u2003', '\u2004', '\u2005', '\u2006',
           '\u2007', '\u2008', '\u2009', '\u200a', '\u200b', '\u3000', '\ufeff', '\u200e',
           '\u200f', '\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067',
           '\u2068', '\u2069']
OPENERS = ['"', '(', '[', '<', '\\', ')', ']', '>']
UNICODE_LOCALS = ['jo\u00a0hn', '\u3000vip', 'vip\u2003', '"a\u2002b"', '\ufeffuser', 'u\u200bser',
                  '\u202eresu', 'x\u2066y\u2069', '"\u00a0"', 'a"b', '"ab', 'a(b', 'a[b', '(x', '[x',
                  'a\\"b', 'a\\(b', 'a<b', '"a(b"', '"a[b"', 'a\\ b\u00a0c']
UNICODE_DOMAINS = ['northwind-traders.com\u00a0', '\u3000northwind-traders.com',
                   'globex\u2003-nonexistent.com', 'northwind-traders.com\u200b',
                   'northwind-traders.com\ufeff', 'globex-nonexistent.com\u200e',
                   'globex-nonexistent.com(', 'globex-nonexistent.com(x', '[192.0.2.1', '[IPv6:::1',
                   '[300.1.1.1', 'globex-nonexistent.com"', 'northwind(x', 'globex-nonexistent.com[',
                   'globex-nonexistent.com\\"', 'globex-nonexistent.com\\ ', 'müller\u00a0bäckerei.de',
                   'пример.рф\u3000']
UNICODE_WRAPS = [('<(', '>'), ('<', '(>'), ('<', '[>'), ('<"', '>'), ('<', '"'), ('\u00a0<', '>'),
                 ('<', '>\u3000'), ('<\u2003', '>'), ('\u3000', ''), ('<', '\\>'), ('<<', '>')]
# round: (seed, rows per command, first id, extra fragments?, Unicode fragments?)
ROUNDS = {1: (20261128, 150, 500, False, False), 2: (4242, 200, 650, True, False),
          3: (777, 200, 1100, True, False), 4: (12012, 200, 2500, True, True),
          5: (2026, 150, 2700, True, True), 6: (31337, 150, 2850, True, True)}


def main(round_no):
    seed, per_command, first, more, uni = ROUNDS[round_no]
    random.seed(seed)
    locals_ = (UNICODE_LOCALS if uni else []) + (MORE_LOCALS if more else []) + LOCALS
    domains = (UNICODE_DOMAINS if uni else []) + (MORE_DOMAINS if more else []) + DOMAINS
    wraps = (UNICODE_WRAPS if uni else []) + (MORE_WRAPS if more else []) + WRAPS

    def addr():
        r = random.random()
        lp = random.choice(locals_)
        if r < 0.1:
            core = lp
        elif r < 0.2:
            core = lp + '%' + random.choice(domains) + '@' + random.choice(domains)
        elif r < 0.27:
            core = random.choice(domains) + '!' + lp + '@' + random.choice(domains)
        elif r < 0.35:
            core = lp + '@' + random.choice(domains) + '@' + random.choice(domains)
        else:
            core = lp + '@' + random.choice(domains)
        a, b = random.choice(wraps)
        s = a + core + b
        if uni and random.random() < 0.4:
            # One more Unicode or opening character anywhere in the path.
            i = random.randrange(len(s) + 1)
            s = s[:i] + random.choice(UNICODE + OPENERS) + s[i:]
        if random.random() < 0.1:
            s += random.choice([' SIZE=10', 'SIZE=10', '  BODY=8BITMIME', ' X'])
        return s

    seen = set()
    for cmd, prefix in (('MAIL', 'S'), ('RCPT', 'R')):
        n = 0
        while n < per_command:
            s = addr()
            if s in seen or '\t' in s or s.strip() == '':
                continue
            seen.add(s)
            n += 1
            # Rounds 4 and 5 ask some non-ASCII paths without SMTPUTF8.
            utf8 = 'no' if uni and not s.isascii() and random.random() < 0.3 else 'auto'
            print(f"{prefix}{first + n}\t{cmd}\t{s}\t{utf8}\trandom differential case")


if __name__ == '__main__':
    main(int(sys.argv[1]))
