//! The AWS emulators the tests run against, each started once per test process on a free loopback
//! port: dynalite for DynamoDB (its conditional writes are atomic, which the race tests need and
//! `dynalite_applies_each_conditional_write_atomically` keeps checking) and moto for Secrets
//! Manager. Either one missing fails the test that needs it; nothing is ever skipped.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};

/// A server process that printed its URL on its first line and serves until its stdin closes,
/// which happens when the test process exits, however it exits.
pub struct Emulator {
    pub endpoint: String,
    _stdin: Mutex<ChildStdin>,
    _child: Mutex<Child>,
}

impl Emulator {
    fn start(program: &str, script: &str, install_hint: &str) -> Self {
        let mut child = Command::new(program)
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {program} {script}: {err} ({install_hint})"));
        let mut first_line = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout"))
            .read_line(&mut first_line)
            .expect("the emulator prints its endpoint");
        assert!(
            first_line.starts_with("http://"),
            "{script} did not start ({install_hint}): {first_line:?}"
        );
        Self {
            endpoint: first_line.trim().to_owned(),
            _stdin: Mutex::new(child.stdin.take().expect("piped stdin")),
            _child: Mutex::new(child),
        }
    }
}

static DYNALITE: OnceLock<Emulator> = OnceLock::new();
static MOTO: OnceLock<Emulator> = OnceLock::new();

/// DynamoDB: dynalite, installed by `scripts/test` into `.tools/node`.
pub fn dynalite() -> &'static Emulator {
    DYNALITE.get_or_init(|| {
        Emulator::start(
            "node",
            concat!(env!("CARGO_MANIFEST_DIR"), "/support/dynalite_server.js"),
            "scripts/test installs it: npm install --prefix .tools/node dynalite@4.0.0",
        )
    })
}

/// The project's own virtual environment's Python when there is one (`scripts/test` makes it), so
/// a plain `cargo test` works after `scripts/test` has run once.
pub fn python() -> &'static str {
    let venv_python = concat!(env!("CARGO_MANIFEST_DIR"), "/../../.venv/bin/python3");
    if std::path::Path::new(venv_python).exists() {
        venv_python
    } else {
        "python3"
    }
}

/// Secrets Manager: moto's server, installed by `scripts/test` into `.venv`.
pub fn moto() -> &'static Emulator {
    MOTO.get_or_init(|| {
        Emulator::start(
            python(),
            concat!(env!("CARGO_MANIFEST_DIR"), "/support/moto_server.py"),
            "scripts/test installs it into .venv: pip install -r requirements-dev.txt",
        )
    })
}
