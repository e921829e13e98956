//! The bench's setup **D**: the physical limit of any relay on the machine (issue 16). A minimal
//! tokio relay that copies bytes both ways between each client and its own connection to the
//! smart host: no parsing, no inspection, no stamp, with cordon's buffer size
//! ([`cordon_proxy::pool::IO_BUFFER`]) and cordon's runtime. B/D then says what cordon's SMTP
//! handling and scanning cost on top of moving the bytes.
//!
//! `bare_relay LISTEN UPSTREAM [SECONDS]`, e.g. `bare_relay 127.0.0.1:2600 127.0.0.1:2601 1800`:
//! it stops by itself after SECONDS (default 1800), like every process of the bench.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use cordon_proxy::pool::IO_BUFFER;
use tokio::net::{TcpListener, TcpStream};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let parse = |i: usize| args.get(i).and_then(|a| a.parse::<SocketAddr>().ok());
    let (Some(listen), Some(upstream)) = (parse(0), parse(1)) else {
        eprintln!("usage: bare_relay LISTEN UPSTREAM [SECONDS]  (addresses as 127.0.0.1:2600)");
        return ExitCode::from(2);
    };
    let life = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1800u64);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("bare_relay: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let listener = match TcpListener::bind(listen).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("bare_relay: cannot listen on {listen}: {e}");
                return ExitCode::FAILURE;
            }
        };
        let serve = async {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    continue;
                };
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let _ = client.set_nodelay(true);
                    let _ = server.set_nodelay(true);
                    let _ = tokio::io::copy_bidirectional_with_sizes(
                        &mut client,
                        &mut server,
                        IO_BUFFER,
                        IO_BUFFER,
                    )
                    .await;
                });
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(life), serve).await;
        ExitCode::SUCCESS
    })
}
