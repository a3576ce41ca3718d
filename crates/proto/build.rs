//! Generates the Rust types of `proto/touchline/v1` with prost. protoc comes
//! from the protoc-bin-vendored crate, so the build needs nothing from the system.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Read at run time, not baked in with env!: a build script binary reused
    // from a target directory shared between checkouts must not point at another.
    let root = std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    let files = [
        root.join("touchline/v1/events.proto"),
        root.join("touchline/shards/v1/shards.proto"),
    ];
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    let mut config = prost_build::Config::new();
    config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);
    config.compile_protos(&files, &[root])?;
    Ok(())
}
