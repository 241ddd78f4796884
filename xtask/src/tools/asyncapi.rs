//! `cargo xtask asyncapi`: validates `generated/asyncapi.yaml` with the official AsyncAPI
//! parser (`@asyncapi/parser`) and its Avro schema parser (`@asyncapi/avro-schema-parser`),
//! so every Avro payload is parsed as Avro, not only checked as JSON.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};
use clap::Args;

use super::npm::NpmProject;

const VALIDATOR: NpmProject = NpmProject {
    name: "asyncapi-validator",
    files: &[
        (
            "package.json",
            include_str!("asyncapi-validator/package.json"),
        ),
        (
            "package-lock.json",
            include_str!("asyncapi-validator/package-lock.json"),
        ),
        (
            "validate.mjs",
            include_str!("asyncapi-validator/validate.mjs"),
        ),
    ],
};

#[derive(Args)]
pub struct AsyncApiArgs {
    /// The documents to validate (default: the generated one).
    documents: Vec<PathBuf>,
}

pub fn run(args: AsyncApiArgs) -> Result<()> {
    let documents = if args.documents.is_empty() {
        vec![
            codegen::Options::for_this_repository(&crate::project_root())
                .out
                .join(codegen::asyncapi::ASYNCAPI_FILE),
        ]
    } else {
        args.documents
    };
    let dir = VALIDATOR.ensure_installed()?;
    let status = Command::new("node")
        .arg(dir.join("validate.mjs"))
        .args(&documents)
        .status()
        .context("cannot run node")?;
    if !status.success() {
        bail!("asyncapi: the document is not valid AsyncAPI (see above)");
    }
    Ok(())
}
