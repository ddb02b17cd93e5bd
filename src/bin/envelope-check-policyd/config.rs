//! The policy from the command line and the files it names, read at start
//! and again on SIGHUP. Every error names the file and, for a bad line,
//! its number; a policy is built whole or not at all.

use std::path::Path;

use envelope_check::{Direction, Policy, SenderAccess};

use crate::args::{Dir, PolicyArgs};
use crate::sanitize::printable;

pub(crate) fn load(args: &PolicyArgs) -> Result<Policy, String> {
    let mut policy = Policy::builder().direction(match args.direction {
        Dir::Inbound => Direction::Inbound,
        Dir::Outbound => Direction::Outbound,
    });
    if let Some(file) = &args.sender_access {
        // The error names the file and the line.
        let map = SenderAccess::load(file).map_err(|e| e.to_string())?;
        for warning in map.warnings() {
            tracing::warn!(file = %printable(&file.display().to_string()), "{}", printable(&warning.to_string()));
        }
        policy = policy.sender_access(map);
    }
    for domain in &args.local_domains {
        policy = policy.local_domain(domain);
    }
    for file in &args.local_domain_files {
        for domain in domain_file(file)? {
            policy = policy.local_domain(&domain);
        }
    }
    for ip in &args.local_addresses {
        policy = policy.local_address(*ip);
    }
    for domain in &args.managed_domains {
        policy = policy.managed_domain(domain);
    }
    for file in &args.managed_domain_files {
        for domain in domain_file(file)? {
            policy = policy.managed_domain(&domain);
        }
    }
    policy.build().map_err(|e| e.to_string())
}

/// The domains of a file: one a line, blank lines and lines whose first
/// non-blank character is `#` skipped.
fn domain_file(path: &Path) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse_domains(&text).map_err(|(line, why)| format!("{}: line {line}: {why}", path.display()))
}

fn parse_domains(text: &str) -> Result<Vec<String>, (usize, String)> {
    let mut domains = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |why: &str| (n + 1, format!("{why}: \"{}\"", printable(line)));
        if line.split_whitespace().nth(1).is_some() {
            return Err(bad("one domain a line expected"));
        }
        if line
            .chars()
            .any(|c| c.is_control() || matches!(c, '@' | '<' | '>' | '[' | ']'))
        {
            return Err(bad("not a domain"));
        }
        domains.push(line.to_owned());
    }
    Ok(domains)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_files_skip_comments_and_name_the_bad_line() {
        assert_eq!(
            parse_domains("# ours\n\nexample.com\n  mail.example.com  \n"),
            Ok(vec![
                "example.com".to_owned(),
                "mail.example.com".to_owned()
            ])
        );
        let (line, why) = parse_domains("example.com\na b\n").unwrap_err();
        assert_eq!(line, 2);
        assert!(why.contains("one domain a line"), "{why}");
        assert_eq!(parse_domains("x@y\n").unwrap_err().0, 1);
    }
}
