//! The Lambda-mode section of the report: one table per memory size, the targets of the 128 MB
//! share, and what the figures say about the priming default.

use std::fmt::Write;
use std::time::Duration;

use crate::cold::Summary;
use crate::lambda_mode::{Init, LambdaResults, PerSubject, SizeResults};
use crate::stats::{Samples, ms};
use crate::warm::Warm;

const COLD_TARGET: Duration = Duration::from_millis(30);
const COLD_SPEED_UP: f64 = 20.0;
/// Primed init may exceed unprimed init plus the emulators' time at init by this much.
const PRIMING_OVERHEAD_TARGET: Duration = Duration::from_millis(10);

fn yes(met: bool) -> &'static str {
    if met { "yes" } else { "**no**" }
}

fn ratio(python: Duration, broker: Duration) -> String {
    format!("{:.1}×", python.as_secs_f64() / broker.as_secs_f64().max(1e-9))
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// A row of durations: the three subjects, then Python ÷ each broker column.
fn timed_row(out: &mut String, metric: &str, figures: PerSubject<Duration>) {
    let _ = writeln!(
        out,
        "| {metric} | {} | {} | {} | {} | {} |",
        ms(figures.primed),
        ms(figures.unprimed),
        ms(figures.python),
        ratio(figures.python, figures.primed),
        ratio(figures.python, figures.unprimed),
    );
}

fn text_row(out: &mut String, metric: &str, figures: PerSubject<String>) {
    let _ = writeln!(
        out,
        "| {metric} | {} | {} | {} | — | — |",
        figures.primed, figures.unprimed, figures.python
    );
}

fn of<T, R>(subjects: &PerSubject<T>, figure: impl Fn(&T) -> R) -> PerSubject<R> {
    PerSubject {
        primed: figure(&subjects.primed),
        unprimed: figure(&subjects.unprimed),
        python: figure(&subjects.python),
    }
}

fn size_table(out: &mut String, r: &LambdaResults, size: &SizeResults, hits: usize) {
    let _ = writeln!(
        out,
        "### {} MB: {:.1} % of a vCPU and a {} MiB limit after init\n",
        size.size.0,
        size.size.cpu_percent(),
        size.size.0
    );
    out.push_str(
        "| metric | broker, primed (default) | broker, `PRIME_AT_INIT=false` | Python reference | Python ÷ primed | Python ÷ unprimed |\n\
         |---|---:|---:|---:|---:|---:|\n",
    );
    timed_row(
        out,
        "Init at full CPU, process start → first poll (median)",
        of(&r.init, |init: &Init| init.elapsed.median()),
    );
    timed_row(
        out,
        "… of which the emulators' answers to AWS requests at init (median)",
        of(&r.init, |init: &Init| init.aws.median()),
    );
    timed_row(
        out,
        "**Cold start**, process start → answer (median)",
        of(&size.cold, |cold: &Summary| cold.elapsed.median()),
    );
    timed_row(
        out,
        "… of which init, process start → first poll, in these runs (median)",
        of(&size.cold, |cold: &Summary| cold.init.median()),
    );
    timed_row(
        out,
        "First invocation, handed out → answer (median)",
        of(&size.cold, |cold: &Summary| cold.invocation.median()),
    );
    timed_row(
        out,
        "First invocation's CPU time, first poll → answer (median)",
        of(&size.cold, |cold: &Summary| cold.invocation_cpu.median()),
    );
    text_row(
        out,
        "Cold starts throttled at least once (CFS quota used up)",
        of(&size.cold, |cold: &Summary| {
            format!("{} of {}", cold.runs_throttled, cold.elapsed.len())
        }),
    );
    timed_row(
        out,
        "(Moving the process into the cgroup, which held its first poll up; taken out of the cold start) (median)",
        of(&size.cold, |cold: &Summary| cold.moving.median()),
    );
    timed_row(
        out,
        "Warm hit, queued → answer, p50",
        of(&size.warm, |warm: &Warm| warm.latency.median()),
    );
    timed_row(
        out,
        "Warm hit, p99",
        of(&size.warm, |warm: &Warm| warm.latency.percentile(99.0)),
    );
    timed_row(
        out,
        "Warm hit at full CPU, p50",
        of(&r.warm_full_cpu, |warm: &Warm| warm.latency.median()),
    );
    timed_row(
        out,
        "Warm hit at full CPU, p99",
        of(&r.warm_full_cpu, |warm: &Warm| warm.latency.percentile(99.0)),
    );
    text_row(
        out,
        "AWS requests per warm hit",
        of(&size.warm, |warm: &Warm| format!("{:.2}", warm.aws_requests_per_hit)),
    );
    text_row(
        out,
        &format!("Genesys calls in {hits} warm hits"),
        of(&size.warm, |warm: &Warm| warm.genesys_calls.to_string()),
    );
    text_row(
        out,
        "Peak RSS (VmHWM) after the warm hits",
        of(&size.warm, |warm: &Warm| mib(warm.peak_rss_kib)),
    );
    text_row(
        out,
        "AWS requests of one cold start",
        of(&size.cold, |cold: &Summary| format!("{:?}", cold.operations)),
    );
    let _ = writeln!(
        out,
        "\nCFS periods in which an instance of this size was throttled, over all of them (each has cgroups of its own): {}. {}\n",
        size.throttled_periods,
        if size.charges_moved_pages {
            "The memory limit counts the pages a process had before moving in."
        } else {
            "This kernel does not move a process's existing pages into the group (cgroup v1 \
             `memory.move_charge_at_immigrate` is refused), so the limit counts what it allocates after init."
        }
    );
}

fn targets(out: &mut String, r: &LambdaResults, size: &SizeResults) {
    let cold = size.cold.primed.elapsed.median();
    let cold_unprimed = size.cold.unprimed.elapsed.median();
    let python = size.cold.python.elapsed.median();
    let speed_up = python.as_secs_f64() / cold.as_secs_f64().max(1e-9);
    let primed_init = r.init.primed.elapsed.median();
    let allowed = r.init.unprimed.elapsed.median() + r.init.primed.aws.median() + PRIMING_OVERHEAD_TARGET;
    let warm = &size.warm.primed;
    let _ = writeln!(out, "### Targets, {} MB\n", size.size.0);
    out.push_str("| target | figure | met? |\n|---|---|---|\n");
    let _ = writeln!(
        out,
        "| Cold start ≤ 30 ms (median), primed | {} (unprimed {}) | {} |",
        ms(cold),
        ms(cold_unprimed),
        yes(cold <= COLD_TARGET)
    );
    let _ = writeln!(
        out,
        "| Cold start ≥ 20× faster than the Python reference | {speed_up:.1}× ({} vs {}) | {} |",
        ms(cold),
        ms(python),
        yes(speed_up >= COLD_SPEED_UP)
    );
    let _ = writeln!(
        out,
        "| Primed init ≤ unprimed init + the emulators' time at init + 10 ms | {} vs {} + {} + 10 ms | {} |",
        ms(primed_init),
        ms(r.init.unprimed.elapsed.median()),
        ms(r.init.primed.aws.median()),
        yes(primed_init <= allowed)
    );
    let _ = writeln!(
        out,
        "| A warm hit makes exactly one DynamoDB request (a GetItem) and no other call | {:.2} requests, {} Genesys calls | {} |",
        warm.aws_requests_per_hit,
        warm.genesys_calls,
        yes(warm.exactly_one_get_item && warm.genesys_calls == 0)
    );
    let _ = writeln!(
        out,
        "| Warm-hit p99 under the share, beside full CPU | {} vs {} | — |\n",
        ms(warm.latency.percentile(99.0)),
        ms(r.warm_full_cpu.primed.latency.percentile(99.0))
    );
}

fn priming(out: &mut String, r: &LambdaResults) {
    out.push_str("### What the figures say about priming\n\n");
    for size in &r.sizes {
        let (primed, unprimed) = (&size.cold.primed, &size.cold.unprimed);
        let faster = if primed.elapsed.median() <= unprimed.elapsed.median() {
            "primed"
        } else {
            "unprimed"
        };
        let _ = writeln!(
            out,
            "- {} MB: cold start primed {} vs unprimed {}: {faster} is faster. The first invocation \
             takes {} of CPU primed and {} unprimed, against a quota of {} per 100 ms period; \
             throttled in {} and {} of {} cold starts.",
            size.size.0,
            ms(primed.elapsed.median()),
            ms(unprimed.elapsed.median()),
            ms(primed.invocation_cpu.median()),
            ms(unprimed.invocation_cpu.median()),
            ms(Duration::from_micros(size.size.quota_us())),
            primed.runs_throttled,
            unprimed.runs_throttled,
            primed.elapsed.len(),
        );
    }
    out.push('\n');
}

fn distributions(out: &mut String, r: &LambdaResults) {
    out.push_str("### Distributions, Lambda mode\n\n");
    out.push_str("| samples | n | min | p50 | p90 | p99 | max |\n|---|---:|---:|---:|---:|---:|---:|\n");
    let mut row = |name: String, samples: &Samples| out.push_str(&crate::report::distribution(&name, samples));
    for (name, init) in [
        ("broker, primed", &r.init.primed),
        ("broker, unprimed", &r.init.unprimed),
        ("Python reference", &r.init.python),
    ] {
        row(format!("init over TLS, {name}"), &init.elapsed);
    }
    for size in &r.sizes {
        for (name, cold) in [
            ("broker, primed", &size.cold.primed),
            ("broker, unprimed", &size.cold.unprimed),
            ("Python reference", &size.cold.python),
        ] {
            row(format!("{} MB cold start, {name}", size.size.0), &cold.elapsed);
        }
    }
}

pub fn markdown(r: &LambdaResults, hits: usize) -> String {
    let mut out = String::new();
    out.push_str(
        "## Lambda mode: AWS over TLS, init at full CPU, then the memory size's CPU share and memory limit\n\n",
    );
    for size in &r.sizes {
        size_table(&mut out, r, size, hits);
    }
    for size in r.sizes.iter().filter(|size| size.size.0 == 128) {
        targets(&mut out, r, size);
    }
    priming(&mut out, r);
    distributions(&mut out, r);
    out.push_str(METHOD);
    out
}

const METHOD: &str = "
### How the Lambda-mode figures are measured

- AWS (dynalite and moto behind the timing proxy) is reached over TLS through a terminator with a
  certificate authority made for the run (`openssl`, RSA 2048 like Amazon's endpoint
  certificates) at `https://localhost:<port>`; the functions trust the system's CA bundle with
  that authority appended, one file, through `SSL_CERT_FILE` (the broker's rustls) and
  `AWS_CA_BUNDLE` (boto3), so they parse a root store as large as in Lambda. Genesys stays plain
  HTTP: a hit does not call it.
- Init runs at full CPU. At the first `GET /runtime/invocation/next` the harness moves the process
  into the memory size's cgroups (v1) before answering: `cpu.cfs_quota_us` = the size's share of
  100,000 (1,769 MB is one vCPU) and `memory.limit_in_bytes` = the size, with the process's pages
  charged to it.
- Cold start: process start → the answer at the harness, for a customer whose token is still
  good, less the time the harness spent moving the process into the cgroups before answering its
  first poll (the kernel migrates a process's threads under a lock that waits for an RCU grace
  period; the function sits idle in its poll meanwhile, and Lambda has no such step). The first
  invocation is from handing the event out to the answer.
- The emulators' time at init is the proxy's: from reading the function's request to reading the
  emulator's answer, summed over the requests made before the first poll.
";
