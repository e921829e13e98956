//! The cost of each TLS cipher suite cordon offers, on this CPU: a rustls client and server
//! (ring, as cordon builds them) connected in memory, 64 MiB of application data sent through
//! each suite in 16 KiB records, encrypted by one side and decrypted by the other; CPU time of
//! the thread, printed as MB/s. bench/cipher-cost.sh runs it natively and under qemu-user as a
//! Cortex-A72, and cordon's server order follows from it (`tls::prefer`): AES-GCM first where
//! the CPU has AES instructions, ChaCha20-Poly1305 first where it has not.
//!
//!   cargo run --release -p cordon-proxy --example cipher_cost [MIB]

use std::io::{Read, Write};
use std::sync::Arc;

use rustls::crypto::ring::{cipher_suite, default_provider};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig, ServerConnection};

fn cpu_seconds() -> f64 {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    s.split_whitespace()
        .next()
        .and_then(|n| n.parse::<u64>().ok())
        .map_or(0.0, |ns| ns as f64 / 1e9)
}

/// Moves every pending TLS record from each side to the other.
fn transfer(client: &mut ClientConnection, server: &mut ServerConnection) {
    let mut buf = Vec::new();
    while client.wants_write() {
        client.write_tls(&mut buf).unwrap();
    }
    let mut rd = &buf[..];
    while !rd.is_empty() {
        server.read_tls(&mut rd).unwrap();
        server.process_new_packets().unwrap();
    }
    buf.clear();
    while server.wants_write() {
        server.write_tls(&mut buf).unwrap();
    }
    let mut rd = &buf[..];
    while !rd.is_empty() {
        client.read_tls(&mut rd).unwrap();
        client.process_new_packets().unwrap();
    }
}

fn run(suite: rustls::SupportedCipherSuite, mib: usize) -> f64 {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let der = cert.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
    let provider = Arc::new(CryptoProvider {
        cipher_suites: vec![suite],
        ..default_provider()
    });
    let server = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![der.clone()], key)
        .unwrap();
    let mut roots = RootCertStore::empty();
    roots.add(der).unwrap();
    let client = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let mut c = ClientConnection::new(Arc::new(client), ServerName::try_from("localhost").unwrap())
        .unwrap();
    let mut s = ServerConnection::new(Arc::new(server)).unwrap();
    while c.is_handshaking() || s.is_handshaking() {
        transfer(&mut c, &mut s);
    }
    let chunk = vec![0x5au8; 16 * 1024];
    let mut sink = vec![0u8; 64 * 1024];
    let start = cpu_seconds();
    let rounds = mib * 64;
    for _ in 0..rounds {
        c.writer().write_all(&chunk).unwrap();
        transfer(&mut c, &mut s);
        let mut got = 0;
        while got < chunk.len() {
            got += s.reader().read(&mut sink).unwrap();
        }
    }
    let secs = (cpu_seconds() - start).max(1e-9);
    (rounds * chunk.len()) as f64 / secs / 1e6
}

fn main() {
    let mib: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(64);
    println!(
        "TLS 1.3 record protection, {mib} MiB one way (encrypt + decrypt), MB/s of CPU time; AES instructions: {}",
        cordon_proxy::tls::aes_instructions()
    );
    for (name, suite) in [
        ("AES-128-GCM", cipher_suite::TLS13_AES_128_GCM_SHA256),
        ("AES-256-GCM", cipher_suite::TLS13_AES_256_GCM_SHA384),
        (
            "CHACHA20-POLY1305",
            cipher_suite::TLS13_CHACHA20_POLY1305_SHA256,
        ),
    ] {
        println!("{name:<20}{:>10.0}", run(suite, mib));
    }
}
