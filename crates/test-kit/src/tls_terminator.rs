//! A TLS terminator for loopback servers, as every AWS endpoint is TLS in Lambda: it accepts TLS
//! on a loopback port with a server certificate issued by a certificate authority made for the run
//! (RSA 2048, like Amazon's endpoint certificates, with `openssl`), and relays the plain bytes to a
//! backend (the AWS proxy in front of the emulators). Clients trust the system's CA bundle plus the
//! run's authority, one file, through `SSL_CERT_FILE` (rustls-native-certs, so the broker's SDK)
//! and `AWS_CA_BUNDLE` (boto3), which [`TlsTerminator::trust_env`] gives: a root store as large as
//! the one a function loads in Lambda, so its cost is in the figures too.
//!
//! No ALPN is offered, so clients speak HTTP/1.1, as the proxy behind it does.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

/// Where distributions keep their CA bundle (Debian and Ubuntu; Amazon Linux, Fedora and RHEL).
const SYSTEM_BUNDLES: [&str; 2] = ["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"];

/// The certificate authority and server certificate of one run, in a folder of their own.
pub struct RunCertificates {
    folder: PathBuf,
}

impl RunCertificates {
    /// Makes a CA and a server certificate for `localhost` and `127.0.0.1` in a new folder under
    /// the system's temporary directory; the error says why `openssl` could not.
    pub fn generate() -> Result<Self, String> {
        let folder = std::env::temp_dir().join(format!("gtb-tls-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&folder).map_err(|err| format!("cannot create {}: {err}", folder.display()))?;
        // Removed when dropped, also if a step below fails.
        let certificates = Self { folder };
        let folder = &certificates.folder;
        let extensions = folder.join("server.ext");
        std::fs::write(
            &extensions,
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\n\
             keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
        )
        .map_err(|err| format!("cannot write {}: {err}", extensions.display()))?;
        let steps: [&[&str]; 3] = [
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "2",
                "-subj",
                "/CN=guest-token-broker benchmark CA",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
                "-subj",
                "/CN=localhost",
            ],
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "server.pem",
                "-days",
                "2",
                "-extfile",
                "server.ext",
            ],
        ];
        for args in steps {
            let output = Command::new("openssl")
                .args(args)
                .current_dir(folder)
                .output()
                .map_err(|err| format!("cannot run openssl (is it installed?): {err}"))?;
            if !output.status.success() {
                return Err(format!(
                    "openssl {} failed: {}",
                    args.join(" "),
                    String::from_utf8_lossy(&output.stderr)
                ));
            }
        }
        let authority =
            std::fs::read_to_string(folder.join("ca.pem")).map_err(|err| format!("cannot read ca.pem: {err}"))?;
        let system = SYSTEM_BUNDLES
            .iter()
            .find_map(|bundle| std::fs::read_to_string(bundle).ok())
            .unwrap_or_default();
        std::fs::write(certificates.trust_file(), format!("{system}\n{authority}"))
            .map_err(|err| format!("cannot write the trust bundle: {err}"))?;
        Ok(certificates)
    }

    /// The system's CA bundle (when there is one) with the run's authority appended: the one file
    /// clients trust.
    pub fn trust_file(&self) -> PathBuf {
        self.folder.join("trust.pem")
    }

    fn acceptor(&self) -> TlsAcceptor {
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(self.folder.join("server.pem"))
            .expect("the server certificate")
            .collect::<Result<_, _>>()
            .expect("a PEM certificate");
        let key = PrivateKeyDer::from_pem_file(self.folder.join("server.key")).expect("the server key");
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS 1.2 and 1.3")
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .expect("a usable certificate and key");
        TlsAcceptor::from(Arc::new(config))
    }
}

impl Drop for RunCertificates {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}

/// TLS on a loopback port, relayed in plain to `backend`; stops when dropped.
pub struct TlsTerminator {
    addr: SocketAddr,
    ca_file: PathBuf,
    task: JoinHandle<()>,
}

impl TlsTerminator {
    pub async fn start(backend: SocketAddr, certificates: &RunCertificates) -> Self {
        let acceptor = certificates.acceptor();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
        let addr = listener.local_addr().expect("a bound address");
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(relay(acceptor, client, backend));
            }
        });
        Self {
            addr,
            ca_file: certificates.trust_file(),
            task,
        }
    }

    /// `https://localhost:<port>`: a name to resolve and check, as a real endpoint is.
    pub fn url(&self) -> String {
        format!("https://localhost:{}", self.addr.port())
    }

    /// The variables that make the broker (rustls-native-certs) and boto3 trust the system's CAs
    /// and the run's.
    pub fn trust_env(&self) -> Vec<(&'static str, String)> {
        let ca = path_text(&self.ca_file);
        vec![("SSL_CERT_FILE", ca.clone()), ("AWS_CA_BUNDLE", ca)]
    }
}

impl Drop for TlsTerminator {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One connection: the handshake, then bytes both ways until either side closes. A failed
/// handshake or a reset is the client's business; nothing is reported.
async fn relay(acceptor: TlsAcceptor, client: TcpStream, backend: SocketAddr) {
    let _ = client.set_nodelay(true);
    let Ok(mut tls) = acceptor.accept(client).await else {
        return;
    };
    let Ok(mut plain) = TcpStream::connect(backend).await else {
        return;
    };
    let _ = plain.set_nodelay(true);
    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
}

fn path_text(path: &Path) -> String {
    path.display().to_string()
}
