//! `--check-reproducible`: the service built a second time, in a fresh sandbox from a pristine copy of the
//! asset at the same paths, and the two binaries' digests compared. A marketplace that rebuilds from the
//! archive gets the measured binary only if the build is reproducible; this says whether it is.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use assay_report::load::BuiltBinary;
use assay_report::{Finding, codes};

use crate::binary::{self, Toolchain};
use crate::build::{BuildRequest, Built, build};
use crate::sandbox::Sandbox;

/// A pristine copy of the asset, made before the first build can change it.
pub struct Pristine {
    /// The second build's working directory (a sibling of the first, so the sandbox shows it at the same path).
    scratch: PathBuf,
    /// The asset inside it.
    asset: PathBuf,
}

impl Pristine {
    /// Copies `asset` (inside `scratch`) to the same place under a sibling working directory.
    pub fn copy(scratch: &Path, asset: &Path) -> io::Result<Self> {
        let again = scratch.with_extension("again");
        let relative = asset.strip_prefix(scratch).map_err(io::Error::other)?;
        let copy = again.join(relative);
        fs::create_dir_all(&again)?;
        copy_tree(asset, &copy)?;
        Ok(Self { scratch: again, asset: copy })
    }

    /// Builds the copy like `first` was built, and compares the binaries. Returns the finding when they differ
    /// (or the second build fails); updates `measured` with the outcome either way.
    pub fn rebuild(
        self,
        sandbox: &Sandbox,
        first: &BuildRequest<'_>,
        toolchain: &Toolchain,
        measured: &mut BuiltBinary,
    ) -> io::Result<Option<Finding>> {
        let request = BuildRequest { scratch: &self.scratch, asset: &self.asset, ..first.clone() };
        let outcome = build(sandbox, &request)?;
        let finding = match outcome.built {
            Built::Failed(failure) => {
                measured.reproducible = Some(false);
                Some(Finding::new(
                    &codes::BUILD_NOT_REPRODUCIBLE,
                    format!("the second build in a fresh sandbox failed: {}", failure.message),
                ))
            }
            Built::Binary(_) => {
                let path = self.scratch.join("target").join("release").join(first.bin);
                let again = binary::describe(&path, first.bin, toolchain)?;
                let same = again.sha256 == measured.sha256;
                measured.reproducible = Some(same);
                (!same).then(|| {
                    measured.rebuilt_sha256 = Some(again.sha256.clone());
                    Finding::new(
                        &codes::BUILD_NOT_REPRODUCIBLE,
                        format!(
                            "two builds of `{}` in fresh sandboxes gave different binaries: sha256 {} (measured) and {}",
                            first.bin, measured.sha256, again.sha256
                        ),
                    )
                    .help(
                        "make the build reproducible (no timestamps, random values or absolute host paths in the \
                         binary), so what a marketplace rebuilds is what was measured",
                    )
                })
            }
        };
        let _ = fs::remove_dir_all(&self.scratch);
        Ok(finding)
    }
}

/// Copies directories and regular files (the unpacked asset has nothing else).
fn copy_tree(from: &Path, to: &Path) -> io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else if kind.is_file() {
            fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}
