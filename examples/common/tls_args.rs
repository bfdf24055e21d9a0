//! The TLS flags of the examples. Clients: `--tls [--tls-ca <pem>]` (`--tls` alone trusts the
//! system's certificate authorities; `--tls-ca` implies `--tls`). Servers: `--tls-mode
//! disabled|permissive|enforcing --tls-cert <pem> --tls-key <pem>`, and for the broker
//! `--namesrv-tls-ca <pem>` (register with the name servers over TLS, trusting that CA).
//! Built without the `tls` feature, any of them is refused.

#![allow(dead_code)] // each example uses the half it needs

/// TLS flags seen so far.
#[derive(Default)]
pub struct TlsArgs {
    client: bool,
    ca: Option<String>,
    mode: Option<String>,
    cert: Option<String>,
    key: Option<String>,
    namesrv_ca: Option<String>,
}

impl TlsArgs {
    /// Takes `arg` (and its value from `rest`) if it is one of `flags`; false if it is not.
    /// Exits with status 2 when a value is missing or TLS is not built in.
    pub fn take(
        &mut self,
        flags: &[&str],
        arg: &str,
        rest: &mut dyn Iterator<Item = String>,
    ) -> bool {
        if !flags.contains(&arg) {
            return false;
        }
        if !cfg!(feature = "tls") {
            fail(&format!(
                "{arg}: this build has no TLS (the tls feature is off)"
            ));
        }
        let mut value = || {
            rest.next()
                .unwrap_or_else(|| fail(&format!("{arg} needs a value")))
        };
        match arg {
            "--tls" => self.client = true,
            "--tls-ca" => {
                self.client = true;
                self.ca = Some(value());
            }
            "--tls-mode" => self.mode = Some(value()),
            "--tls-cert" => self.cert = Some(value()),
            "--tls-key" => self.key = Some(value()),
            "--namesrv-tls-ca" => self.namesrv_ca = Some(value()),
            other => fail(&format!("unknown TLS flag {other}")),
        }
        true
    }

    /// The client's TLS settings, if `--tls` or `--tls-ca` was given.
    #[cfg(feature = "tls")]
    pub fn client(&self) -> Option<rocketmq_blocking::remoting::TlsClientConfig> {
        use rocketmq_blocking::remoting::TlsClientConfig;
        match (&self.ca, self.client) {
            (Some(ca), _) => Some(TlsClientConfig::with_ca_file(ca)),
            (None, true) => Some(TlsClientConfig::platform_roots()),
            (None, false) => None,
        }
    }

    /// The broker's TLS settings towards name servers, if `--namesrv-tls-ca` was given.
    #[cfg(feature = "tls")]
    pub fn namesrv(&self) -> Option<rocketmq_blocking::remoting::TlsClientConfig> {
        self.namesrv_ca
            .as_ref()
            .map(rocketmq_blocking::remoting::TlsClientConfig::with_ca_file)
    }

    /// The server's mode, certificate chain and key (None: leave the defaults).
    #[cfg(feature = "tls")]
    pub fn server(
        &self,
    ) -> (
        Option<rocketmq_blocking::remoting::TlsMode>,
        Option<&str>,
        Option<&str>,
    ) {
        let mode = self
            .mode
            .as_ref()
            .map(|m| m.parse().unwrap_or_else(|e: String| fail(&e)));
        (mode, self.cert.as_deref(), self.key.as_deref())
    }
}

/// The server flags applied to a name server or broker builder (both have the same setters).
#[cfg(feature = "tls")]
#[macro_export]
macro_rules! apply_server_tls {
    ($builder:expr, $tls:expr) => {{
        let mut builder = $builder;
        let (mode, cert, key) = $tls.server();
        if let Some(mode) = mode {
            builder = builder.tls_mode(mode);
        }
        if let Some(cert) = cert {
            builder = builder.tls_cert(cert);
        }
        if let Some(key) = key {
            builder = builder.tls_key(key);
        }
        builder
    }};
}

fn fail(problem: &str) -> ! {
    eprintln!("{problem}");
    std::process::exit(2)
}
