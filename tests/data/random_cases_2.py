"""Second random round: rows S651-S850 / R651-R850 of case_defs.tsv, with
more fragments (UTF-8, IDN, comments, nested brackets, IPv6 literals) and
another seed. See random_cases.py."""
import random
random.seed(4242)
locals_ = ['δοκιμή','josé','"a b\\"c"','"@"','"(x)"','a..','..a','a.b.c','x\\','"\\x"','a (c) b','a(c).b','a.(c)b','"a".b','a."b"','"".x','user','u.v','.a','a.','a..b','"john doe"','"a\\"b"','"x"','a\\@b','a\\ b','john"d"','vip','postmaster','Postmaster','a%b','a!b','x(c)y','(c)u','u(c)','a)b','a]b','a[b','a|b','a+b',"o'neil",'a,b','a;b','a:b','','"','\\','a<b','a>b','!#$%&*+-/=?^_`{|}~','MAILER-DAEMON']
domains = ['müller-bäckerei.de','MÜLLER-BÄCKEREI.DE','xn--mller-bckerei-hfb76a.de','пример.рф','[IPv6:2001:db8::1]','[ipv6:2001:db8::1]','[127.0.0.1]','[IPv6:::ffff:127.0.0.1]','[300.1.1.1]','northwind-traders.com.(c)','a.b','x.y.wildcard-hosting.com','nullmx-aaaa.de','mixed-nullmx.de','dot-mx-pref10.com','loop-a.org','mx-into-servfail.net','sub.broken-dns.com','localhost.oracle-mta.net','MX.Oracle-MTA.net.','a@b.com','(c)','[x]','[1.2.3.4]x','northwind-traders.com','globex-nonexistent.com','mx.oracle-mta.net','localhost','mail','nullmx-only.org','broken-dns.com','webshop-a-only.de','sixonly-hosting.net','txtonly-corp.com','[192.0.2.1]','[IPv6:::1]','[1.2.3]','1.2.3.4','-x.com','x-.com','a..b.com','com.','NORTHWIND-TRADERS.COM.','northwind-traders.com..','','.','x_y.globex-nonexistent.com','foo.123','oracle-mta.net','alias-to-good.net','cname-to-nullmx.net','shop.wildcard-hosting.com','x.txt-wild.org','northwind-traders.com(c)','(c)northwind-traders.com','northwind traders.com','northwind-traders.com x']
wraps = [('<(c)','>'),('(c)<','>'),('<','>(c)'),('<a,','>'),('<','>,'),('<"q" <','>>'),('<<<','>>>'),('< <','> >'),('<','>'),('<','>'),('<','>'),('',''),('< ',' >'),('<<','>>'),('<','>>'),('<',''),('','>'),('<x <','>>'),('<@a.com:','>'),('<@a.com,@b.com:','>'),('<g:','>'),('<','>;'),('<',';>')]
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
    if random.random() < 0.1:
        s += random.choice([' SIZE=10', 'SIZE=10', '  BODY=8BITMIME', ' X'])
    return s
seen=set()
rows=[]
for cmd, pfx in (('MAIL','S'),('RCPT','R')):
    n=0
    while n < 200:
        s = addr()
        if s in seen or '\t' in s or s.strip()=='' :
            continue
        seen.add(s)
        n+=1
        rows.append(f"{pfx}{650+n}\t{cmd}\t{s}\tauto\trandom differential case")
open('/tmp/oracle-new/random2.tsv','w').write('\n'.join(rows)+'\n')
print(len(rows))
