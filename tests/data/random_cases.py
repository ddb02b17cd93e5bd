"""Generates the random differential rows S501-S650 / R501-R650 of
case_defs.tsv: addresses assembled from fragments that stress Postfix's
RFC 822 parser and its routing (local parts, domains, wrappers, params).
Append its output to the oracle's case_defs.tsv and run oracle.sh.
Prints to /tmp/oracle-new/random.tsv; deterministic (fixed seed)."""
import random
random.seed(20261128)
locals_ = ['user','u.v','.a','a.','a..b','"john doe"','"a\\"b"','"x"','a\\@b','a\\ b','john"d"','vip','postmaster','Postmaster','a%b','a!b','x(c)y','(c)u','u(c)','a)b','a]b','a[b','a|b','a+b',"o'neil",'a,b','a;b','a:b','','"','\\','a<b','a>b','!#$%&*+-/=?^_`{|}~','MAILER-DAEMON']
domains = ['northwind-traders.com','globex-nonexistent.com','mx.oracle-mta.net','localhost','mail','nullmx-only.org','broken-dns.com','webshop-a-only.de','sixonly-hosting.net','txtonly-corp.com','[192.0.2.1]','[IPv6:::1]','[1.2.3]','1.2.3.4','-x.com','x-.com','a..b.com','com.','NORTHWIND-TRADERS.COM.','northwind-traders.com..','','.','x_y.globex-nonexistent.com','foo.123','oracle-mta.net','alias-to-good.net','cname-to-nullmx.net','shop.wildcard-hosting.com','x.txt-wild.org','northwind-traders.com(c)','(c)northwind-traders.com','northwind traders.com','northwind-traders.com x']
wraps = [('<','>'),('<','>'),('<','>'),('',''),('< ',' >'),('<<','>>'),('<','>>'),('<',''),('','>'),('<x <','>>'),('<@a.com:','>'),('<@a.com,@b.com:','>'),('<g:','>'),('<','>;'),('<',';>')]
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
    while n < 150:
        s = addr()
        if s in seen or '\t' in s or s.strip()=='' :
            continue
        seen.add(s)
        n+=1
        rows.append(f"{pfx}{500+n}\t{cmd}\t{s}\tauto\trandom differential case")
open('/tmp/oracle-new/random.tsv','w').write('\n'.join(rows)+'\n')
print(len(rows))
