#!/usr/bin/env bash
# The three-way Postfix benchmark: Debian's Postfix, driven by its own load
# generator smtp-source over loopback, with
#   (a) its built-in reject_non_fqdn_* + reject_unknown_*_domain,
#   (b) the policy server through check_policy_service instead,
#   (c) no envelope checks at all (the upper bound),
# on the same DNS: NSD (authoritative, tests/data/zone.txt plus this
# bench's domains) behind Unbound (recursive), in a private network
# namespace. Each round runs every configuration with a warm cache, a cold
# cache, a cold cache with 20 ms between Unbound and NSD, and a warm cache
# with the good envelopes alone (which all three accept: like for like).
# benches/README.md explains the figures and the checks.
#
#   benches/postfix-threeway/run.sh [ROUNDS]        as root; ROUNDS default 3
#
# Needs: postfix (smtp-source), nsd, unbound, python3, a C compiler, cargo.
# Environment: BENCH_TRANSACTIONS (default 3000 per run), BENCH_SESSIONS
# (smtp-source processes at once, default 32), BENCH_NETNS (default
# pfthreeway), BENCH_SCRATCH (default /tmp/postfix-threeway).
# Writes $BENCH_SCRATCH/results.tsv and prints the table. Not part of CI.
set -Eeuo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
ROUNDS="${1:-3}"
N="${BENCH_TRANSACTIONS:-3000}"
JOBS="${BENCH_SESSIONS:-32}"
NS="${BENCH_NETNS:-pfthreeway}"
SCRATCH="${BENCH_SCRATCH:-/tmp/postfix-threeway}"
DELAY_MS=20
# The policy server under test, built in release mode: these two lines are
# the one place that names it.
POLICY_BUILD=(cargo build --release --features policyd --bin envelope-check-policyd)
POLICY_SERVER="$REPO/target/release/envelope-check-policyd"

PY=/usr/bin/python3
DRIVER="$HERE/driver.py"
DNS="$SCRATCH/dns"
NSD_PORT=5353
PROXY_PORT=5300
POLICY_PORT=10040
declare -A SMTP_PORT=([a]=2525 [b]=2526 [c]=2527)
PIDS=()
PROXY_PID=""
POLICY_PID=""

log() { printf '[threeway %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
in_ns() { ip netns exec "$NS" "$@"; }

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    for c in a b c; do
        [ -f "$SCRATCH/pf-$c/etc/main.cf" ] && in_ns postfix -c "$SCRATCH/pf-$c/etc" stop >/dev/null 2>&1 || true
    done
    for p in "$POLICY_PID" "$PROXY_PID" "${PIDS[@]}"; do
        [ -n "$p" ] && kill "$p" 2>/dev/null || true
    done
    sleep 1
    ip netns del "$NS" 2>/dev/null || true
    rm -rf "/etc/netns/$NS"
    [ $rc -eq 0 ] || log "FAILED (exit $rc); logs in $SCRATCH"
    exit $rc
}

# ------------------------------------------------------------------ DNS
write_dns_config() {
    mkdir -p "$DNS"
    cat "$REPO/tests/data/zone.txt" "$SCRATCH/zone-bench.txt" >"$DNS/root.zone"
    nsd-checkzone . "$DNS/root.zone" >/dev/null || die "the bench zone does not load"
    SERVFAIL=(); TIMEOUT=()
    local name kind
    while read -r name kind _; do
        case "$name" in ''|'#'*) continue ;; esac
        case "$kind" in
            servfail) SERVFAIL+=("${name%.}") ;;
            timeout) TIMEOUT+=("${name%.}") ;;
        esac
    done <"$REPO/tests/data/faults.txt"
    {
        cat <<EOF
server:
  ip-address: 127.0.0.1@$NSD_PORT
  username: ""
  chroot: ""
  zonesdir: "$DNS"
  database: ""
  zonelistfile: "$DNS/nsd.zonelist"
  xfrdfile: "$DNS/nsd.xfrd.state"
  xfrdir: "$DNS"
  pidfile: "$DNS/nsd.pid"
  logfile: "$DNS/nsd.log"
  server-count: 1
  verbosity: 0
remote-control:
  control-enable: no
zone:
  name: "."
  zonefile: "root.zone"
EOF
        # A zone whose file is missing: NSD answers SERVFAIL for it.
        for name in "${SERVFAIL[@]}"; do
            printf 'zone:\n  name: "%s"\n  zonefile: "missing-%s.zone"\n' "$name" "$name"
        done
    } >"$DNS/nsd.conf"
    # Unbound asks NSD through the delay proxy, always (0 ms or DELAY_MS).
    {
        cat <<EOF
server:
  interface: 127.0.0.1@53
  access-control: 127.0.0.0/8 allow
  do-ip6: no
  do-not-query-localhost: no
  module-config: "iterator"
  username: ""
  chroot: ""
  directory: "$DNS"
  pidfile: "$DNS/unbound.pid"
  logfile: "$DNS/unbound.log"
  use-syslog: no
  verbosity: 0
  num-threads: 1
  qname-minimisation: no
EOF
        for name in "${TIMEOUT[@]}"; do
            printf '  local-zone: "%s." deny\n' "$name"   # dropped: the client times out
        done
        cat <<EOF
remote-control:
  control-enable: yes
  control-interface: "$DNS/unbound.ctl"
stub-zone:
  name: "."
  stub-addr: 127.0.0.1@$PROXY_PORT
EOF
        for name in "${SERVFAIL[@]}"; do
            printf 'stub-zone:\n  name: "%s."\n  stub-addr: 127.0.0.1@%s\n' "$name" "$PROXY_PORT"
        done
    } >"$DNS/unbound.conf"
    unbound-checkconf "$DNS/unbound.conf" >/dev/null || die "bad unbound.conf"
}

unbound_ctl() { unbound-control -c "$DNS/unbound.conf" "$@"; }

set_delay() {  # milliseconds
    [ -n "$PROXY_PID" ] && { kill "$PROXY_PID" 2>/dev/null || true; wait "$PROXY_PID" 2>/dev/null || true; }
    ip netns exec "$NS" "$PY" "$HERE/delay_proxy.py" "$PROXY_PORT" "$NSD_PORT" "$1" &
    PROXY_PID=$!
    sleep 0.5
}

# -------------------------------------------------------------- Postfix
write_postfix() {  # config: a b c
    local c=$1 d="$SCRATCH/pf-$1" sender recipient
    mkdir -p "$d/etc" "$d/spool" "$d/data"
    chown postfix:postfix "$d/data"
    local set
    for set in all good; do
        sed "s/\$/ 127.0.0.1:${SMTP_PORT[$c]}/" "$SCRATCH/smtp-source-$set.args" >"$SCRATCH/smtp-source-$set-$c.args"
    done
    case $c in
        a)  sender="reject_non_fqdn_sender, reject_unknown_sender_domain"
            recipient="reject_non_fqdn_recipient, reject_unknown_recipient_domain, permit" ;;
        b)  sender="check_policy_service { inet:127.0.0.1:$POLICY_PORT, policy_context=sender }"
            recipient="check_policy_service { inet:127.0.0.1:$POLICY_PORT, policy_context=recipient }, permit" ;;
        c)  sender=""
            recipient="permit" ;;
    esac
    cat >"$d/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $d/spool
data_directory = $d/data
meta_directory = /etc/postfix
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
maillog_file = $d/maillog
maillog_file_prefixes = $d
syslog_name = threeway-$c
myhostname = mx.oracle-mta.net
mydomain = oracle-mta.net
myorigin = \$myhostname
mydestination = \$myhostname, localhost.\$mydomain, localhost
relay_domains =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtputf8_enable = yes
smtpd_delay_reject = yes
unknown_address_reject_code = 550
smtpd_error_sleep_time = 0
smtpd_hard_error_limit = 1000
# Accepted mail is thrown away: the bench measures the SMTP server.
default_transport = discard:bench
# No flow control: it paces clients by delivery speed, not by the checks.
in_flow_delay = 0
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_sender_restrictions = $sender
smtpd_recipient_restrictions = $recipient
EOF
    cat >"$d/etc/master.cf" <<EOF
127.0.0.1:${SMTP_PORT[$c]} inet n - n - - smtpd
pickup     unix  n       -       n       60      1       pickup
cleanup    unix  n       -       n       -       0       cleanup
qmgr       unix  n       -       n       300     1       qmgr
rewrite    unix  -       -       n       -       -       trivial-rewrite
bounce     unix  -       -       n       -       0       bounce
defer      unix  -       -       n       -       0       bounce
trace      unix  -       -       n       -       0       bounce
verify     unix  -       -       n       -       1       verify
proxymap   unix  -       -       n       -       -       proxymap
smtp       unix  -       -       n       -       -       smtp
error      unix  -       -       n       -       -       error
retry      unix  -       -       n       -       -       error
discard    unix  -       -       n       -       -       discard
local      unix  -       n       n       -       -       local
anvil      unix  -       -       n       -       1       anvil
scache     unix  -       -       n       -       1       scache
postlog    unix-dgram n  -       n       -       1       postlogd
EOF
    in_ns postfix -c "$d/etc" start >/dev/null 2>&1 || die "Postfix $c does not start: $(tail -3 "$d/maillog")"
}

wait_for_queue() {  # config: until every accepted message is delivered
    local q="$SCRATCH/pf-$1/spool"
    for _ in $(seq 600); do
        [ -z "$(find "$q/incoming" "$q/active" "$q/deferred" -type f 2>/dev/null | head -1)" ] && return
        sleep 0.1
    done
    log "queue of $1 not empty after 60 s"
}

start_policy() {
    [ -n "$POLICY_PID" ] && { kill "$POLICY_PID" 2>/dev/null || true; wait "$POLICY_PID" 2>/dev/null || true; }
    ip netns exec "$NS" "$POLICY_SERVER" --listen "127.0.0.1:$POLICY_PORT" \
        --nameserver 127.0.0.1:53 \
        --local-domain mx.oracle-mta.net --local-domain localhost.oracle-mta.net \
        --local-domain localhost --local-address 127.0.0.1 \
        >>"$SCRATCH/policy.log" 2>&1 &
    POLICY_PID=$!
    for _ in $(seq 100); do
        in_ns bash -c "exec 3<>/dev/tcp/127.0.0.1/$POLICY_PORT" 2>/dev/null && return
        sleep 0.1
    done
    die "the policy server does not listen"
}

# ------------------------------------------------------------------ runs
run_one() {  # round cond config
    local round=$1 cond=$2 c=$3 port=${SMTP_PORT[$3]} log="$SCRATCH/pf-$3/maillog"
    local tag="$round-${cond//[ ,]/}-$c" set=all
    [ "$cond" = "warm, good only" ] && set=good
    if [ "$cond" != cold ] && [ "$cond" != cold+delay ]; then
        in_ns "$PY" "$DRIVER" warm "$port" "$SCRATCH"
    else
        # Cold: Unbound's cache flushed, a fresh policy server, and fresh
        # smtpd processes (an old one would first try its connection to the
        # old policy server and wait smtpd_policy_service_retry_delay).
        unbound_ctl reload >/dev/null
        start_policy
        in_ns postfix -c "$SCRATCH/pf-$c/etc" reload >/dev/null 2>&1
        sleep 1
    fi
    wait_for_queue "$c"
    unbound_ctl stats >/dev/null   # resets the counters
    local offset stop="$SCRATCH/stop-$tag"
    offset=$(stat -c %s "$log")
    rm -f "$stop"
    in_ns "$PY" "$DRIVER" sample "$port" "$SCRATCH/envelopes-$set.tsv" "$stop" "$SCRATCH/sample-$tag.tsv" &
    local sampler=$! t0 t1
    t0=$(date +%s.%N)
    in_ns env LD_PRELOAD="$SCRATCH/nosleep.so" xargs -P "$JOBS" -L 1 /usr/sbin/smtp-source \
        <"$SCRATCH/smtp-source-$set-$c.args" 2>"$SCRATCH/smtp-source-$tag.err" || true
    t1=$(date +%s.%N)
    touch "$stop"
    wait "$sampler"
    local queries
    queries=$(unbound_ctl stats | sed -n 's/^total.num.queries=//p')
    wait_for_queue "$c"
    sleep 1   # postlogd writes asynchronously
    "$PY" "$DRIVER" logstats "$log" "$offset" >"$SCRATCH/stats-$tag.json"
    local verdict lat seconds rcpts
    verdict=$("$PY" "$DRIVER" verify "$SCRATCH" "$set" "$SCRATCH/stats-$tag.json" "$c" || true)
    lat=$("$PY" "$DRIVER" latency "$SCRATCH/sample-$tag.tsv")
    seconds=$(echo "$t1 - $t0" | bc)
    rcpts=$("$PY" -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s["accepted"]+sum(s["rejected"].values()))' "$SCRATCH/stats-$tag.json")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$cond" "$c" "$seconds" \
        "$(grep -c . "$SCRATCH/envelopes-$set.tsv")" "$rcpts" \
        $(echo "$lat" | cut -d' ' -f1,2) "$queries" "$verdict" >>"$SCRATCH/results.tsv"
    log "$tag: $seconds s, $rcpts RCPTs, p50/p99/samples $lat ms, $queries queries, $verdict"
}

main() {
    [ "$(id -u)" = 0 ] || die "run as root (Postfix's master, the network namespace)"
    for t in nsd unbound unbound-control postfix /usr/sbin/smtp-source cc bc; do
        command -v "$t" >/dev/null || die "missing $t"
    done
    if [ -z "${SKIP_BUILD:-}" ]; then
        (cd "$REPO" && "${POLICY_BUILD[@]}") || die "building the policy server failed"
    fi
    [ -x "$POLICY_SERVER" ] || die "no $POLICY_SERVER"

    ip netns del "$NS" 2>/dev/null || true
    rm -rf "$SCRATCH"
    mkdir -p "$SCRATCH"
    trap cleanup EXIT
    trap 'exit 130' INT TERM
    log "load $(uptime | sed 's/.*load average/load average/'), $(nproc) CPUs"

    "$PY" "$DRIVER" population "$N" "$SCRATCH"
    write_dns_config
    # smtp-source ends on the first rejected RCPT through Postfix's
    # msg_fatal(), which sleeps a second before it exits; that second is the
    # client's, not the server's, so sleep() returns at once here.
    printf 'unsigned int sleep(unsigned int s) { (void)s; return 0; }\n' >"$SCRATCH/nosleep.c"
    cc -shared -fPIC -O2 -o "$SCRATCH/nosleep.so" "$SCRATCH/nosleep.c"

    ip netns add "$NS"
    ip -n "$NS" link set lo up
    mkdir -p "/etc/netns/$NS"
    printf 'nameserver 127.0.0.1\n' >"/etc/netns/$NS/resolv.conf"
    ip netns exec "$NS" nsd -d -c "$DNS/nsd.conf" >"$DNS/nsd.out" 2>&1 &
    PIDS+=($!)
    set_delay 0
    ip netns exec "$NS" unbound -d -c "$DNS/unbound.conf" >"$DNS/unbound.out" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 50); do
        in_ns dig +short +time=1 +tries=1 @127.0.0.1 northwind-traders.com MX 2>/dev/null | grep -q mx1 && break
        sleep 0.2
    done
    in_ns dig +short +time=1 +tries=1 @127.0.0.1 s1.bench-good.com MX | grep -q mx1 || die "DNS does not answer"
    start_policy
    for c in a b c; do write_postfix $c; done
    sleep 1

    printf 'round\tcond\tconfig\tseconds\tmessages\trcpts\tp50_ms\tp99_ms\tqueries\tcheck\n' >"$SCRATCH/results.tsv"
    local round cond order
    for round in $(seq "$ROUNDS"); do
        # Rotate the order of the configurations from round to round.
        case $((round % 3)) in 1) order="a b c" ;; 2) order="b c a" ;; 0) order="c a b" ;; esac
        for cond in warm cold cold+delay "warm, good only"; do
            if [ "$cond" = cold+delay ]; then set_delay "$DELAY_MS"; else set_delay 0; fi
            for c in $order; do run_one "$round" "$cond" "$c"; done
        done
    done
    set_delay 0

    log "every reply of b against a, one transaction per envelope (and the DNS timeouts)"
    local cfail=0
    for c in a b; do
        in_ns "$PY" "$DRIVER" warm "${SMTP_PORT[$c]}" "$SCRATCH"
        in_ns "$PY" "$DRIVER" check "${SMTP_PORT[$c]}" "$SCRATCH" "$SCRATCH/check-$c.tsv"
    done
    "$PY" "$DRIVER" compare "$SCRATCH/check-a.tsv" "$SCRATCH/check-b.tsv" || cfail=1
    log "every rejected RCPT of the load, b against a, per run"
    for f in "$SCRATCH"/stats-*-a.json; do
        local b="${f%-a.json}-b.json"
        printf '%s: ' "$(basename "${f%-a.json}")"
        "$PY" "$DRIVER" compare "$f" "$b" || cfail=1
    done
    echo
    log "load $(uptime | sed 's/.*load average/load average/')"
    "$PY" "$DRIVER" report "$SCRATCH/results.tsv"
    cut -f1-3,10 "$SCRATCH/results.tsv" | awk -F'\t' 'NR>1 && $4 != "ok" {print "  NOT OK: " $0; bad=1} END {exit bad}' || cfail=1
    [ $cfail = 0 ] || die "replies differ or transactions were lost; see above"
}

main "$@"
