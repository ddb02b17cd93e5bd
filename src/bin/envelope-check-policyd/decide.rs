//! A policy request's answer: the action Postfix gets, and the reject's
//! log line.

use envelope_check::{
    Argument, CheckOptions, PolicyRequest, ReversePath, Role, parse_internal_forward_path,
    parse_internal_reverse_path,
};

use std::sync::Mutex;

use crate::sanitize::printable;
use crate::server::Server;

/// The sender's reject, else the recipient's, else DUNNO (or the sender
/// access map's directive). With `policy_context=sender` (or `recipient`)
/// only that address is judged, and Postfix renders the reject in the
/// right class itself. Other protocol states are not ours to judge.
pub(crate) async fn decide(server: &Server, request: &PolicyRequest) -> String {
    let state = request.get("protocol_state").unwrap_or("");
    if state != "RCPT" {
        warn_once_about_state(state);
        return "DUNNO".to_owned();
    }
    let checker = server.checker();
    let get = |k: &str| request.get(k).unwrap_or("");
    let context = get("policy_context");
    // Postfix passes internal forms and has already refused U-labels
    // without SMTPUTF8, so whatever arrives may be UTF-8.
    let options = CheckOptions::default().smtputf8(true);
    // A sender access map's directive (HOLD, DISCARD, FILTER, ...) for an
    // accepted sender goes to Postfix as the action, which applies it.
    let mut accepted = None;
    let verdict = if context == "recipient" {
        None
    } else {
        let verdict = checker
            .mail_from(Argument::Internal(get("sender")), options)
            .await;
        accepted = verdict.directive().map(|d| d.postfix_action());
        Some(verdict).filter(|v| !v.is_accept())
    };
    let verdict = match verdict {
        Some(v) => v,
        None if context == "sender" => return accepted.unwrap_or_else(dunno),
        None => {
            checker
                .rcpt_to(Argument::Internal(get("recipient")), options)
                .await
        }
    };
    let Some(reject) = verdict.reject() else {
        return accepted.unwrap_or_else(dunno);
    };

    // The mail-tracking log line: which party's log shows this reject.
    let sender = parse_internal_reverse_path(get("sender"), true);
    let recipient = parse_internal_forward_path(get("recipient"), true);
    let sender_box = sender.as_ref().ok().and_then(ReversePath::mailbox);
    let tracked = recipient.as_ref().is_ok_and(|r| {
        checker
            .policy()
            .is_tracked_for(reject.role(), sender_box, r.mailbox())
    });
    let queue_id = match get("queue_id") {
        "" => "NOQUEUE",
        id => id,
    };
    let reply = reject.to_string();
    tracing::info!(
        queue_id = &*printable(queue_id),
        reply = reply.as_str(),
        reason = reject.log_reason(),
        tracked = if tracked { "yes" } else { "no" },
        "reject"
    );

    // Postfix writes `<address>: Sender address rejected: ` before an
    // action's text, in the class of the restriction that asked. With no
    // policy_context a sender reject may come back in the recipient class,
    // so it then carries its whole line to name the right address.
    // The same for a policy_context that names neither class (none, or an
    // operator's typo such as `senders`).
    let sender_class = context == "sender";
    let recipient_class = context == "recipient";
    if server.whole_lines || (!sender_class && !recipient_class && reject.role() == Role::Sender) {
        reject.to_string()
    } else {
        reject.postfix_action()
    }
}

/// Logs, once per distinct value (at most 16 of them), that requests come
/// in a protocol state this server answers DUNNO to: the service is then
/// wired into a restriction list other than `smtpd_recipient_restrictions`
/// (or `smtpd_delay_reject = no`), and checks nothing there.
fn warn_once_about_state(state: &str) {
    static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    if seen.len() >= 16 || seen.iter().any(|s| s == state) {
        return;
    }
    seen.push(state.to_owned());
    tracing::warn!(
        protocol_state = &*printable(state),
        "only RCPT requests are judged; this one gets DUNNO (use check_policy_service in smtpd_recipient_restrictions)"
    );
}

fn dunno() -> String {
    "DUNNO".to_owned()
}
