//! The client flags the producer and consumer examples share:
//! `[--access-key <ak> --secret-key <sk>] [--namespace <ns>] [--tls [--tls-ca <pem>]]
//! [--trace] [--trace-topic <t>]`.

/// What those flags asked for.
#[derive(Default)]
pub struct ClientOptions {
    access_key: Option<String>,
    secret_key: Option<String>,
    namespace: Option<String>,
    tls: crate::tls_args::TlsArgs,
    /// `--trace`: write message trace records (`--trace-topic` implies it).
    trace: bool,
    trace_topic: Option<String>,
}

impl ClientOptions {
    /// Takes `arg` (and its value, from `args`) when it is one of these flags: `Ok(true)`;
    /// `Ok(false)` for any other argument.
    pub fn take(
        &mut self,
        arg: &str,
        args: &mut dyn Iterator<Item = String>,
    ) -> Result<bool, String> {
        if self.tls.take(&["--tls", "--tls-ca"], arg, args) {
            return Ok(true);
        }
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg {
            "--access-key" => self.access_key = Some(value()?),
            "--secret-key" => self.secret_key = Some(value()?),
            "--namespace" => self.namespace = Some(value()?),
            "--trace" => self.trace = true,
            "--trace-topic" => {
                self.trace_topic = Some(value()?);
                self.trace = true;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Checks the flags go together: both keys or neither.
    pub fn check(&self) -> Result<(), String> {
        if self.access_key.is_some() != self.secret_key.is_some() {
            return Err("--access-key and --secret-key go together".into());
        }
        if cfg!(not(feature = "acl")) && self.access_key.is_some() {
            return Err("--access-key: built without the acl feature".into());
        }
        Ok(())
    }

    /// The TLS settings, if `--tls` or `--tls-ca` was given.
    #[cfg(feature = "tls")]
    pub fn tls(&self) -> Option<rocketmq_blocking::remoting::TlsClientConfig> {
        self.tls.client()
    }

    /// Message trace: None without `--trace`, else the trace topic if one was given.
    pub fn trace(&self) -> Option<Option<&str>> {
        self.trace.then_some(self.trace_topic.as_deref())
    }

    /// The namespace, if one was given.
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    /// The ACL credentials, if keys were given.
    #[cfg(feature = "acl")]
    pub fn credentials(&self) -> Option<rocketmq_blocking::acl::SessionCredentials> {
        match (&self.access_key, &self.secret_key) {
            (Some(ak), Some(sk)) => Some(rocketmq_blocking::acl::SessionCredentials::new(
                ak.as_str(),
                sk.as_str(),
            )),
            _ => None,
        }
    }
}

/// Applies the options to any client builder (they all have the same setters).
#[macro_export]
macro_rules! apply_client_options {
    ($builder:expr, $options:expr) => {{
        let options: &$crate::client_options::ClientOptions = $options;
        let mut builder = $builder;
        if let Some(namespace) = options.namespace() {
            builder = builder.namespace(namespace);
        }
        #[cfg(feature = "acl")]
        if let Some(credentials) = options.credentials() {
            builder = builder.credentials(credentials);
        }
        #[cfg(feature = "tls")]
        if let Some(tls) = options.tls() {
            builder = builder.tls(tls);
        }
        builder
    }};
}

/// Applies `--trace` and `--trace-topic` to a builder that traces (producer, push and lite
/// pull consumers).
#[macro_export]
macro_rules! apply_trace_options {
    ($builder:expr, $options:expr) => {{
        let options: &$crate::client_options::ClientOptions = $options;
        let mut builder = $builder;
        if let Some(topic) = options.trace() {
            builder = builder.enable_trace();
            if let Some(topic) = topic {
                builder = builder.trace_topic(topic);
            }
        }
        builder
    }};
}
