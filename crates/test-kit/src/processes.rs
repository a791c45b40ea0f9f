//! Child processes for tests: started with a clean environment for what they read, their stdout
//! collected line by line, killed when dropped.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::{Duration, Instant};

/// How long a test waits for a line before failing (a poll with a deadline, not a sleep).
const LINE_DEADLINE: Duration = Duration::from_secs(60);

pub struct ChildProcess {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl ChildProcess {
    pub fn spawn(program: &str, env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(program);
        command.envs(env.iter().copied());
        Self::start(program, command, Stdio::inherit())
    }

    /// Like [`ChildProcess::spawn`], but the child sees only `env` (nothing of the test's own
    /// environment), and its stderr is collected along with its stdout, into the same lines.
    pub fn spawn_isolated(program: &str, env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(program);
        command.env_clear().envs(env.iter().copied());
        Self::start(program, command, Stdio::piped())
    }

    fn start(program: &str, mut command: Command, stderr: Stdio) -> Self {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(stderr)
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {program}: {err}"));
        let (sender, lines) = channel();
        forward_lines(child.stdout.take().unwrap(), sender.clone());
        if let Some(stderr) = child.stderr.take() {
            forward_lines(stderr, sender);
        }
        Self {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// The next line matching `wanted`, skipping others; fails the test after the deadline.
    pub fn wait_for_line(&mut self, wanted: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + LINE_DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if wanted(&line) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => panic!(
                    "no expected line within {LINE_DEADLINE:?}; saw:\n{}",
                    self.seen.join("\n")
                ),
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("process ended; it printed:\n{}", self.seen.join("\n"))
                }
            }
        }
    }

    /// Every line read so far (by `wait_for_line`, `wait_for_exit` or `kill`).
    /// The process id, to move the process into a cgroup, say.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn lines(&self) -> &[String] {
        &self.seen
    }

    /// Reads whatever the process has printed by now, without waiting, and returns every line
    /// read so far: for a poll with a deadline on what a running process logs.
    pub fn printed_so_far(&mut self) -> &[String] {
        while let Ok(line) = self.lines.try_recv() {
            self.seen.push(line);
        }
        &self.seen
    }

    /// Reads the rest of the output until the process closes it, then reaps it; fails the test
    /// if the output is still open after the deadline.
    pub fn wait_for_exit(&mut self) -> ExitStatus {
        self.read_until_closed();
        self.child.wait().expect("the process can be waited for")
    }

    /// Kills the process and reads everything it printed before dying (see [`ChildProcess::lines`]).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.read_until_closed();
    }

    fn read_until_closed(&mut self) {
        let deadline = Instant::now() + LINE_DEADLINE;
        loop {
            match self
                .lines
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(line) => self.seen.push(line),
                Err(RecvTimeoutError::Disconnected) => return,
                Err(RecvTimeoutError::Timeout) => panic!(
                    "the process still had its output open after {LINE_DEADLINE:?}; it printed:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }
}

/// Sends each line of `output` (lossily decoded, so no line is dropped for bad UTF-8) until it closes.
fn forward_lines(output: impl Read + Send + 'static, sender: Sender<String>) {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(output);
        let mut line = Vec::new();
        while reader.read_until(b'\n', &mut line).is_ok_and(|read| read > 0) {
            let text = String::from_utf8_lossy(&line).trim_end_matches(['\n', '\r']).to_owned();
            if sender.send(text).is_err() {
                break;
            }
            line.clear();
        }
    });
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a shell command line and returns its stdout; fails the test if it fails.
pub fn run_shell(command: &str) -> String {
    let output = Command::new("sh").arg("-c").arg(command).output().expect("sh runs");
    assert!(
        output.status.success(),
        "{command} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}
