//! Producer benchmark: our producer against an in-process reference name server and broker.
//!
//! `cargo run --release --example producer_bench [-- --seconds <s>]`
//!
//! Cases: 1 and 8 sending threads, 128 B and 4 KiB bodies (4 KiB reaches the compression
//! threshold, so it is zlib-compressed on the way), sync and async sends (async keeps at most
//! 1024 sends in flight). Prints msgs/s and the p50/p99 latency of a send (for async: from
//! the call to the callback), then `RPS <case> <n>` lines last. With the `acl` feature, the
//! `signed` cases repeat three of them with ACL credentials against a second broker that
//! checks every request (`--acl`): the cost of signing and verifying, beside the same cases
//! unsigned in the same run. The `traced` cases repeat three of them with a producer that
//! writes message trace (`enable_trace`, its records sent to `RMQ_SYS_TRACE_TOPIC` on the same
//! broker), in three rounds that alternate with the untraced producer (so a machine busy with
//! something else slows both alike); a `TRACE <case> off <msgs/s> on <msgs/s> ratio <on/off>`
//! line per case compares the medians (goal: within 10 %).

#[path = "common/logging.rs"]
mod logging;
#[path = "common/report.rs"]
mod report;

#[cfg(not(feature = "servers"))]
fn main() {
    eprintln!("producer_bench needs the reference servers: build with the `servers` feature");
    std::process::exit(2);
}

#[cfg(feature = "servers")]
fn main() {
    bench::main();
}

#[cfg(feature = "servers")]
mod bench {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};
    use std::thread;
    use std::time::{Duration, Instant};

    use crossbeam_channel::bounded;
    use rocketmq_blocking::client::{Message, Producer, ProducerBuilder};
    use rocketmq_blocking::LocalCluster;

    const TOPIC: &str = "BenchTopic";
    const MAX_IN_FLIGHT: usize = 1024;

    struct Case {
        name: String,
        threads: usize,
        size: usize,
        asynchronous: bool,
    }

    struct Sample {
        name: String,
        rate: f64,
        latencies: Vec<Duration>,
        failures: u64,
    }

    impl Sample {
        fn percentile(&self, p: f64) -> Duration {
            if self.latencies.is_empty() {
                return Duration::ZERO;
            }
            let mut sorted = self.latencies.clone();
            sorted.sort();
            sorted[((sorted.len() - 1) as f64 * p) as usize]
        }
    }

    pub fn main() {
        super::logging::init(simplelog::LevelFilter::Warn);
        let mut seconds = 2.0f64;
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--seconds" => {
                    seconds = args.next().and_then(|s| s.parse().ok()).unwrap_or(seconds)
                }
                "--bench" => {}
                other => {
                    eprintln!("unknown argument {other}; usage: producer_bench [--seconds <s>]");
                    std::process::exit(2);
                }
            }
        }
        let duration = Duration::from_secs_f64(seconds);

        let cluster = LocalCluster::start().unwrap_or_else(|e| {
            fail(&format!(
                "name server and broker: {}",
                crate::report::error_chain(&e)
            ))
        });
        let ns = cluster.name_server_addr();

        // The first send creates the topic from TBW102.
        let producer = start_warm(
            Producer::builder("bench_producer_group").name_server(&ns),
            "",
        );

        let mut cases = Vec::new();
        for asynchronous in [false, true] {
            for threads in [1, 8] {
                for size in [128, 4096] {
                    let mode = if asynchronous { "async" } else { "sync" };
                    let size_name = if size >= 1024 {
                        format!("{} KiB", size / 1024)
                    } else {
                        format!("{size} B")
                    };
                    cases.push(Case {
                        name: format!("{mode} {threads} thread(s) {size_name}"),
                        threads,
                        size,
                        asynchronous,
                    });
                }
            }
        }
        let samples: Vec<Sample> = cases
            .iter()
            .map(|case| run(&producer, case, duration))
            .collect();
        #[cfg(feature = "acl")]
        let samples: Vec<Sample> = samples
            .into_iter()
            .chain(signed::run_cases(&cases, duration))
            .collect();
        let (untraced, traced) = traced_cases(&producer, &ns, &cases, duration);

        println!("| case | msgs/s | p50 µs | p99 µs | failed |");
        println!("|---|---:|---:|---:|---:|");
        for s in samples.iter().chain(&traced) {
            println!(
                "| {} | {:.0} | {} | {} | {} |",
                s.name,
                s.rate,
                s.percentile(0.50).as_micros(),
                s.percentile(0.99).as_micros(),
                s.failures
            );
        }
        for s in samples.iter().chain(&traced) {
            println!("RPS {} {:.0}", s.name.replace(' ', "_"), s.rate);
        }
        for (off, on) in untraced.iter().zip(&traced) {
            println!(
                "TRACE {} off {:.0} on {:.0} ratio {:.2}",
                off.name.replace(' ', "_"),
                off.rate,
                on.rate,
                on.rate / off.rate.max(1e-9)
            );
        }

        drop(producer);
        cluster.shutdown();
    }

    /// Three cases again with a producer that writes message trace, on the same cluster, in
    /// rounds alternating with `plain`: the median of each, untraced and traced.
    fn traced_cases(
        plain: &Arc<Producer>,
        ns: &str,
        cases: &[Case],
        duration: Duration,
    ) -> (Vec<Sample>, Vec<Sample>) {
        const ROUNDS: usize = 3;
        let traced = start_warm(
            Producer::builder("bench_traced_producer_group")
                .name_server(ns)
                .enable_trace(),
            "traced ",
        );
        let chosen = [
            "sync 1 thread(s) 128 B",
            "sync 8 thread(s) 128 B",
            "async 8 thread(s) 128 B",
        ];
        let round = (duration / 2).max(Duration::from_millis(500));
        let median = |mut runs: Vec<Sample>| {
            runs.sort_by(|a, b| a.rate.total_cmp(&b.rate));
            runs.swap_remove(runs.len() / 2)
        };
        cases
            .iter()
            .filter(|case| chosen.contains(&case.name.as_str()))
            .map(|case| {
                let on_case = Case {
                    name: format!("traced {}", case.name),
                    ..*case
                };
                let (mut off, mut on) = (Vec::new(), Vec::new());
                for _ in 0..ROUNDS {
                    off.push(run(plain, case, round));
                    on.push(run(&traced, &on_case, round));
                }
                (median(off), median(on))
            })
            .unzip()
    }

    /// The same cases with a signing producer against a broker that verifies.
    #[cfg(feature = "acl")]
    mod signed {
        use std::time::Duration;

        use rocketmq_blocking::acl::SessionCredentials;
        use rocketmq_blocking::broker::Broker;
        use rocketmq_blocking::client::Producer;
        use rocketmq_blocking::namesrv::NameServer;

        use super::{fail, run, start_warm, Case, Sample};

        const TABLE: &str = r#"{"accounts": [{"accessKey": "BenchAccess",
            "secretKey": "bench-secret-key", "defaultTopicPerm": "PUB|SUB",
            "defaultGroupPerm": "SUB"}]}"#;

        pub(super) fn run_cases(cases: &[Case], duration: Duration) -> Vec<Sample> {
            let dir = std::env::temp_dir().join(format!("rmq-bench-acl-{}", std::process::id()));
            let _ = std::fs::create_dir_all(&dir);
            let table = dir.join("plain_acl.json");
            std::fs::write(&table, TABLE).unwrap_or_else(|e| {
                fail(&format!("ACL table: {}", crate::report::error_chain(&e)))
            });
            let namesrv = NameServer::builder()
                .listen("127.0.0.1:0")
                .start()
                .unwrap_or_else(|e| {
                    fail(&format!("name server: {}", crate::report::error_chain(&e)))
                });
            let broker = Broker::builder()
                .listen("127.0.0.1:0")
                .name_server(&namesrv.local_addr().to_string())
                .store_dir(dir.join("store"))
                .acl_file(&table)
                .start()
                .unwrap_or_else(|e| {
                    fail(&format!("ACL broker: {}", crate::report::error_chain(&e)))
                });
            let producer = start_warm(
                Producer::builder("bench_signed_producer_group")
                    .name_server(namesrv.local_addr().to_string())
                    .credentials(SessionCredentials::new("BenchAccess", "bench-secret-key")),
                "signed ",
            );
            let chosen = [
                "sync 1 thread(s) 128 B",
                "sync 1 thread(s) 4 KiB",
                "async 8 thread(s) 128 B",
            ];
            let samples = cases
                .iter()
                .filter(|case| chosen.contains(&case.name.as_str()))
                .map(|case| {
                    let signed = Case {
                        name: format!("signed {}", case.name),
                        ..*case
                    };
                    run(&producer, &signed, duration)
                })
                .collect();
            drop(producer);
            broker.shutdown();
            namesrv.shutdown();
            let _ = std::fs::remove_dir_all(&dir);
            samples
        }
    }

    fn run(producer: &Arc<Producer>, case: &Case, duration: Duration) -> Sample {
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let failures = Arc::new(AtomicU64::new(0));
        let latencies = Arc::new(Mutex::new(Vec::new()));
        let (permits, released) = bounded::<()>(MAX_IN_FLIGHT);
        let begin = Instant::now();
        let handles: Vec<_> = (0..case.threads)
            .map(|t| {
                let (producer, stop, sent, failures, latencies) = (
                    producer.clone(),
                    stop.clone(),
                    sent.clone(),
                    failures.clone(),
                    latencies.clone(),
                );
                let (permits, released) = (permits.clone(), released.clone());
                let (size, asynchronous) = (case.size, case.asynchronous);
                thread::spawn(move || {
                    let mut local = Vec::new();
                    let mut i = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        let mut body = format!("t{t} m{i} ").into_bytes();
                        body.resize(size, b'r');
                        let message = Message::new(TOPIC, body).with_tags("bench");
                        i += 1;
                        let start = Instant::now();
                        if asynchronous {
                            if permits.send(()).is_err() {
                                break;
                            }
                            let (sent, failed, latencies, release) = (
                                sent.clone(),
                                failures.clone(),
                                latencies.clone(),
                                released.clone(),
                            );
                            let accepted = producer.send_async(&message, move |result| {
                                match result {
                                    Ok(_) => {
                                        sent.fetch_add(1, Ordering::Relaxed);
                                        latencies.lock().unwrap().push(start.elapsed());
                                    }
                                    Err(_) => {
                                        failed.fetch_add(1, Ordering::Relaxed);
                                    }
                                }
                                let _ = release.recv();
                            });
                            if accepted.is_err() {
                                failures.fetch_add(1, Ordering::Relaxed);
                                let _ = released.recv();
                            }
                        } else {
                            match producer.send(&message) {
                                Ok(_) => {
                                    sent.fetch_add(1, Ordering::Relaxed);
                                    local.push(start.elapsed());
                                }
                                Err(_) => {
                                    failures.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                        }
                    }
                    latencies.lock().unwrap().extend(local);
                })
            })
            .collect();
        thread::sleep(duration);
        stop.store(true, Ordering::Relaxed);
        for handle in handles {
            let _ = handle.join();
        }
        // Wait for the async sends still in flight.
        let deadline = Instant::now() + Duration::from_secs(10);
        while !permits.is_empty() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(1));
        }
        let elapsed = begin.elapsed();
        let count = sent.load(Ordering::Relaxed);
        let latencies = std::mem::take(&mut *latencies.lock().unwrap());
        Sample {
            name: case.name.clone(),
            rate: count as f64 / elapsed.as_secs_f64(),
            latencies,
            failures: failures.load(Ordering::Relaxed),
        }
    }

    /// Starts `builder`'s producer and makes one send (the route learnt, the connection
    /// made), or ends the bench; `what` names it in the message.
    fn start_warm(builder: ProducerBuilder, what: &str) -> Arc<Producer> {
        let producer = builder.start().unwrap_or_else(|e| {
            fail(&format!(
                "{what}producer: {}",
                crate::report::error_chain(&e)
            ))
        });
        producer
            .send(&Message::new(TOPIC, "warm-up"))
            .unwrap_or_else(|e| {
                fail(&format!(
                    "{what}warm-up send: {}",
                    crate::report::error_chain(&e)
                ))
            });
        Arc::new(producer)
    }

    fn fail(message: &str) -> ! {
        eprintln!("{message}");
        std::process::exit(1);
    }
}
