//! What a source file's `use` items bring into scope, so a call is matched whatever name it was imported
//! under (renamed, single-segment or glob imports).

use std::collections::HashMap;

use syn::visit::Visit;

/// What a file's `use` items bring into scope (file-wide; scopes are not told apart, which can only add
/// matches): each local name's full path, and the modules glob-imported.
#[derive(Default)]
pub(super) struct Imports {
    names: HashMap<String, Vec<String>>,
    globs: Vec<Vec<String>>,
}

impl Imports {
    pub(super) fn add(&mut self, tree: &syn::UseTree, prefix: &mut Vec<String>) {
        match tree {
            syn::UseTree::Path(path) => {
                prefix.push(path.ident.to_string());
                self.add(&path.tree, prefix);
                prefix.pop();
            }
            syn::UseTree::Name(name) => self.name(name.ident.to_string(), &name.ident.to_string(), prefix),
            syn::UseTree::Rename(rename) => self.name(rename.rename.to_string(), &rename.ident.to_string(), prefix),
            syn::UseTree::Glob(_) => self.globs.push(prefix.clone()),
            syn::UseTree::Group(group) => group.items.iter().for_each(|item| self.add(item, prefix)),
        }
    }

    /// `local` names `prefix::item` (`self` names the prefix itself).
    fn name(&mut self, local: String, item: &str, prefix: &[String]) {
        let mut path = prefix.to_vec();
        if item != "self" {
            path.push(item.to_owned());
        }
        let local = if local == "self" { prefix.last().cloned().unwrap_or_default() } else { local };
        self.names.insert(local, path);
    }

    /// The paths `names` may stand for: as written, with an imported first name expanded, and a single
    /// name under each glob-imported module.
    pub(super) fn candidates(&self, names: &[String]) -> Vec<Vec<String>> {
        let mut candidates = vec![names.to_vec()];
        if let Some((first, rest)) = names.split_first()
            && let Some(full) = self.names.get(first)
        {
            candidates.push(full.iter().chain(rest).cloned().collect());
        }
        if let [single] = names {
            candidates.extend(self.globs.iter().map(|glob| glob.iter().chain([single]).cloned().collect()));
        }
        candidates
    }
}

impl<'ast> Visit<'ast> for Imports {
    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        self.add(&item.tree, &mut Vec::new());
    }
}
