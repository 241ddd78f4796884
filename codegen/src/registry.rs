use crate::{Manifest, Result};

pub fn generate_registration(_manifest: &Manifest) -> Result<String> {
    Ok(String::new())
}
