//! The markdown report.

use std::fmt::Write;
use std::time::Duration;

use crate::cold::Summary;
use crate::machine::Machine;
use crate::stats::{Samples, ms};
use crate::warm::Warm;

const INIT_TARGET: Duration = Duration::from_millis(10);
const COLD_TARGET: Duration = Duration::from_millis(15);
const COLD_SPEED_UP: f64 = 20.0;
const OWN_TIME_TARGET: Duration = Duration::from_micros(500);
const RSS_TARGET_KIB: u64 = 32 * 1024;

pub struct Results {
    pub init_unprimed: Samples,
    pub init_primed: Samples,
    pub init_python: Samples,
    pub cold_primed: Summary,
    pub cold_unprimed: Summary,
    pub cold_python: Summary,
    pub warm_broker: Warm,
    pub warm_python: Warm,
    pub sdk_overhead: Samples,
    pub machine: Machine,
    pub hits: usize,
    /// `BENCH_FUNCTION_ENV`, when set.
    pub function_env: String,
}

struct Row {
    metric: String,
    broker: String,
    python: String,
    ratio: String,
    target: &'static str,
    met: &'static str,
}

fn yes(met: bool) -> &'static str {
    if met { "yes" } else { "**no**" }
}

/// How many times the broker's figure goes into the reference's.
fn ratio(python: Duration, broker: Duration) -> f64 {
    python.as_secs_f64() / broker.as_secs_f64().max(1e-9)
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn rows(r: &Results) -> Vec<Row> {
    let (wb, wp) = (&r.warm_broker, &r.warm_python);
    let cold = |metric: &str, broker: &Summary| {
        let speed_up = ratio(r.cold_python.elapsed.median(), broker.elapsed.median());
        Row {
            metric: metric.to_owned(),
            broker: ms(broker.elapsed.median()),
            python: ms(r.cold_python.elapsed.median()),
            ratio: format!("{speed_up:.1}×"),
            target: "≤ 15 ms and ≥ 20× faster",
            met: yes(broker.elapsed.median() <= COLD_TARGET && speed_up >= COLD_SPEED_UP),
        }
    };
    vec![
        Row {
            metric: "Init, process start → first poll, `PRIME_AT_INIT=false` (median)".into(),
            broker: ms(r.init_unprimed.median()),
            python: ms(r.init_python.median()),
            ratio: format!("{:.1}×", ratio(r.init_python.median(), r.init_unprimed.median())),
            target: "≤ 10 ms",
            met: yes(r.init_unprimed.median() <= INIT_TARGET),
        },
        Row {
            metric: "Init, primed (default) (median)".into(),
            broker: ms(r.init_primed.median()),
            python: ms(r.init_python.median()),
            ratio: format!("{:.1}×", ratio(r.init_python.median(), r.init_primed.median())),
            target: "—",
            met: "—",
        },
        cold(
            "Cold start, process start → answer, primed (default) (median)",
            &r.cold_primed,
        ),
        cold("Cold start, `PRIME_AT_INIT=false` (median)", &r.cold_unprimed),
        Row {
            metric: "Warm hit latency, queued → answer at the harness, p50".into(),
            broker: ms(wb.latency.median()),
            python: ms(wp.latency.median()),
            ratio: format!("{:.1}×", ratio(wp.latency.median(), wb.latency.median())),
            target: "—",
            met: "—",
        },
        Row {
            metric: "Warm hit latency, p99".into(),
            broker: ms(wb.latency.percentile(99.0)),
            python: ms(wp.latency.percentile(99.0)),
            ratio: format!(
                "{:.1}×",
                ratio(wp.latency.percentile(99.0), wb.latency.percentile(99.0))
            ),
            target: "—",
            met: "—",
        },
        Row {
            metric: "AWS requests per warm hit".into(),
            broker: format!("{:.2}", wb.aws_requests_per_hit),
            python: format!("{:.2}", wp.aws_requests_per_hit),
            ratio: "—".into(),
            target: "exactly 1 (a GetItem)",
            met: yes(wb.exactly_one_get_item),
        },
        Row {
            metric: format!("Genesys calls in {} warm hits", r.hits),
            broker: wb.genesys_calls.to_string(),
            python: wp.genesys_calls.to_string(),
            ratio: "—".into(),
            target: "0",
            met: yes(wb.genesys_calls == 0),
        },
        Row {
            metric: "DynamoDB time per hit, at the proxy (median)".into(),
            broker: ms(wb.aws.median()),
            python: ms(wp.aws.median()),
            ratio: "—".into(),
            target: "—",
            met: "—",
        },
        Row {
            metric: "Round trip of a trivial invocation (median, subtracted below)".into(),
            broker: ms(wb.trivial.median()),
            python: ms(wp.trivial.median()),
            ratio: "—".into(),
            target: "—",
            met: "—",
        },
        Row {
            metric: "Own time per hit = latency − DynamoDB time − trivial round trip (median)".into(),
            broker: ms(wb.own.median()),
            python: ms(wp.own.median()),
            ratio: format!("{:.1}×", ratio(wp.own.median(), wb.own.median())),
            target: "< 0.5 ms",
            met: yes(wb.own.median() < OWN_TIME_TARGET),
        },
        Row {
            metric: "… of which one GetItem's SDK and loopback overhead, outside the emulator (median)".into(),
            broker: ms(r.sdk_overhead.median()),
            python: "—".into(),
            ratio: "—".into(),
            target: "—",
            met: "—",
        },
        Row {
            metric: format!("Peak RSS (VmHWM) after {} warm hits", r.hits),
            broker: mib(wb.peak_rss_kib),
            python: mib(wp.peak_rss_kib),
            ratio: format!("{:.1}×", wp.peak_rss_kib as f64 / wb.peak_rss_kib.max(1) as f64),
            target: "< 32 MiB",
            met: yes(wb.peak_rss_kib < RSS_TARGET_KIB),
        },
    ]
}

/// A row of the distributions table.
pub fn distribution(name: &str, samples: &Samples) -> String {
    format!(
        "| {name} | {} | {} | {} | {} | {} | {} |\n",
        samples.len(),
        ms(samples.min()),
        ms(samples.median()),
        ms(samples.percentile(90.0)),
        ms(samples.percentile(99.0)),
        ms(samples.max()),
    )
}

/// The report's heading: what ran where.
pub fn title(m: &Machine, function_env: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Runtime benchmark: guest-token-broker vs the Python reference\n");
    let _ = writeln!(
        out,
        "{} · {} ({} cores) · Linux {} · {} · {}\n",
        m.date, m.cpu, m.cores, m.kernel, m.rustc, m.python
    );
    if !function_env.is_empty() {
        let _ = writeln!(out, "**Experiment**: both functions ran with `{function_env}`.\n");
    }
    out
}

/// The plain-loopback section.
pub fn markdown(r: &Results) -> String {
    let mut out = String::new();
    out.push_str("## Plain loopback: AWS in plain HTTP, full CPU throughout (not Lambda's conditions)\n\n");
    out.push_str("| metric | guest-token-broker | Python reference | ratio | target | met? |\n");
    out.push_str("|---|---:|---:|---:|---|---|\n");
    for row in rows(r) {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            row.metric, row.broker, row.python, row.ratio, row.target, row.met
        );
    }
    out.push_str("\nRatios are Python reference ÷ guest-token-broker.\n\n### Distributions, plain loopback\n\n");
    out.push_str("| samples | n | min | p50 | p90 | p99 | max |\n|---|---:|---:|---:|---:|---:|---:|\n");
    for (name, samples) in [
        ("init, broker, `PRIME_AT_INIT=false`", &r.init_unprimed),
        ("init, broker, primed", &r.init_primed),
        ("init, Python reference", &r.init_python),
        ("cold start, broker, primed", &r.cold_primed.elapsed),
        ("cold start, broker, `PRIME_AT_INIT=false`", &r.cold_unprimed.elapsed),
        ("cold start, Python reference", &r.cold_python.elapsed),
        ("AWS time in a cold start, broker, primed", &r.cold_primed.aws),
        (
            "AWS time in a cold start, broker, `PRIME_AT_INIT=false`",
            &r.cold_unprimed.aws,
        ),
        ("AWS time in a cold start, Python reference", &r.cold_python.aws),
        ("warm hit latency, broker", &r.warm_broker.latency),
        ("warm hit latency, Python reference", &r.warm_python.latency),
        ("DynamoDB time per hit, broker", &r.warm_broker.aws),
        ("DynamoDB time per hit, Python reference", &r.warm_python.aws),
        ("trivial invocation, broker", &r.warm_broker.trivial),
        ("trivial invocation, Python reference", &r.warm_python.trivial),
        ("own time per hit, broker", &r.warm_broker.own),
        ("own time per hit, Python reference", &r.warm_python.own),
        (
            "GetItem overhead outside the emulator, SDK from the bench process",
            &r.sdk_overhead,
        ),
    ] {
        out.push_str(&distribution(name, samples));
    }
    let _ = writeln!(
        out,
        "\nAWS requests of one cold start: primed {:?}; `PRIME_AT_INIT=false` {:?}; Python reference {:?}. \
         Of one warm hit: broker {:?}; Python reference {:?}.",
        r.cold_primed.operations,
        r.cold_unprimed.operations,
        r.cold_python.operations,
        r.warm_broker.operations,
        r.warm_python.operations,
    );
    out.push_str(METHOD);
    out
}

const METHOD: &str = "
### How the plain-loopback figures are measured

- Both functions run as Lambda runs them: a fresh process with only Lambda's variables, polling a
  Runtime API on loopback; the broker is the release binary (LTO, one codegen unit, stripped), the
  reference is `bench/python_reference/` (boto3 and requests, clients created at import) under its
  own urllib Runtime API loop. AWS is dynalite (DynamoDB) and moto (Secrets Manager) behind a timing proxy, Genesys is the sandbox; all
  plain HTTP on loopback, so no TLS handshakes are in any figure.
- Init: process start → the first `GET /runtime/invocation/next` arriving at a listener.
  Primed init also reads the credentials secret and makes one GetItem.
- Cold start: process start → the answer, at the harness, to `POST /guest-tokens` (the sample HTTP
  API event) for a customer whose stored token has more than the sliding window left.
- Warm hits: one instance, after its cold start, answers the same request in sequence; latency is
  from queuing the invocation to receiving the answer at the harness. DynamoDB time is measured at
  the proxy, from reading the function's request to reading the emulator's answer. The trivial invocation
  is an empty JSON object, which both functions answer with an invocation error without any I/O; its
  median (harness queue, the `/next` long poll, the runtime loop, the error post) is what is
  subtracted, with the hit's own DynamoDB time, to give the own time.
- The GetItem overhead is the same SDK call made from the bench process through the same proxy:
  the caller's time minus the proxy's (SDK work, signing, loopback hops, the proxy's HTTP handling).
- Peak RSS is `VmHWM` from `/proc/<pid>/status` right after the warm hits.
- The Python reference reads the session twice per request, as the utility does (`ensure_guest`,
  then `get_guest_token`), and reads the secret only when it calls Genesys.
";
