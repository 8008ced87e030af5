//! The local Solana chain for dev and tests: Surfpool's validator (surfpool-core) on fixed ports.
//!
//! surfpool-sdk's `Surfnet::builder()` always binds random ports, so this follows its start-up steps
//! over surfpool-core with ports from the command line:
//!
//!   surfpool-dev --rpc-port 8899 --ws-port 8900 [--host 127.0.0.1] [--slot-time-ms 400]
//!                [--db <path.sqlite>] [--verbose]
//!
//! Offline (no remote RPC: an account nobody wrote does not exist), instruction profiling off (it
//! keeps every transaction's per-instruction account snapshots and grew the process to 627 MB after
//! 400 transactions), blocks on a clock. Without `--db` the state lives in memory; with it, in an
//! SQLite file that survives a restart. Prints `surfpool ready rpc=<url> ws=<url>` once both servers
//! answer, and stops on SIGINT/SIGTERM (checkpointing the SQLite file first). SIGUSR1 produces
//! 151 blocks at once, so every blockhash handed out so far expires (the fault proxy's
//! `expireBlockhash`: Surfpool's `surfnet_timeTravel` moves the slot but keeps the blockhashes).

use std::process::ExitCode;

use crossbeam_channel::Sender;
use surfpool_core::surfnet::{
    locker::SurfnetSvmLocker,
    svm::{SurfnetSvm, SurfnetSvmConfig},
};
use surfpool_types::{
    BlockProductionMode, RpcConfig, SimnetCommand, SimnetConfig, SimnetEvent, SurfpoolConfig,
    SvmFeatureConfig,
};

struct Args {
    host: String,
    rpc_port: u16,
    ws_port: u16,
    slot_time_ms: u64,
    db: Option<String>,
    verbose: bool,
}

const USAGE: &str = "usage: surfpool-dev --rpc-port <port> --ws-port <port> [--host <ip>] \
                     [--slot-time-ms <ms>] [--db <path.sqlite>] [--verbose]";

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        host: "127.0.0.1".to_string(),
        rpc_port: 0,
        ws_port: 0,
        slot_time_ms: 400,
        db: None,
        verbose: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--verbose" {
            args.verbose = true;
            continue;
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = |v: &str| v.parse::<u64>().map_err(|e| format!("{flag} {v}: {e}"));
        match flag.as_str() {
            "--host" => args.host = value,
            "--rpc-port" => args.rpc_port = u16::try_from(number(&value)?).map_err(|e| e.to_string())?,
            "--ws-port" => args.ws_port = u16::try_from(number(&value)?).map_err(|e| e.to_string())?,
            "--slot-time-ms" => args.slot_time_ms = number(&value)?.max(1),
            "--db" => args.db = Some(value),
            _ => return Err(format!("unknown argument {flag}")),
        }
    }
    if args.rpc_port == 0 || args.ws_port == 0 {
        return Err("--rpc-port and --ws-port are required (and not 0)".to_string());
    }
    Ok(args)
}

/// Blocks a blockhash stays valid for, plus one.
const BLOCKHASH_EXPIRY_BLOCKS: usize = 151;

/// SIGINT/SIGTERM become the runloop's Terminate command, which checkpoints storage and closes both
/// servers; the event loop below exits once they report their shutdown. SIGUSR1 becomes 151
/// SlotForward commands (each produces a block; they switch block production to manual), then back
/// to the clock.
fn forward_signals(commands: Sender<SimnetCommand>) -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let runtime = tokio::runtime::Builder::new_current_thread().enable_io().build()?;
    let (mut interrupt, mut terminate, mut expire) = runtime.block_on(async {
        Ok::<_, std::io::Error>((
            signal(SignalKind::interrupt())?,
            signal(SignalKind::terminate())?,
            signal(SignalKind::user_defined1())?,
        ))
    })?;
    std::thread::Builder::new().name("signals".into()).spawn(move || {
        runtime.block_on(async {
            loop {
                let name = tokio::select! {
                    _ = interrupt.recv() => "SIGINT",
                    _ = terminate.recv() => "SIGTERM",
                    _ = expire.recv() => {
                        for _ in 0..BLOCKHASH_EXPIRY_BLOCKS {
                            let _ = commands.send(SimnetCommand::SlotForward(None));
                        }
                        let _ = commands.send(SimnetCommand::UpdateBlockProductionMode(BlockProductionMode::Clock));
                        println!("surfpool: SIGUSR1, {BLOCKHASH_EXPIRY_BLOCKS} blocks produced");
                        continue;
                    }
                };
                println!("surfpool: {name}, stopping");
                let _ = commands.send(SimnetCommand::Terminate(None));
            }
        });
    })?;
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("{e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };

    let simnet = SimnetConfig {
        offline_mode: true,
        remote_rpc_url: None,
        slot_time: args.slot_time_ms,
        block_production_mode: BlockProductionMode::Clock,
        instruction_profiling_enabled: false,
        ..Default::default()
    };
    let svm_config = SurfnetSvmConfig {
        surfnet_id: simnet.surfnet_id.clone(),
        slot_time: simnet.slot_time,
        instruction_profiling_enabled: simnet.instruction_profiling_enabled,
        max_profiles: simnet.max_profiles,
        log_bytes_limit: simnet.log_bytes_limit,
        feature_config: SvmFeatureConfig::default(),
        skip_blockhash_check: simnet.skip_blockhash_check,
    };
    let config = SurfpoolConfig {
        simnets: vec![simnet],
        rpc: RpcConfig {
            bind_host: args.host.clone(),
            bind_port: args.rpc_port,
            ws_port: args.ws_port,
            ..Default::default()
        },
        ..Default::default()
    };
    let rpc_url = format!("http://{}:{}", args.host, args.rpc_port);
    let ws_url = format!("ws://{}:{}", args.host, args.ws_port);

    let (svm, events, geyser_events) = match SurfnetSvm::new_with_db(args.db.as_deref(), svm_config) {
        Ok(parts) => parts,
        Err(e) => {
            eprintln!("surfpool: cannot initialise the SVM: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (commands_tx, commands_rx) = crossbeam_channel::unbounded();
    if let Err(e) = forward_signals(commands_tx.clone()) {
        eprintln!("surfpool: cannot install signal handlers: {e}");
        return ExitCode::FAILURE;
    }

    let locker = SurfnetSvmLocker::new(svm);
    let runloop_commands = commands_tx.clone();
    let spawned = std::thread::Builder::new().name("surfnet".into()).spawn(move || {
        // Multi-threaded: the runloop's storage shutdown uses `block_in_place`.
        let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
            Ok(runtime) => runtime,
            Err(e) => return Err(e.to_string()),
        };
        runtime
            .block_on(surfpool_core::runloops::start_local_surfnet_runloop(
                locker,
                config,
                runloop_commands,
                commands_rx,
                geyser_events,
            ))
            .map_err(|e| e.to_string())
    });
    let runloop = match spawned {
        Ok(handle) => handle,
        Err(e) => {
            eprintln!("surfpool: cannot start the runloop: {e}");
            return ExitCode::FAILURE;
        }
    };

    // Drain the events channel for the process's life: it is bounded, and lifecycle events block
    // their sender when it is full.
    let mut servers_down = 0;
    let mut status = ExitCode::SUCCESS;
    for event in events.iter() {
        match event {
            SimnetEvent::CoreStarted(replayed) => {
                let db = args.db.as_deref().unwrap_or("memory");
                println!("surfpool ready rpc={rpc_url} ws={ws_url} state={db} replayed={replayed}");
            }
            SimnetEvent::Aborted(reason) => {
                eprintln!("surfpool: aborted: {reason}");
                status = ExitCode::FAILURE;
                break;
            }
            SimnetEvent::Shutdown => {
                servers_down += 1;
                if servers_down == 2 {
                    break;
                }
            }
            SimnetEvent::ErrorLog(_, msg) => eprintln!("surfpool error: {msg}"),
            SimnetEvent::WarnLog(_, msg) => eprintln!("surfpool warn: {msg}"),
            SimnetEvent::InfoLog(_, msg) if args.verbose => println!("surfpool: {msg}"),
            SimnetEvent::TransactionProcessed(_, meta, err) if args.verbose => {
                let outcome = err.map_or_else(|| "ok".to_string(), |e| e.to_string());
                println!("surfpool tx {} {} CU {outcome}", meta.signature, meta.compute_units_consumed);
            }
            _ => {}
        }
    }
    if status == ExitCode::SUCCESS && servers_down < 2 {
        // The channel closed: the runloop returned on its own.
        match runloop.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                eprintln!("surfpool: runloop failed: {e}");
                status = ExitCode::FAILURE;
            }
            Err(_) => {
                eprintln!("surfpool: runloop panicked");
                status = ExitCode::FAILURE;
            }
        }
    }
    status
}
