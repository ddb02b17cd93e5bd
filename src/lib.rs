#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod address;

// The public interface is:
pub use address::{
    AddressError, AddressLiteral, CommandArgument, Domain, Echo, EsmtpParam, ForwardPath, Host,
    Mailbox, ReversePath, parse_forward_path, parse_reverse_path, split_command_argument,
    split_command_argument_bytes,
};
