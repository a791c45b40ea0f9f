//! AWS X-Ray subsegments for the calls an invocation makes (DynamoDB, Secrets Manager, Genesys),
//! sent as UDP datagrams to the daemon Lambda runs beside the function (`AWS_XRAY_DAEMON_ADDRESS`),
//! under the invocation's trace (`_X_AMZN_TRACE_ID`, which the Lambda runtime sets per invocation,
//! as the X-Ray SDKs read it).
//!
//! A small emitter of our own rather than OpenTelemetry with the X-Ray exporter: a subsegment is
//! one JSON document in one datagram, the daemon does the batching, and the OpenTelemetry stack
//! would add several crates, a background exporter and init work to a function that makes at most
//! a handful of calls per invocation. Sending never blocks (a non-blocking socket, errors dropped)
//! and documents carry names, timings, statuses and flags only: never a secret, a token, a body or
//! a CRM id.

use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::sync::Arc;
use std::time::SystemTime;

use serde_json::{Value, json};

/// Where the subsegments go, if anywhere. Cheap to clone; one per process.
#[derive(Clone, Default)]
pub struct XRay(Option<Arc<Emitter>>);

struct Emitter {
    socket: UdpSocket,
    daemon: SocketAddr,
}

impl std::fmt::Debug for XRay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("XRay").field(&self.0.as_ref().map(|e| e.daemon)).finish()
    }
}

/// The trace an invocation belongs to, from `Root=…;Parent=…;Sampled=…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    /// The trace id (`Root`).
    pub root: String,
    /// The id of the segment the calls are recorded under (`Parent`).
    pub parent: String,
    /// Whether the trace is sampled (`Sampled=1`); nothing is sent otherwise.
    pub sampled: bool,
}

impl TraceContext {
    /// Reads a trace header; `None` when `Root` or `Parent` is missing or not hex and dashes.
    pub fn parse(header: &str) -> Option<Self> {
        let (mut root, mut parent, mut sampled) = (None, None, false);
        for part in header.split(';') {
            match part.trim().split_once('=') {
                Some(("Root", value)) => root = Some(value.to_owned()),
                Some(("Parent", value)) => parent = Some(value.to_owned()),
                Some(("Sampled", value)) => sampled = value == "1",
                _ => {}
            }
        }
        Some(Self {
            root: root.filter(|r| safe(r))?,
            parent: parent.filter(|p| safe(p))?,
            sampled,
        })
    }

    /// The current invocation's trace, as the Lambda runtime publishes it.
    fn current() -> Option<Self> {
        crate::config::invocation_trace_header()
            .as_deref()
            .and_then(Self::parse)
    }
}

/// Trace ids are hex and dashes; anything else is not put into a document.
fn safe(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
}

/// One call, as X-Ray shows it.
#[derive(Debug, Clone)]
pub struct Subsegment {
    /// `DynamoDB`, `SecretsManager`, or the remote host.
    pub name: String,
    /// `aws` for AWS services, `remote` for Genesys.
    pub namespace: &'static str,
    /// The AWS operation (`GetItem`) or the Genesys endpoint.
    pub operation: String,
    /// When the call started.
    pub started: SystemTime,
    /// When the call ended.
    pub ended: SystemTime,
    /// The HTTP status, when an answer came.
    pub status: Option<u16>,
}

impl XRay {
    /// To the daemon at `address` (`AWS_XRAY_DAEMON_ADDRESS`: `host:port`, or Lambda's
    /// `tcp:… udp:…` form); disabled when there is none or it is unusable.
    pub fn to_daemon(address: Option<&str>) -> Self {
        let Some(address) = address else {
            return Self::default();
        };
        let udp = address
            .split_whitespace()
            .find_map(|part| part.strip_prefix("udp:"))
            .unwrap_or(address.trim());
        let Some(daemon) = udp.to_socket_addrs().ok().and_then(|mut addrs| addrs.next()) else {
            tracing::warn!("AWS_XRAY_DAEMON_ADDRESS is not a host:port; tracing is off");
            return Self::default();
        };
        let bind: SocketAddr = if daemon.is_ipv4() {
            ([0, 0, 0, 0], 0).into()
        } else {
            ([0u16; 8], 0).into()
        };
        match UdpSocket::bind(bind).and_then(|socket| socket.set_nonblocking(true).map(|()| socket)) {
            Ok(socket) => Self(Some(Arc::new(Emitter { socket, daemon }))),
            Err(err) => {
                tracing::warn!(error = %err, "cannot open a UDP socket for X-Ray; tracing is off");
                Self::default()
            }
        }
    }

    /// Whether subsegments go anywhere (a daemon address was given).
    pub fn is_enabled(&self) -> bool {
        self.0.is_some()
    }

    /// Sends `call` under the current invocation's trace, if it is sampled. Never blocks.
    pub fn record(&self, call: &Subsegment) {
        let Some(emitter) = &self.0 else { return };
        let Some(trace) = TraceContext::current().filter(|t| t.sampled) else {
            return;
        };
        let datagram = format!("{{\"format\":\"json\",\"version\":1}}\n{}", document(&trace, call));
        // A full buffer or an absent daemon loses one subsegment, never the request.
        let _ = emitter.socket.send_to(datagram.as_bytes(), emitter.daemon);
    }
}

fn seconds(at: SystemTime) -> f64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn document(trace: &TraceContext, call: &Subsegment) -> Value {
    let status = call.status.unwrap_or(0);
    let mut doc = json!({
        "name": call.name,
        "id": format!("{:016x}", fastrand::u64(..)),
        "trace_id": trace.root,
        "parent_id": trace.parent,
        "type": "subsegment",
        "namespace": call.namespace,
        "start_time": seconds(call.started),
        "end_time": seconds(call.ended),
        "fault": call.status.is_none() || status >= 500,
        "error": (400..500).contains(&status),
        "throttle": status == 429,
    });
    if let Some(status) = call.status {
        doc["http"] = json!({"response": {"status": status}});
    }
    let key = if call.namespace == "aws" { "aws" } else { "metadata" };
    doc[key] = json!({"operation": call.operation});
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lambda_trace_header_is_parsed_and_odd_ids_refused() {
        let trace = TraceContext::parse("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1");
        assert_eq!(
            trace,
            Some(TraceContext {
                root: "1-5759e988-bd862e3fe1be46a994272793".into(),
                parent: "53995c3f42cd8ad8".into(),
                sampled: true,
            })
        );
        assert!(!TraceContext::parse("Root=1-a-b;Parent=c;Sampled=0").unwrap().sampled);
        assert_eq!(TraceContext::parse("Root=1-a;Parent=\"x\"}"), None);
        assert_eq!(TraceContext::parse("Parent=abc"), None);
    }

    #[test]
    fn a_document_names_the_call_and_flags_its_outcome() {
        let trace = TraceContext::parse("Root=1-a-b;Parent=cd;Sampled=1").unwrap();
        let call = |status| Subsegment {
            name: "DynamoDB".into(),
            namespace: "aws",
            operation: "GetItem".into(),
            started: SystemTime::UNIX_EPOCH,
            ended: SystemTime::UNIX_EPOCH,
            status,
        };
        let ok = document(&trace, &call(Some(200)));
        assert_eq!(
            (ok["trace_id"].as_str(), ok["parent_id"].as_str()),
            (Some("1-a-b"), Some("cd"))
        );
        assert_eq!(ok["aws"]["operation"], "GetItem");
        assert_eq!(
            (ok["fault"].as_bool(), ok["error"].as_bool()),
            (Some(false), Some(false))
        );
        assert_eq!(document(&trace, &call(Some(429)))["throttle"], true);
        assert_eq!(document(&trace, &call(None))["fault"], true);
    }
}
