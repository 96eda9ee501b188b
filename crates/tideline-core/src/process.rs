//! Process spawning is passed in: the engine asks a `Runner` to run a command, so tests can
//! give canned outputs to code that interprets them (below real tests of the same path).

use std::io;
use std::process::{Command, Output};

pub trait Runner: Send + Sync {
    fn output(&self, cmd: &mut Command) -> io::Result<Output>;
}

pub struct SystemRunner;

impl Runner for SystemRunner {
    fn output(&self, cmd: &mut Command) -> io::Result<Output> {
        cmd.stdin(std::process::Stdio::null()).output()
    }
}
