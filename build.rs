//! Compiles every contract under `proto/` with protox (pure Rust, no system `protoc`):
//! - tonic server and client stubs for each service package;
//! - one encoded descriptor set (`descriptor.bin`) that the gateway embeds.
//!
//! The descriptor bytes are written with `encode_file_descriptor_set`, never through
//! `prost_types`, because a `prost_types` round trip drops the custom options
//! (`google.api.http`, `platform.*`) the gateway reads at startup.
use std::{env, fs, path::PathBuf};

fn proto_files(dir: &std::path::Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            proto_files(&path, out)?;
        } else if path.extension().is_some_and(|ext| ext == "proto") {
            out.push(path);
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let mut files = Vec::new();
    proto_files(std::path::Path::new("proto"), &mut files)?;
    files.sort();

    let mut compiler = protox::Compiler::new(["proto"])?;
    compiler.include_imports(true).include_source_info(false);
    compiler.open_files(&files)?;

    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    fs::write(out_dir.join("descriptor.bin"), compiler.encode_file_descriptor_set())?;

    // Type names (`prost::Name`) let a service find a message's descriptor, to check a
    // request against the constraints its contract declares.
    let mut config = prost_build::Config::new();
    config.enable_type_names();
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds_with_config(compiler.file_descriptor_set(), config)?;
    Ok(())
}
