use std::path::Path;

use crate::{Manifest, Result};

pub fn generate_events(_contracts: &Path, _manifest: &Manifest) -> Result<String> {
    Ok(String::new())
}
