//! PostgreSQL plumbing every kind of backup shares: a server's errors and version, names and
//! quoting, LSNs, recovery targets, and running a client tool with its log. It imports nothing
//! above the foundation (errors, jobs, the client environment).

pub mod lsn;
pub mod recovery_target;
pub mod server;
pub mod table_names;
pub mod tool_run;
