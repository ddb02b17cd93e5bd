//! The policy options of the command line and the files they name, read at
//! start and again on SIGHUP. Every error names the file and, for a bad
//! line, its number; a policy is built whole or not at all. The `check`
//! example includes this file too (`#[path]`), so that both take the same
//! options; its crate root has a `sanitize` module, as the daemon's has.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use clap::ValueEnum;
use envelope_check::{Direction, Policy, SenderAccess, TableWarning};

use crate::sanitize::printable;

/// What is enforced; the files here are read again on SIGHUP.
#[derive(clap::Args)]
pub(crate) struct PolicyArgs {
    /// A Postfix check_sender_access map (its source text), read as
    /// postmap reads it: `OK` approves, `REJECT` rejects, `DUNNO` defers to
    /// the DNS check, and so on.
    #[arg(long, visible_alias = "approved-senders", value_name = "FILE")]
    pub(crate) sender_access: Option<PathBuf>,
    /// A local domain (final destination, as in mydestination): not looked
    /// up; repeatable.
    #[arg(long = "local-domain", value_name = "NAME")]
    pub(crate) local_domains: Vec<String>,
    /// A file of local domains, one a line (`#` starts a comment line).
    #[arg(long = "local-domains", value_name = "FILE")]
    pub(crate) local_domain_files: Vec<PathBuf>,
    /// One of the MTA's own IP addresses: a literal naming it (`[127.0.0.1]`)
    /// is a local destination; repeatable.
    #[arg(long = "local-address", value_name = "IP")]
    pub(crate) local_addresses: Vec<IpAddr>,
    /// A managed domain, for the tracking rule; repeatable.
    #[arg(long = "managed-domain", value_name = "NAME")]
    pub(crate) managed_domains: Vec<String>,
    /// A file of managed domains, one a line (`#` starts a comment line).
    #[arg(long = "managed-domains", value_name = "FILE")]
    pub(crate) managed_domain_files: Vec<PathBuf>,
    /// Traffic direction; the sender access map applies to inbound only.
    #[arg(long, value_enum, default_value_t = Dir::Inbound)]
    pub(crate) direction: Dir,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum Dir {
    Inbound,
    Outbound,
}

/// Builds the policy; `warn` is told each warning of the sender access map
/// (file, warning) and decides where it is logged.
pub(crate) fn load(
    args: &PolicyArgs,
    mut warn: impl FnMut(&Path, &TableWarning),
) -> Result<Policy, String> {
    let mut policy = Policy::builder().direction(match args.direction {
        Dir::Inbound => Direction::Inbound,
        Dir::Outbound => Direction::Outbound,
    });
    if let Some(file) = &args.sender_access {
        // The error names the file and the line.
        let map = SenderAccess::load(file).map_err(|e| e.to_string())?;
        for warning in map.warnings() {
            warn(file, warning);
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
